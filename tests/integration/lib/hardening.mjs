// Helpers for the hardening tests (hostile.test.mjs, upstream-failures.test.mjs,
// soak.test.mjs): /proc readings of the workers, log checks, raw one-shot
// exchanges, a bounded-concurrency runner, Prometheus text lookups.

import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';

import { RawConn, SSEStream, safeJSON } from './proxy.mjs';

/** Slack added to every timing bound; raise it for slow machines or sanitizer builds. */
export const SLACK_MS = Number(process.env.CP_TEST_SLACK_MS || (isSanitizerBuild() ? 2000 : 1000));

/** Is the binary under test built with AddressSanitizer (slower, bigger)? */
export function isSanitizerBuild() {
	const bin = process.env.CLAUDE_PROXY_BIN || '';
	if (/asan|sanitize/i.test(bin)) return true;
	try {
		// The ASan runtime's symbols are in the binary when it is linked in.
		const fd = fs.openSync(bin, 'r');
		try {
			const { size } = fs.fstatSync(fd);
			const b = Buffer.alloc(Math.min(size, 64 * 1024 * 1024));
			fs.readSync(fd, b, 0, b.length, 0);
			return b.includes('__asan_init');
		} finally {
			fs.closeSync(fd);
		}
	} catch {
		return false;
	}
}

/** Open file descriptors of a process (entries of /proc/PID/fd), or null if it is gone. */
export function fdCount(pid) {
	try { return fs.readdirSync(`/proc/${pid}/fd`).length; } catch { return null; }
}

/** What the fds of a process point to (socket:[…], pipe:[…], paths), sorted. */
export function fdTargets(pid) {
	const out = [];
	let fds = [];
	try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { return null; }
	for (const fd of fds) {
		try { out.push(fs.readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/\d+/g, 'N')); } catch { /* closed meanwhile */ }
	}
	return out.sort();
}

/** VmRSS of a process in KiB, or null if it is gone. */
export function rssKiB(pid) {
	try {
		const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
		return m ? Number(m[1]) : null;
	} catch {
		return null;
	}
}

/** Is a pid alive (and not a zombie)? */
export function alive(pid) {
	try {
		const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		return !/^\d+ \(.*\) Z /.test(s);
	} catch {
		return false;
	}
}

/** The master's log lines that report a worker dying abnormally. */
export function deathLines(stderr) {
	return stderr.split('\n').filter((l) => /killed by signal|exited with status/.test(l));
}

/** Sanitizer reports in a log. */
export function sanitizerLines(stderr) {
	return stderr.split('\n').filter((l) => /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/.test(l));
}

/**
 * One request on a fresh socket: write `wire` (string as latin1, or Buffer),
 * read one response. Returns the response (RawConn.readResponse shape) plus
 * `conn`, or { status: null, conn, got } when the server closed without an
 * answer. The caller destroys conn.
 */
export async function rawExchange(port, wire, { timeoutMs = 5000, head = false } = {}) {
	const conn = await RawConn.open(port);
	await conn.write(typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire);
	try {
		const r = await conn.readResponse({ timeoutMs, head });
		return { ...r, conn };
	} catch (e) {
		if (conn.ended && conn.buf.length === 0) return { status: null, conn, got: '' };
		throw e;
	}
}

/** A TCP connection that sends nothing; resolves once connected. */
export function silentConnection(port) {
	return new Promise((resolve, reject) => {
		const s = net.connect(port, '127.0.0.1');
		s.closedAt = null;
		s.on('close', () => { s.closedAt = Date.now(); });
		s.on('error', () => { /* reset by the server: recorded by close */ });
		s.on('data', () => { /* a 408 or the like: ignored */ });
		s.once('connect', () => resolve(s));
		s.once('error', reject);
	});
}

/**
 * Run task(i) for i in [0, n) with at most `concurrency` at once; resolves
 * with the results in order (each { ok, value } or { ok:false, error }).
 */
export async function runPool(n, concurrency, task) {
	const results = new Array(n);
	let next = 0;
	async function lane() {
		for (;;) {
			const i = next++;
			if (i >= n) return;
			try {
				results[i] = { ok: true, value: await task(i) };
			} catch (error) {
				results[i] = { ok: false, error };
			}
		}
	}
	await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
	return results;
}

/** A sample of a Prometheus text exposition: value of name{labels}, or null. */
export function metric(text, name, labels = {}) {
	for (const line of text.split('\n')) {
		if (!line.startsWith(name)) continue;
		const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/);
		if (!m || m[1] !== name) continue;
		const got = {};
		for (const p of (m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) got[p[1]] = p[2];
		if (Object.entries(labels).every(([k, v]) => got[k] === String(v))) return Number(m[4]);
	}
	return null;
}

/** Resolves after ms, or when the returned promise's cancel() is called. */
export function waitMs(ms) {
	let t, done;
	const p = new Promise((r) => { done = r; t = setTimeout(r, ms); });
	p.cancel = () => { clearTimeout(t); done(); };
	return p;
}

/**
 * POST /v1/messages with stream:true on a fresh connection that is closed
 * afterwards (Connection: close), unlike fetch, whose pooled keep-alive
 * connection would hold a worker of a one-worker daemon. Resolves once the
 * response head is in: { status, headers (Headers), s: SSEStream | null,
 * text(): the whole body when it is not an event stream, t0 }.
 */
export function openStream(port, body, { timeoutMs = 30000, headers = {} } = {}) {
	const payload = JSON.stringify({ ...body, stream: true });
	const t0 = Date.now();
	return new Promise((resolve, reject) => {
		const req = http.request({
			host: '127.0.0.1', port, method: 'POST', path: '/v1/messages', agent: false,
			headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), connection: 'close', ...headers },
		}, (res) => {
			const h = new Headers();
			for (const [k, v] of Object.entries(res.headers)) for (const x of [].concat(v)) h.append(k, x);
			const isSSE = (res.headers['content-type'] ?? '').startsWith('text/event-stream');
			const out = { status: res.statusCode, headers: h, t0, req, s: null };
			if (isSSE) {
				const s = new SSEStream({ body: Readable.toWeb(res) });
				s.res = { headers: h, status: res.statusCode };
				out.s = s;
			} else {
				const parts = [];
				const done = new Promise((r, j) => { res.on('data', (d) => parts.push(d)); res.on('end', r); res.on('error', j); });
				out.text = async () => { await done; return Buffer.concat(parts).toString('utf8'); };
			}
			resolve(out);
		});
		req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response head within ${timeoutMs} ms`)));
		req.on('error', reject);
		req.end(payload);
	});
}

/** A whole stream on a fresh connection: { status, headers, raw, events, json }. */
export async function streamOnce(port, body, opts) {
	const o = await openStream(port, body, opts);
	if (!o.s) {
		const raw = await o.text();
		return { status: o.status, headers: o.headers, raw, events: [], json: safeJSON(raw) };
	}
	const events = await o.s.rest(opts?.timeoutMs ?? 30000);
	return { status: o.status, headers: o.headers, raw: o.s.raw, events, json: null };
}

/** Which of pids has an open TCP socket whose local port is `port` (Linux /proc). */
export function pidOwningLocalPort(port, pids) {
	const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
	const inodes = new Set();
	for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
		let text = '';
		try { text = fs.readFileSync(f, 'utf8'); } catch { continue; }
		for (const line of text.split('\n').slice(1)) {
			const cols = line.trim().split(/\s+/);
			if (cols.length > 9 && cols[1].endsWith(`:${hexPort}`)) inodes.add(cols[9]);
		}
	}
	for (const pid of pids) {
		let fds = [];
		try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { continue; }
		for (const fd of fds) {
			let link = '';
			try { link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
			const m = link.match(/^socket:\[(\d+)\]$/);
			if (m && inodes.has(m[1])) return pid;
		}
	}
	return null;
}

/** Does connecting to 127.0.0.1:port get ECONNREFUSED? */
export function connectRefused(port) {
	return new Promise((resolve) => {
		const s = net.connect(port, '127.0.0.1');
		s.once('connect', () => { s.destroy(); resolve(false); });
		s.once('error', (e) => resolve(e.code === 'ECONNREFUSED'));
	});
}

/**
 * A stopping daemon takes no new connection: its listening socket drops
 * the connection request (the client's kernel would retry it) while the
 * workers answer what is queued, and refuses it once closed. True when a
 * connect is refused or does not complete within ms.
 */
export function connectNotAccepted(port, ms = 500) {
	return new Promise((resolve) => {
		const s = net.connect(port, '127.0.0.1');
		const t = setTimeout(() => { s.destroy(); resolve(true); }, ms);
		s.once('connect', () => { clearTimeout(t); s.destroy(); resolve(false); });
		s.once('error', (e) => { clearTimeout(t); resolve(e.code === 'ECONNREFUSED'); });
	});
}
