// Harness for the real claude-proxy binary: start it on 127.0.0.1 with a free
// port and a temporary config, learn the port from its "listening on" log
// line, collect stderr, stop it with SIGTERM; plus raw-socket HTTP, fetch
// helpers and an SSE parser.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const proxyBin = process.env.CLAUDE_PROXY_BIN || path.join(repoRoot, 'build', 'claude-proxy');

/** Pids of daemons this process started and has not seen exit. */
const live = new Set();

// Last line of defence: never leave a daemon behind, even when a test file
// fails or is cancelled. (Only our own children, by pid.)
process.on('exit', () => {
	for (const p of live) {
		try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
	}
});
for (const sig of ['SIGINT', 'SIGTERM']) {
	process.on(sig, () => process.exit(130));
}

function recordPid(pid) {
	const dir = process.env.CP_TEST_PIDDIR;
	if (!dir) return;
	try { fs.writeFileSync(path.join(dir, String(pid)), ''); } catch { /* best effort */ }
}

export function binaryAvailable() {
	try {
		fs.accessSync(proxyBin, fs.constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

export function mkTmpDir(prefix = 'cp-test-') {
	return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A usable config for one fake upstream; overrides are merged shallowly. */
export function baseConfig(upstreamUrl, overrides = {}) {
	return {
		upstream_timeout_seconds: 20,
		upstream_connect_timeout_seconds: 5,
		log_body_max_chars: 4096,
		log_stream_text_preview_chars: 256,
		providers: [
			{
				name: 'fake',
				base_url: upstreamUrl,
				api_key: 'sk-fake-upstream-key',
				models: [
					{
						id: 'glm',
						display_name: 'GLM 4.7',
						remote_id: 'remote-glm',
						aliases: ['claude-*sonnet*', 'claude-*opus*'],
						max_tokens: 8192,
					},
					{
						id: 'mini',
						display_name: 'Mini',
						remote_id: 'remote-mini',
						aliases: ['claude-*haiku*'],
						max_tokens: 4096,
					},
					{ id: 'plain' },
				],
			},
		],
		...overrides,
	};
}

export class Proxy {
	constructor({ config, args = [], workers = 4, verbose = false, env = {}, configText } = {}) {
		this.dir = mkTmpDir();
		this.configPath = path.join(this.dir, 'config.json');
		this.writeConfig(configText ?? config);
		this.args = ['-c', this.configPath, '-p', '0', '-l', '127.0.0.1',
			...(workers ? ['-w', String(workers)] : []), ...(verbose ? ['-v'] : []),
			// The daemon refuses to serve as root without it (CI runs as root).
			...(process.getuid?.() === 0 ? ['--allow-root'] : []),
			...args];
		this.env = env;
		this.stderr = '';
		this.stdout = '';
		this.exit = null;
	}

	writeConfig(config) {
		// 0600: the daemon rightly complains about world-readable literal keys.
		fs.writeFileSync(this.configPath, typeof config === 'string' ? config : JSON.stringify(config, null, 2), { mode: 0o600 });
	}

	async start(timeoutMs = 10000) {
		if (!binaryAvailable()) throw new Error(`claude-proxy binary not found or not executable: ${proxyBin}`);
		this.proc = spawn(proxyBin, this.args, {
			cwd: this.dir,
			env: { ...process.env, ...this.env },
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		this.pid = this.proc.pid;
		live.add(this);
		recordPid(this.pid);
		this.exited = new Promise((resolve) => {
			this.proc.on('exit', (code, signal) => {
				live.delete(this);
				this.exit = { code, signal };
				resolve(this.exit);
			});
		});
		this.proc.stdout.setEncoding('utf8');
		this.proc.stderr.setEncoding('utf8');
		this.logWaiters = [];
		this.proc.stdout.on('data', (d) => { this.stdout += d; });
		this.proc.stderr.on('data', (d) => {
			this.stderr += d;
			for (const w of this.logWaiters.slice()) this.#checkWaiter(w);
		});
		this.proc.on('error', () => { /* reported via exit */ });
		try {
			const m = await this.waitForLog(/listening on 127\.0\.0\.1:(\d+)/, timeoutMs);
			this.port = Number(m[1]);
		} catch (e) {
			await this.kill();
			throw new Error(`${e.message}\n--- daemon stderr ---\n${this.stderr}`);
		}
		this.url = `http://127.0.0.1:${this.port}`;
		return this;
	}

	#checkWaiter(w) {
		const m = this.stderr.slice(w.from).match(w.re);
		if (m) {
			clearTimeout(w.t);
			this.logWaiters.splice(this.logWaiters.indexOf(w), 1);
			w.resolve(m);
		}
	}

	/** Wait (bounded) until stderr, from offset `from` on, matches re. */
	waitForLog(re, timeoutMs = 5000, from = 0) {
		return new Promise((resolve, reject) => {
			const w = { re, from, resolve };
			w.t = setTimeout(() => {
				this.logWaiters.splice(this.logWaiters.indexOf(w), 1);
				reject(new Error(`daemon log did not match ${re} within ${timeoutMs} ms`
					+ (this.exit ? ` (daemon exited: ${JSON.stringify(this.exit)})` : '')));
			}, timeoutMs);
			this.logWaiters.push(w);
			this.#checkWaiter(w);
			if (this.exit && this.logWaiters.includes(w)) {
				// Nothing more will come; let the timeout report it, but sooner.
				clearTimeout(w.t);
				this.logWaiters.splice(this.logWaiters.indexOf(w), 1);
				reject(new Error(`daemon exited (${JSON.stringify(this.exit)}) before its log matched ${re}`));
			}
		});
	}

	/** SIGTERM, then wait (bounded) for the exit; SIGKILL if it does not come. */
	async stop(timeoutMs = 10000) {
		if (!this.proc) { this.cleanup(); return null; }
		if (this.exit) {
			this.cleanup();
			throw new Error(`claude-proxy had already exited (${JSON.stringify(this.exit)}) before the tests were done\n`
				+ `--- daemon stderr (tail) ---\n${this.stderr.slice(-4000)}`);
		}
		this.proc.kill('SIGTERM');
		const res = await Promise.race([this.exited, delay(timeoutMs).then(() => null)]);
		if (!res) {
			this.proc.kill('SIGKILL');
			await this.exited;
			this.cleanup();
			throw new Error(`claude-proxy did not exit within ${timeoutMs} ms of SIGTERM`);
		}
		this.cleanup();
		const san = this.stderr.match(/^.*(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:).*$/m);
		if (san) throw new Error(`sanitizer report in the daemon's stderr: ${san[0]}\n${this.stderr.slice(san.index, san.index + 4000)}`);
		return res;
	}

	async kill() {
		if (this.proc && !this.exit) {
			this.proc.kill('SIGKILL');
			await this.exited;
		}
		this.cleanup();
	}

	cleanup() {
		if (process.env.CP_TEST_DEBUG_DIR && this.pid && !this.debugSaved) {
			this.debugSaved = true;
			try {
				fs.writeFileSync(path.join(process.env.CP_TEST_DEBUG_DIR, `claude-proxy-${this.pid}.log`),
					`args: ${this.args.join(' ')}\nexit: ${JSON.stringify(this.exit)}\n\n${this.stderr}`);
			} catch { /* best effort */ }
		}
		// Workers of a SIGKILLed master would be orphans: end them by pid.
		for (const pid of this.knownWorkers ?? []) {
			try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
		}
		try { fs.rmSync(this.dir, { recursive: true, force: true }); } catch { /* ignore */ }
	}

	signal(sig) {
		this.proc.kill(sig);
	}

	/** Pids of the master's children (its workers). */
	workers() {
		const r = spawnSync('pgrep', ['-P', String(this.pid)], { encoding: 'utf8' });
		const pids = r.stdout.split(/\s+/).filter(Boolean).map(Number);
		this.knownWorkers = new Set([...(this.knownWorkers ?? []), ...pids]);
		return pids;
	}

	fetch(p, opts = {}) {
		return fetch(this.url + p, opts);
	}

	/**
	 * A JSON request on a fresh connection (Connection: close), so no pooled
	 * keep-alive connection ties up a worker or outlives a reload between
	 * tests; returns { status, headers (a Headers), text, json }.
	 */
	request(method, p, body, headers = {}, { timeoutMs = 30000 } = {}) {
		const h = { connection: 'close', ...headers };
		let payload;
		if (body !== undefined) {
			payload = typeof body === 'string' ? body : JSON.stringify(body);
			if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
				h['content-type'] = 'application/json';
			}
			h['content-length'] = Buffer.byteLength(payload);
		}
		return new Promise((resolve, reject) => {
			const req = http.request({ host: '127.0.0.1', port: this.port, method, path: p, headers: h, agent: false },
				(res) => {
					const parts = [];
					res.on('data', (d) => parts.push(d));
					res.on('error', reject);
					res.on('end', () => {
						const text = Buffer.concat(parts).toString('utf8');
						const hdrs = new Headers();
						for (const [k, v] of Object.entries(res.headers)) {
							for (const x of [].concat(v)) hdrs.append(k, x);
						}
						resolve({ status: res.statusCode, headers: hdrs, text, json: safeJSON(text) });
					});
				});
			req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${p}: no answer within ${timeoutMs} ms`)));
			req.on('error', reject);
			req.end(payload);
		});
	}

	get(p, headers) {
		return this.request('GET', p, undefined, headers);
	}

	post(p, body, headers) {
		return this.request('POST', p, body, headers);
	}

	/** POST /v1/messages with stream:true; returns { status, headers, events, raw }. */
	async stream(body, headers = {}) {
		const res = await fetch(this.url + '/v1/messages', {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...headers },
			body: JSON.stringify({ ...body, stream: true }),
		});
		const raw = await res.text();
		return { status: res.status, headers: res.headers, raw,
			events: res.headers.get('content-type')?.startsWith('text/event-stream') ? parseSSE(raw) : [],
			json: safeJSON(raw) };
	}
}

export async function startProxy(opts) {
	return new Proxy(opts).start();
}

/** Run the binary to completion (e.g. -t); returns { code, stdout, stderr }. */
export function runBinary(args, { env = {}, cwd, timeoutMs = 10000 } = {}) {
	return new Promise((resolve, reject) => {
		const fullEnv = { ...process.env, ...env };
		for (const k of Object.keys(fullEnv)) if (fullEnv[k] === undefined) delete fullEnv[k];
		const p = spawn(proxyBin, args, { cwd, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
		recordPid(p.pid);
		let stdout = '', stderr = '';
		p.stdout.on('data', (d) => { stdout += d; });
		p.stderr.on('data', (d) => { stderr += d; });
		const t = setTimeout(() => {
			p.kill('SIGKILL');
			reject(new Error(`${proxyBin} ${args.join(' ')} did not exit within ${timeoutMs} ms`));
		}, timeoutMs);
		p.on('error', (e) => { clearTimeout(t); reject(e); });
		p.on('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal, stdout, stderr }); });
	});
}

export function delay(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

/** Poll fn() until it returns a truthy value or the deadline passes. */
export async function pollUntil(fn, { timeoutMs = 5000, intervalMs = 50, what = 'condition' } = {}) {
	const end = Date.now() + timeoutMs;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last) return last;
		} catch (e) {
			last = e;
		}
		if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
			(last instanceof Error ? `: ${last.message}` : ''));
		await delay(intervalMs);
	}
}

export function safeJSON(text) {
	try { return JSON.parse(text); } catch { return null; }
}

/** Assert-friendly check of the Anthropic error envelope; returns the body. */
export function errorEnvelope(res) {
	const j = typeof res.text === 'string' ? safeJSON(res.text) : res.json;
	if (!j || j.type !== 'error' || !j.error || typeof j.error.type !== 'string'
		|| typeof j.error.message !== 'string' || typeof j.request_id !== 'string') {
		throw new Error(`not an Anthropic error envelope (status ${res.status}): ${res.text ?? JSON.stringify(j)}`);
	}
	return j;
}

// ---------------------------------------------------------------------------
// SSE

/** Parse a complete text/event-stream body into [{ event, data, raw }]. */
export function parseSSE(text) {
	const p = new SSEParser();
	const ev = p.push(text);
	return ev.concat(p.end());
}

export class SSEParser {
	constructor() {
		this.buf = '';
		this.event = null;
		this.data = [];
	}

	push(text) {
		this.buf += text;
		const out = [];
		for (;;) {
			const m = this.buf.match(/\r\n|\r|\n/);
			if (!m) break;
			// A lone \r at the very end might be the first half of \r\n.
			if (m[0] === '\r' && m.index === this.buf.length - 1) break;
			const line = this.buf.slice(0, m.index);
			this.buf = this.buf.slice(m.index + m[0].length);
			this.#line(line, out);
		}
		return out;
	}

	end() {
		const out = [];
		if (this.buf.length) this.#line(this.buf, out);
		this.buf = '';
		this.#line('', out);
		return out;
	}

	#line(line, out) {
		if (line === '') {
			if (this.event !== null || this.data.length) {
				const raw = this.data.join('\n');
				out.push({ event: this.event ?? 'message', data: safeJSON(raw), raw });
			}
			this.event = null;
			this.data = [];
			return;
		}
		if (line.startsWith(':')) return;
		const i = line.indexOf(':');
		const field = i < 0 ? line : line.slice(0, i);
		let value = i < 0 ? '' : line.slice(i + 1);
		if (value.startsWith(' ')) value = value.slice(1);
		if (field === 'event') this.event = value;
		else if (field === 'data') this.data.push(value);
	}
}

/**
 * Incremental SSE over a fetch Response: await next() for each event
 * (bounded); null at the end of the stream.
 */
export class SSEStream {
	constructor(res) {
		this.res = res;
		this.reader = res.body.getReader();
		this.decoder = new TextDecoder();
		this.parser = new SSEParser();
		this.pending = [];
		this.done = false;
		this.all = [];
		this.raw = '';
	}

	async next(timeoutMs = 5000, what = 'the next SSE event') {
		const deadline = Date.now() + timeoutMs;
		while (!this.pending.length && !this.done) {
			const left = deadline - Date.now();
			if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
			let t;
			const r = await Promise.race([
				this.reader.read(),
				new Promise((_, rej) => { t = setTimeout(() => rej(new Error(
					`timed out after ${timeoutMs} ms waiting for ${what}`)), left); }),
			]).finally(() => clearTimeout(t));
			if (r.done) {
				this.done = true;
				this.pending.push(...this.parser.end());
			} else {
				const s = this.decoder.decode(r.value, { stream: true });
				this.raw += s;
				this.pending.push(...this.parser.push(s));
			}
		}
		const ev = this.pending.shift() ?? null;
		if (ev) this.all.push(ev);
		return ev;
	}

	/** Next event that is not a ping. */
	async nextNonPing(timeoutMs = 5000, what) {
		for (;;) {
			const ev = await this.next(timeoutMs, what);
			if (!ev || ev.event !== 'ping') return ev;
		}
	}

	/** Read until the predicate matches an event (returns it), bounded. */
	async until(pred, timeoutMs = 5000, what = 'a matching SSE event') {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const ev = await this.next(Math.max(1, deadline - Date.now()), what);
			if (!ev) throw new Error(`stream ended before ${what}`);
			if (pred(ev)) return ev;
		}
	}

	async rest(timeoutMs = 10000) {
		const out = [];
		for (;;) {
			const ev = await this.next(timeoutMs, 'the end of the stream');
			if (!ev) return out;
			out.push(ev);
		}
	}

	async cancel() {
		try { await this.reader.cancel(); } catch { /* ignore */ }
	}
}

// ---------------------------------------------------------------------------
// Raw HTTP over a socket

export class RawConn {
	static open(port, host = '127.0.0.1') {
		return new Promise((resolve, reject) => {
			const c = new RawConn();
			c.sock = net.connect(port, host);
			c.sock.once('connect', () => resolve(c));
			c.sock.once('error', reject);
			c.buf = Buffer.alloc(0);
			c.ended = false;
			c.error = null;
			c.wake = null;
			c.sock.on('data', (d) => { c.buf = Buffer.concat([c.buf, d]); c.#poke(); });
			c.sock.on('end', () => { c.ended = true; c.#poke(); });
			c.sock.on('close', () => { c.ended = true; c.closedAt = Date.now(); c.#poke(); });
			c.sock.on('error', (e) => { c.error = e; c.ended = true; c.#poke(); });
		});
	}

	#poke() {
		const w = this.wake;
		this.wake = null;
		if (w) w();
	}

	/** Write; resolves once handed to the kernel; write errors are swallowed
	 * (a server may legitimately close early, e.g. after 413) and remembered. */
	write(data) {
		return new Promise((resolve) => {
			if (this.sock.destroyed) { resolve(false); return; }
			this.sock.write(data, (err) => {
				if (err) this.writeError = err;
				resolve(!err);
			});
		});
	}

	destroy() {
		this.sock.destroy();
	}

	end() {
		this.sock.end();
	}

	/** Wait until fn(buf) returns non-undefined, or EOF/timeout. */
	async #need(fn, timeoutMs, what) {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const r = fn(this.buf);
			if (r !== undefined) return r;
			if (this.ended) throw new Error(`connection closed while waiting for ${what}; got so far: ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`);
			const left = deadline - Date.now();
			if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got so far: ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`);
			await new Promise((r2) => {
				const t = setTimeout(r2, left);
				this.wake = () => { clearTimeout(t); r2(); };
			});
		}
	}

	/** Read a response head: { version, status, reason, headers, rawHeaders }. */
	async readHead(timeoutMs = 5000) {
		const headEnd = await this.#need((b) => {
			const i = b.indexOf('\r\n\r\n');
			return i < 0 ? undefined : i;
		}, timeoutMs, 'a response head');
		const head = this.buf.subarray(0, headEnd).toString('latin1');
		this.buf = this.buf.subarray(headEnd + 4);
		const [statusLine, ...lines] = head.split('\r\n');
		const m = statusLine.match(/^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/);
		if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
		const headers = {};
		const rawHeaders = [];
		for (const l of lines) {
			const i = l.indexOf(':');
			const k = l.slice(0, i).trim().toLowerCase();
			const v = l.slice(i + 1).trim();
			rawHeaders.push([k, v]);
			headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
		}
		return { version: m[1], status: Number(m[2]), reason: m[3] ?? '', headers, rawHeaders, statusLine };
	}

	/** Read one whole response (skipping nothing: a 100 Continue is returned
	 * as its own response). head: true for a HEAD request (no body). */
	async readResponse({ head = false, timeoutMs = 5000 } = {}) {
		const h = await this.readHead(timeoutMs);
		let body = Buffer.alloc(0);
		const noBody = head || h.status === 204 || h.status === 304 || (h.status >= 100 && h.status < 200);
		if (!noBody) {
			if (/chunked/i.test(h.headers['transfer-encoding'] ?? '')) {
				const parts = [];
				for (;;) {
					const c = await this.readChunk(timeoutMs);
					if (c === null) break;
					parts.push(c);
				}
				body = Buffer.concat(parts);
			} else if (h.headers['content-length'] !== undefined) {
				const n = Number(h.headers['content-length']);
				body = await this.#need((b) => (b.length >= n ? b.subarray(0, n) : undefined), timeoutMs, `${n} body bytes`);
				this.buf = this.buf.subarray(n);
			} else {
				body = await this.readUntilClose(timeoutMs);
			}
		}
		const text = body.toString('utf8');
		return { ...h, body, text, json: safeJSON(text) };
	}

	/** One chunk of a chunked body (Buffer), or null after the last chunk. */
	async readChunk(timeoutMs = 5000) {
		const lineEnd = await this.#need((b) => {
			const i = b.indexOf('\r\n');
			return i < 0 ? undefined : i;
		}, timeoutMs, 'a chunk size line');
		const sizeLine = this.buf.subarray(0, lineEnd).toString('latin1');
		const size = parseInt(sizeLine.split(';')[0], 16);
		if (!Number.isFinite(size)) throw new Error(`bad chunk size line ${JSON.stringify(sizeLine)}`);
		if (size === 0) {
			// Trailers (none expected) then CRLF.
			const end = await this.#need((b) => {
				if (b.subarray(lineEnd + 2, lineEnd + 4).toString() === '\r\n') return lineEnd + 4;
				const i = b.indexOf('\r\n\r\n', lineEnd);
				return i < 0 ? undefined : i + 4;
			}, timeoutMs, 'the end of the chunked body');
			this.buf = this.buf.subarray(end);
			return null;
		}
		const start = lineEnd + 2;
		const data = await this.#need((b) => (b.length >= start + size + 2
			? b.subarray(start, start + size) : undefined), timeoutMs, `a ${size}-byte chunk`);
		if (this.buf.subarray(start + size, start + size + 2).toString() !== '\r\n') {
			throw new Error('chunk not followed by CRLF');
		}
		this.buf = this.buf.subarray(start + size + 2);
		return Buffer.from(data);
	}

	/** Everything until the peer closes (bounded). */
	async readUntilClose(timeoutMs = 5000) {
		const deadline = Date.now() + timeoutMs;
		while (!this.ended) {
			const left = deadline - Date.now();
			if (left <= 0) throw new Error(`connection still open after ${timeoutMs} ms`);
			await new Promise((r) => {
				const t = setTimeout(r, left);
				this.wake = () => { clearTimeout(t); r(); };
			});
		}
		const b = this.buf;
		this.buf = Buffer.alloc(0);
		return b;
	}

	/** Resolves true if the peer closes within timeoutMs, false otherwise. */
	async closesWithin(timeoutMs) {
		try {
			await this.readUntilClose(timeoutMs);
			return true;
		} catch {
			return false;
		}
	}

	/** SSE events of a chunked text/event-stream body, incrementally. */
	async *sseEvents(timeoutMs = 5000) {
		const p = new SSEParser();
		const dec = new TextDecoder();
		for (;;) {
			const c = await this.readChunk(timeoutMs);
			if (c === null) {
				yield* p.end();
				return;
			}
			yield* p.push(dec.decode(c, { stream: true }));
		}
	}
}

/** Build a raw HTTP/1.1 request. */
export function rawRequest(method, target, { headers = {}, body, version = '1.1' } = {}) {
	const lines = [`${method} ${target} HTTP/${version}`];
	const h = { host: '127.0.0.1', ...headers };
	if (body !== undefined && !Object.keys(h).some((k) => /^(content-length|transfer-encoding)$/i.test(k))) {
		h['content-length'] = Buffer.byteLength(body);
	}
	for (const [k, v] of Object.entries(h)) {
		if (Array.isArray(v)) for (const x of v) lines.push(`${k}: ${x}`);
		else lines.push(`${k}: ${v}`);
	}
	return lines.join('\r\n') + '\r\n\r\n' + (body ?? '');
}

/** A minimal valid Messages request body. */
export function msgBody(extra = {}) {
	return { model: 'glm', max_tokens: 256, messages: [{ role: 'user', content: 'hello' }], ...extra };
}

// ---------------------------------------------------------------------------
// Anthropic stream grammar (DESIGN.md §5)

/**
 * Check an event list against the Messages streaming grammar; returns
 * { message, blocks, stopReason, usage } accumulated from it. Throws with a
 * description of the first violation. Pings are allowed anywhere.
 */
export function checkStreamGrammar(events, { expectComplete = true } = {}) {
	const evs = events.filter((e) => e.event !== 'ping');
	for (const e of events) {
		if (e.raw === '[DONE]') throw new Error('stream contains data: [DONE]');
		if (e.data === null) throw new Error(`event ${e.event} has non-JSON data: ${e.raw}`);
		if (e.data.type !== e.event) throw new Error(`event ${e.event} carries data.type ${e.data.type}`);
	}
	if (!evs.length || evs[0].event !== 'message_start') {
		throw new Error(`first event is ${evs[0]?.event}, not message_start`);
	}
	const message = structuredClone(evs[0].data.message);
	const u = message.usage;
	if (!u || typeof u.input_tokens !== 'number' || typeof u.output_tokens !== 'number') {
		throw new Error(`message_start usage incomplete: ${JSON.stringify(u)}`);
	}
	if (!Array.isArray(message.content) || message.content.length) throw new Error('message_start content not []');
	const blocks = [];
	let open = null;
	let sawDelta = 0;
	let stopReason, stopSequence, usage = { ...u };
	let state = 'blocks';
	for (let i = 1; i < evs.length; i++) {
		const { event, data } = evs[i];
		if (event === 'error') {
			if (i !== evs.length - 1) throw new Error('events after event: error');
			return { message, blocks, error: data, stopReason, usage };
		}
		if (state === 'stopped') throw new Error(`${event} after message_stop`);
		switch (event) {
		case 'content_block_start': {
			if (state !== 'blocks') throw new Error('content_block_start after message_delta');
			if (open) throw new Error(`content_block_start(${data.index}) while block ${open.index} open`);
			if (data.index !== blocks.length) throw new Error(`block index ${data.index}, expected ${blocks.length}`);
			const b = structuredClone(data.content_block);
			if (b.type === 'tool_use' || b.type === 'server_tool_use') {
				if (JSON.stringify(b.input) !== '{}') throw new Error(`${b.type} start input ${JSON.stringify(b.input)}, must be {}`);
				b._json = '';
			}
			open = { index: data.index, block: b };
			blocks.push(b);
			break;
		}
		case 'content_block_delta': {
			if (!open || open.index !== data.index) throw new Error(`delta for block ${data.index} not open`);
			const d = data.delta, b = open.block;
			sawDelta++;
			if (d.type === 'text_delta' && b.type === 'text') b.text += d.text;
			else if (d.type === 'thinking_delta' && b.type === 'thinking') b.thinking += d.thinking;
			else if (d.type === 'signature_delta' && b.type === 'thinking') b.signature = (b.signature ?? '') + d.signature;
			else if (d.type === 'input_json_delta' && (b.type === 'tool_use' || b.type === 'server_tool_use')) b._json += d.partial_json;
			else if (d.type === 'citations_delta' && b.type === 'text') (b.citations ??= []).push(d.citation);
			else throw new Error(`delta ${d.type} in a ${b.type} block`);
			break;
		}
		case 'content_block_stop': {
			if (!open || open.index !== data.index) throw new Error(`stop for block ${data.index} not open`);
			const b = open.block;
			if (b.type === 'tool_use' || b.type === 'server_tool_use') {
				b.input = b._json === '' ? {} : JSON.parse(b._json);
				delete b._json;
			}
			open = null;
			break;
		}
		case 'message_delta':
			if (open) throw new Error(`message_delta while block ${open.index} open`);
			if (state !== 'blocks') throw new Error('second message_delta');
			stopReason = data.delta.stop_reason;
			stopSequence = data.delta.stop_sequence;
			if (!('stop_sequence' in data.delta)) throw new Error('message_delta without stop_sequence');
			usage = { ...usage, ...data.usage };
			state = 'delta';
			break;
		case 'message_stop':
			if (state !== 'delta') throw new Error('message_stop without message_delta');
			state = 'stopped';
			break;
		default:
			throw new Error(`unexpected event ${event}`);
		}
	}
	if (expectComplete && state !== 'stopped') throw new Error(`stream ended in state ${state}${open ? ' with a block open' : ''}`);
	return { message, blocks, stopReason, stopSequence, usage, deltas: sawDelta };
}

/**
 * after() helper: stop every daemon (SIGTERM, bounded) and close every fake
 * upstream, even when one of them fails; then report the first failure.
 */
export async function teardown(...things) {
	let first = null;
	for (const t of things) {
		if (!t) continue;
		try {
			if (t instanceof Proxy) await t.stop();
			else if (typeof t.close === 'function') await t.close();
			else if (typeof t === 'function') await t();
		} catch (e) {
			first ??= e;
		}
	}
	if (first) throw first;
}
