// A stand-in for systemd's notification socket: an AF_UNIX datagram socket
// (Node cannot open one, so a tiny python3 helper binds it and prints every
// datagram as one JSON line), for tests of the sd_notify protocol.
//
//   const n = await NotifySocket.open();          // a path in a temp dir
//   const n = await NotifySocket.open({ abstract: true });   // "@name"
//   env: { NOTIFY_SOCKET: n.address }
//   const m = await n.waitFor((m) => m.READY === '1', 5000, 'READY=1');
//   m.fields (KEY -> value), m.raw (the datagram), m.at (Date.now() on
//   arrival), m.monoUsec (CLOCK_MONOTONIC at arrival, microseconds).
//   await n.close();

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Exits when its parent (the test process) goes away, so it never lingers.
const HELPER = String.raw`
import json, os, socket, sys, time
addr = sys.argv[1]
parent = os.getppid()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.settimeout(0.5)
print(json.dumps({"bound": addr}), flush=True)
while True:
    try:
        d = s.recv(65536)
    except socket.timeout:
        if os.getppid() != parent:
            sys.exit(0)
        continue
    print(json.dumps({"raw": d.decode("utf-8", "replace"),
        "mono_usec": time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}), flush=True)
`;

export function python3Available() {
	const r = spawnSync('python3', ['-c', 'import socket; socket.AF_UNIX'], { encoding: 'utf8' });
	return r.status === 0;
}

/** Parse one sd_notify datagram ("KEY=value" lines) into an object. */
export function parseNotify(raw) {
	const fields = {};
	for (const line of raw.split('\n')) {
		if (!line) continue;
		const i = line.indexOf('=');
		if (i < 0) fields[line] = '';
		else fields[line.slice(0, i)] = line.slice(i + 1);
	}
	return fields;
}

export class NotifySocket {
	static async open({ abstract = false, timeoutMs = 5000 } = {}) {
		const n = new NotifySocket();
		if (abstract) {
			n.address = `@cp-test-notify-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
		} else {
			n.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-notify-'));
			n.address = path.join(n.dir, 'notify.sock');
		}
		n.messages = [];
		n.waiters = [];
		n.stderr = '';
		n.proc = spawn('python3', ['-u', '-c', HELPER, n.address], { stdio: ['ignore', 'pipe', 'pipe'] });
		n.exited = new Promise((r) => n.proc.on('exit', (code, signal) => { n.exit = { code, signal }; r(n.exit); }));
		n.proc.on('error', () => { /* reported via exit */ });
		n.proc.stderr.setEncoding('utf8');
		n.proc.stderr.on('data', (d) => { n.stderr += d; });
		n.proc.stdout.setEncoding('utf8');
		let buf = '';
		let bound;
		const boundP = new Promise((r) => { bound = r; });
		n.proc.stdout.on('data', (d) => {
			buf += d;
			let i;
			while ((i = buf.indexOf('\n')) >= 0) {
				const line = buf.slice(0, i);
				buf = buf.slice(i + 1);
				let j;
				try { j = JSON.parse(line); } catch { continue; }
				if (j.bound) { bound(); continue; }
				const m = { raw: j.raw, fields: parseNotify(j.raw), monoUsec: j.mono_usec, at: Date.now() };
				n.messages.push(m);
				for (const w of n.waiters.slice()) n.#check(w);
			}
		});
		const ok = await Promise.race([
			boundP.then(() => true),
			n.exited.then(() => false),
			new Promise((r) => setTimeout(() => r(false), timeoutMs)),
		]);
		if (!ok) {
			await n.close();
			throw new Error(`notify helper did not bind ${n.address}: ${n.stderr}`);
		}
		return n;
	}

	#check(w) {
		for (let k = w.from; k < this.messages.length; k++) {
			if (w.pred(this.messages[k], k)) {
				clearTimeout(w.t);
				this.waiters.splice(this.waiters.indexOf(w), 1);
				w.resolve({ ...this.messages[k], index: k });
				return;
			}
		}
	}

	/**
	 * The first message at index >= from matching pred (bounded wait);
	 * resolves with the message plus its index.
	 */
	waitFor(pred, timeoutMs = 5000, what = 'a notify message', from = 0) {
		return new Promise((resolve, reject) => {
			const w = { pred, from, resolve };
			w.t = setTimeout(() => {
				this.waiters.splice(this.waiters.indexOf(w), 1);
				reject(new Error(`no ${what} on the notify socket within ${timeoutMs} ms; got: `
					+ JSON.stringify(this.messages.map((m) => m.raw))));
			}, timeoutMs);
			this.waiters.push(w);
			this.#check(w);
		});
	}

	async close() {
		if (this.proc && !this.exit) {
			this.proc.kill('SIGKILL');
			await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000))]);
		}
		if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
	}
}
