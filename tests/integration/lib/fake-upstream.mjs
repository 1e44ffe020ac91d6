// A scripted fake OpenAI Chat Completions upstream on 127.0.0.1 (any free port);
// the resp*() helpers script it as an OpenAI Responses API upstream.
//
// Tests enqueue what the next request(s) get; every request is recorded
// (method, url, headers, raw body, parsed JSON) and every TCP connection is
// counted, so a test can assert on what the proxy sent as well as on what its
// client received.
//
// Response specs (enqueue(spec) or a responder function returning one):
//   { status, headers, body }            a complete answer; body string or object (JSON)
//   { stream: true, status, headers,     an SSE answer, written chunk by chunk:
//     chunks: [...], delayMs, end }        string  -> written as is (raw bytes)
//                                          object  -> "data: JSON\n\n"
//                                          gate()  -> wait until the test opens it
//                                          pause(ms) -> wait that long
//                                        end: 'done' (data: [DONE], then end; default)
//                                             'eof'  (end without [DONE])
//                                             'cut'  (destroy the socket mid-body)
//                                             'hang' (send nothing more; wait for
//                                                     the client to go away)
//   { hang: true }                       never answer (until the client closes)
//   { destroy: true }                    close the connection without an answer
//   { gate: g, then: spec }              wait for gate g, then answer with spec
//   function (req) -> spec               computed when the request arrives
//
// enqueue() returns a handle: { request: Promise<rec>, done: Promise<outcome>,
// clientClosed: Promise<ms timestamp>, sent: number } where outcome is
// 'finished' (we ended the answer) or 'client-closed' (the proxy hung up first).
//
// With an empty queue the responder (setResponder) decides; without one the
// answer is a 500 whose message says the queue was empty.

import http from 'node:http';
import { once } from 'node:events';

const GATE = Symbol('gate');
const PAUSE = Symbol('pause');

/** A one-shot gate: put it in a chunk list; open() lets the stream go on. */
export function gate(name = 'gate') {
	let open;
	const promise = new Promise((resolve) => { open = resolve; });
	return { [GATE]: true, name, promise, open: () => open(), reached: null };
}

/** A pause of ms milliseconds between chunks (for "slow upstream" shapes). */
export function pause(ms) {
	return { [PAUSE]: ms };
}

/** OpenAI chunk helpers. */
export function chunk(delta, { finish = null, id = 'chatcmpl-fake', model = 'fake-model', usage } = {}) {
	const c = {
		id, object: 'chat.completion.chunk', created: 1700000000, model,
		choices: [{ index: 0, delta, finish_reason: finish }],
	};
	if (usage) c.usage = usage;
	return c;
}

export function usageChunk(prompt, completion, extra = {}) {
	return {
		id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1700000000,
		model: 'fake-model', choices: [],
		usage: { prompt_tokens: prompt, completion_tokens: completion,
			total_tokens: prompt + completion, ...extra },
	};
}

/** A complete OpenAI chat.completion body. */
export function completion({ content = null, reasoning = undefined, tool_calls = undefined,
	finish = 'stop', usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
	model = 'fake-model', extraMessage = {} } = {}) {
	const message = { role: 'assistant', content, ...extraMessage };
	if (reasoning !== undefined) message.reasoning_content = reasoning;
	if (tool_calls !== undefined) message.tool_calls = tool_calls;
	return {
		id: 'chatcmpl-fake', object: 'chat.completion', created: 1700000000, model,
		choices: [{ index: 0, message, finish_reason: finish }],
		usage,
	};
}

/** Text answer as a whole stream: role, text pieces, finish, usage. */
export function textStreamChunks(pieces, { finish = 'stop', prompt = 12, completionTokens = 5 } = {}) {
	return [
		chunk({ role: 'assistant', content: '' }),
		...pieces.map((p) => chunk({ content: p })),
		chunk({}, { finish }),
		usageChunk(prompt, completionTokens),
	];
}

// ---------------------------------------------------------------------------
// The OpenAI Responses API (POST /v1/responses)

/** Output items of a response. */
export function respMessage(text, id = 'msg_1') {
	return { id, type: 'message', status: 'completed', role: 'assistant',
		content: [{ type: 'output_text', annotations: [], logprobs: [], text }] };
}

export function respCall(callId, name, args, id = 'fc_' + callId) {
	return { id, type: 'function_call', status: 'completed', call_id: callId, name, arguments: args };
}

export function respReasoning(summaries, encrypted, id = 'rs_1') {
	const item = { id, type: 'reasoning', summary: summaries.map((text) => ({ type: 'summary_text', text })) };
	if (encrypted !== undefined) item.encrypted_content = encrypted;
	return item;
}

/** A "response" object: the body of a plain answer, and of response.completed. */
export function responseBody({ output = [], status = 'completed', incomplete_details = null, error = null,
	usage = { input_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 8,
		output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 28 },
	model = 'fake-model' } = {}) {
	return { id: 'resp_fake', object: 'response', created_at: 1756370000, status, error,
		incomplete_details, model, output, parallel_tool_calls: true, store: false, usage };
}

/** One Responses SSE event, as the API writes it (event line and data). */
export function respEvent(type, fields = {}) {
	return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
}

/** An item with nothing in it yet, as output_item.added shows it. */
function respEmpty(item) {
	switch (item.type) {
	case 'message': return { ...item, status: 'in_progress', content: [] };
	case 'reasoning': return { id: item.id, type: 'reasoning', summary: [] };
	case 'function_call': return { ...item, status: 'in_progress', arguments: '' };
	default: return item;
	}
}

/** Split s in two (deltas arrive in pieces). */
function halves(s) {
	const h = Math.ceil(s.length / 2);
	return s.length > 1 ? [s.slice(0, h), s.slice(h)] : [s];
}

/**
 * The events of a whole streamed response: created, then each item added,
 * its deltas (text, summary parts, arguments, each in two pieces) and done,
 * then the terminal event (response.completed, or response.incomplete when
 * status is "incomplete"). Stream it with end: 'eof' (no [DONE]).
 */
export function respStreamEvents(items, opts = {}) {
	const resp = responseBody({ output: items, ...opts });
	const ev = [respEvent('response.created', { response: { ...resp, status: 'in_progress', output: [], usage: null } })];
	items.forEach((item, i) => {
		ev.push(respEvent('response.output_item.added', { output_index: i, item: respEmpty(item) }));
		ev.push(...respItemDeltas(item, i));
		ev.push(respEvent('response.output_item.done', { output_index: i, item }));
	});
	ev.push(respEvent(resp.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: resp }));
	return ev;
}

/** The delta events of one item. */
export function respItemDeltas(item, i) {
	const ev = [];
	if (item.type === 'message') {
		for (const d of halves(item.content[0].text)) {
			ev.push(respEvent('response.output_text.delta', { item_id: item.id, output_index: i, content_index: 0, delta: d }));
		}
	} else if (item.type === 'reasoning') {
		item.summary.forEach((part, k) => {
			for (const d of halves(part.text)) {
				ev.push(respEvent('response.reasoning_summary_text.delta',
					{ item_id: item.id, output_index: i, summary_index: k, delta: d }));
			}
		});
	} else if (item.type === 'function_call') {
		for (const d of halves(item.arguments)) {
			ev.push(respEvent('response.function_call_arguments.delta', { item_id: item.id, output_index: i, delta: d }));
		}
	}
	return ev;
}

function defer() {
	let resolve, reject;
	const promise = new Promise((a, b) => { resolve = a; reject = b; });
	return { promise, resolve, reject };
}

export class FakeUpstream {
	constructor() {
		this.requests = [];		// every request, in arrival order
		this.connections = 0;		// TCP connections accepted
		this.openSockets = new Set();
		this.queue = [];
		this.responder = null;
		this.waiters = [];		// { n, d }
		this.server = http.createServer({ keepAliveTimeout: 30000, requestTimeout: 0 },
			(req, res) => this.#onRequest(req, res));
		this.server.on('connection', (sock) => {
			this.connections++;
			this.openSockets.add(sock);
			sock.on('close', () => this.openSockets.delete(sock));
		});
	}

	async listen() {
		this.server.listen(0, '127.0.0.1');
		await once(this.server, 'listening');
		this.port = this.server.address().port;
		this.url = `http://127.0.0.1:${this.port}`;
		return this;
	}

	/** Queue one answer per argument; returns the handle of the last one. */
	enqueue(...specs) {
		let h;
		for (const spec of specs) {
			h = {
				spec,
				requestD: defer(), doneD: defer(), closedD: defer(),
				sent: 0,
			};
			h.request = h.requestD.promise;
			h.done = h.doneD.promise;
			h.clientClosed = h.closedD.promise;
			// Avoid unhandled-rejection noise for handles nobody awaits.
			h.request.catch(() => {});
			this.queue.push(h);
		}
		return h;
	}

	json(body, { status = 200, headers = {} } = {}) {
		return this.enqueue({ status, headers, body });
	}

	stream(chunks, opts = {}) {
		return this.enqueue({ stream: true, chunks, ...opts });
	}

	/** Answer requests when the queue is empty: fn(rec) -> spec. */
	setResponder(fn) {
		this.responder = fn;
	}

	/** Forget recorded requests and queued answers (between tests). */
	reset() {
		this.requests = [];
		this.queue = [];
		this.responder = null;
	}

	/** Resolves when at least n requests have been recorded (bounded). */
	waitForRequests(n, timeoutMs = 5000) {
		if (this.requests.length >= n) return Promise.resolve(this.requests.slice());
		const d = defer();
		const t = setTimeout(() => d.reject(new Error(
			`fake upstream: expected ${n} request(s) within ${timeoutMs} ms, got ${this.requests.length}`)), timeoutMs);
		this.waiters.push({ n, d, t });
		return d.promise;
	}

	get lastRequest() {
		return this.requests[this.requests.length - 1];
	}

	async close() {
		for (const s of this.openSockets) s.destroy();
		this.server.closeAllConnections?.();
		await new Promise((r) => this.server.close(() => r()));
	}

	async #onRequest(req, res) {
		const parts = [];
		for await (const c of req) parts.push(c);
		const raw = Buffer.concat(parts).toString('utf8');
		let json = null;
		try { json = raw.length ? JSON.parse(raw) : null; } catch { json = null; }
		const rec = {
			method: req.method, url: req.url, headers: req.headers, rawBody: raw, json,
			socketPort: req.socket.remotePort, at: Date.now(),
		};
		this.requests.push(rec);
		for (const w of this.waiters.slice()) {
			if (this.requests.length >= w.n) {
				clearTimeout(w.t);
				this.waiters.splice(this.waiters.indexOf(w), 1);
				w.d.resolve(this.requests.slice());
			}
		}

		let h = this.queue.shift();
		if (!h) {
			const spec = this.responder ? this.responder(rec) : {
				status: 500,
				body: { error: { message: `fake upstream: no scripted response for ${req.method} ${req.url}`,
					type: 'fake_upstream_empty_queue' } },
			};
			h = { spec, requestD: defer(), doneD: defer(), closedD: defer(), sent: 0 };
		}
		h.record = rec;
		h.requestD.resolve(rec);

		let finished = false;
		let clientGone = false;
		res.on('close', () => {
			if (!finished) {
				clientGone = true;
				h.closedD.resolve(Date.now());
				h.doneD.resolve('client-closed');
			}
		});
		const finish = () => { finished = true; h.doneD.resolve('finished'); };

		let spec = h.spec;
		if (typeof spec === 'function') spec = spec(rec);
		try {
			await this.#answer(spec, req, res, h, () => clientGone, finish);
		} catch (e) {
			if (!clientGone) {
				res.destroy();
			}
			h.doneD.resolve('error: ' + e.message);
		}
	}

	async #answer(spec, req, res, h, gone, finish) {
		if (spec.gate) {
			await Promise.race([spec.gate.promise, once(res, 'close')]);
			if (gone()) return;
			return this.#answer(spec.then, req, res, h, gone, finish);
		}
		if (spec.hang) {
			return;		// res 'close' reports the client going away
		}
		if (spec.destroy) {
			finish();
			req.socket.destroy();
			return;
		}
		const status = spec.status ?? 200;
		if (!spec.stream) {
			const body = typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body ?? {});
			const headers = { 'content-type': typeof spec.body === 'string' && !spec.headers?.['content-type']
				? 'text/plain' : 'application/json', ...spec.headers };
			res.writeHead(status, headers);
			finish();
			res.end(body);
			return;
		}
		res.writeHead(status, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache',
			...spec.headers });
		res.flushHeaders();
		const chunks = spec.chunks ?? [];
		for (let i = 0; i < chunks.length; i++) {
			if (gone()) return;
			const c = chunks[i];
			if (c && c[GATE]) {
				c.reached = Date.now();
				await Promise.race([c.promise, once(res, 'close')]);
				continue;
			}
			if (c && c[PAUSE] !== undefined) {
				await sleep(c[PAUSE]);
				continue;
			}
			const delay = Array.isArray(spec.delayMs) ? spec.delayMs[i] : spec.delayMs;
			if (delay) await sleep(delay);
			if (gone()) return;
			res.write(typeof c === 'string' ? c : `data: ${JSON.stringify(c)}\n\n`);
			h.sent++;
		}
		const end = spec.end ?? 'done';
		if (end === 'hang') return;
		if (end === 'cut') {
			// Let what was written reach the proxy, then break the connection
			// in the middle of the chunked body.
			await new Promise((r) => res.write('', r));
			finish();
			req.socket.destroy();
			return;
		}
		if (end === 'done') res.write('data: [DONE]\n\n');
		finish();
		res.end();
	}
}

function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

export async function startFakeUpstream() {
	return new FakeUpstream().listen();
}

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
export async function closedPort() {
	const s = http.createServer();
	s.listen(0, '127.0.0.1');
	await once(s, 'listening');
	const port = s.address().port;
	await new Promise((r) => s.close(r));
	return port;
}

/** Helpers to read what the proxy sent upstream. */
export function textOf(content) {
	if (content == null) return '';
	if (typeof content === 'string') return content;
	if (Array.isArray(content)) {
		return content.map((p) => (typeof p === 'string' ? p : p.text ?? '')).join('');
	}
	return String(content);
}

export function maxTokensOf(body) {
	return body.max_tokens ?? body.max_completion_tokens;
}
