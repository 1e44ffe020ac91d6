// Streaming /v1/messages (issue 3): event grammar, deltas, slow streams,
// disconnects, cuts, silence, errors before the first byte, keep-alive.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import {
	startFakeUpstream, chunk, usageChunk, textStreamChunks, gate, textOf,
} from './lib/fake-upstream.mjs';
import {
	startProxy, baseConfig, msgBody, checkStreamGrammar, SSEStream, RawConn, rawRequest, errorEnvelope, teardown, parseSSE,
} from './lib/proxy.mjs';

const T = { timeout: 20000 };

function names(events) {
	return events.filter((e) => e.event !== 'ping').map((e) => e.event);
}

function toolDelta(index, { id, name, args }) {
	const fn = {};
	if (name !== undefined) fn.name = name;
	if (args !== undefined) fn.arguments = args;
	const tc = { index, function: fn };
	if (id !== undefined) { tc.id = id; tc.type = 'function'; }
	return chunk({ tool_calls: [tc] });
}

function streamCfg(url, extra = {}) {
	const cfg = baseConfig(url, { stream_ping_seconds: 1, stream_idle_timeout_seconds: 3, ...extra });
	cfg.providers.push({ name: 'nousage', base_url: url, api_key: 'sk-nousage', include_usage: false,
		models: [{ id: 'nu', remote_id: 'remote-nu' }] });
	return cfg;
}

describe('streaming', { timeout: 300000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		proxy = await startProxy({ config: streamCfg(fake.url) });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	test('text stream: headers, event order, text, usage; upstream asked to stream with usage', T, async () => {
		fake.stream(textStreamChunks(['Hel', 'lo', ', world'], { prompt: 21, completionTokens: 4 }));
		const r = await proxy.stream(msgBody({ messages: [{ role: 'user', content: 'say hello' }] }));
		assert.equal(r.status, 200, r.raw);
		assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
		assert.match(r.headers.get('cache-control') ?? '', /no-cache/);
		assert.ok(r.headers.get('request-id'));
		assert.ok(!r.raw.includes('[DONE]'), 'data: [DONE] must not reach an Anthropic client');
		assert.match(r.raw, /^event: message_start\ndata: /, 'each event is "event: NAME\\ndata: JSON"');
		assert.deepEqual(names(r.events), ['message_start', 'content_block_start',
			...Array(names(r.events).length - 5).fill('content_block_delta'),
			'content_block_stop', 'message_delta', 'message_stop']);
		const g = checkStreamGrammar(r.events);
		assert.equal(g.message.role, 'assistant');
		assert.equal(g.message.type, 'message');
		assert.match(g.message.id, /^msg_/);
		assert.equal(g.message.model, 'glm');
		assert.ok(g.message.usage.input_tokens > 0, 'message_start input_tokens should be estimated locally');
		assert.deepEqual(g.blocks, [{ type: 'text', text: 'Hello, world' }]);
		assert.equal(g.stopReason, 'end_turn');
		assert.equal(g.stopSequence, null);
		assert.equal(g.usage.output_tokens, 4);

		const up = fake.requests[0];
		assert.equal(up.json.stream, true);
		assert.equal(up.json.stream_options?.include_usage, true);
		assert.equal(up.json.model, 'remote-glm');
		assert.equal(up.headers.authorization, 'Bearer sk-fake-upstream-key');
	});

	test('include_usage:false provider: no stream_options; stream still completes', T, async () => {
		fake.stream([chunk({ role: 'assistant', content: 'no usage' }), chunk({}, { finish: 'stop' })]);
		const r = await proxy.stream(msgBody({ model: 'nu' }));
		assert.equal(r.status, 200, r.raw);
		assert.equal(fake.requests[0].json.stream_options, undefined);
		const g = checkStreamGrammar(r.events);
		assert.deepEqual(g.blocks, [{ type: 'text', text: 'no usage' }]);
		assert.equal(typeof g.usage.output_tokens, 'number');
	});

	test('reasoning_content -> thinking block with signature_delta, then text', T, async () => {
		fake.stream([
			chunk({ role: 'assistant', content: null, reasoning_content: '' }),
			chunk({ reasoning_content: 'Let me ' }),
			chunk({ reasoning_content: 'think.' }),
			chunk({ content: 'Answer: ' }),
			chunk({ content: '42' }),
			chunk({}, { finish: 'stop' }),
			usageChunk(30, 9),
		]);
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200, r.raw);
		const g = checkStreamGrammar(r.events);
		assert.equal(g.blocks.length, 2);
		assert.equal(g.blocks[0].type, 'thinking');
		assert.equal(g.blocks[0].thinking, 'Let me think.');
		assert.ok(typeof g.blocks[0].signature === 'string', 'no signature_delta for the thinking block');
		const evs = r.events.filter((e) => e.event !== 'ping');
		const stop0 = evs.findIndex((e) => e.event === 'content_block_stop' && e.data.index === 0);
		assert.equal(evs[stop0 - 1].data.delta?.type, 'signature_delta', 'signature_delta must come just before the stop');
		assert.deepEqual(g.blocks[1], { type: 'text', text: 'Answer: 42' });
		assert.equal(g.usage.output_tokens, 9);
	});

	test('tool call: start with id, name, input {}; arguments only via input_json_delta', T, async () => {
		fake.stream([
			chunk({ role: 'assistant', content: 'Checking.' }),
			toolDelta(0, { id: 'call_w1', name: 'get_weather', args: '' }),
			toolDelta(0, { args: '{"ci' }),
			toolDelta(0, { args: 'ty": "Par' }),
			toolDelta(0, { args: 'is"}' }),
			chunk({}, { finish: 'tool_calls' }),
			usageChunk(40, 12),
		]);
		const r = await proxy.stream(msgBody({ tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }] }));
		assert.equal(r.status, 200, r.raw);
		const g = checkStreamGrammar(r.events);
		assert.deepEqual(g.blocks, [
			{ type: 'text', text: 'Checking.' },
			{ type: 'tool_use', id: 'call_w1', name: 'get_weather', input: { city: 'Paris' } },
		]);
		assert.equal(g.stopReason, 'tool_use');
		assert.equal(fake.requests[0].json.tools[0].function.name, 'get_weather');
	});

	test('parallel tool calls with interleaved fragments -> separate blocks, one open at a time', T, async () => {
		fake.stream([
			chunk({ role: 'assistant' }),
			toolDelta(0, { id: 'call_a', name: 'Read', args: '' }),
			toolDelta(1, { id: 'call_b', name: 'Glob', args: '' }),
			toolDelta(0, { args: '{"path":' }),
			toolDelta(1, { args: '{"pattern":"*.c"' }),
			toolDelta(0, { args: '"/etc/hosts"}' }),
			toolDelta(1, { args: '}' }),
			chunk({}, { finish: 'tool_calls' }),
			usageChunk(50, 20),
		]);
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200, r.raw);
		const g = checkStreamGrammar(r.events);
		assert.deepEqual(g.blocks, [
			{ type: 'tool_use', id: 'call_a', name: 'Read', input: { path: '/etc/hosts' } },
			{ type: 'tool_use', id: 'call_b', name: 'Glob', input: { pattern: '*.c' } },
		]);
		assert.equal(g.stopReason, 'tool_use');
	});

	test('whole arguments in one chunk, missing tool-call id, empty-choices usage chunk', T, async () => {
		fake.stream([
			chunk({ role: 'assistant', content: '' }),
			chunk({ tool_calls: [{ index: 0, function: { name: 'Bash', arguments: '{"command":"ls -la"}' } }] }),
			chunk({}, { finish: 'tool_calls' }),
			usageChunk(10, 5),
		]);
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200, r.raw);
		const g = checkStreamGrammar(r.events);
		const tools = g.blocks.filter((b) => b.type === 'tool_use');
		assert.equal(tools.length, 1);
		assert.equal(tools[0].name, 'Bash');
		assert.deepEqual(tools[0].input, { command: 'ls -la' });
		assert.match(tools[0].id, /^[A-Za-z0-9_-]+$/, 'a missing id must be generated');
	});

	test('tool call whose id and name arrive after its first argument fragment', T, async () => {
		fake.stream([
			chunk({ role: 'assistant' }),
			chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] }),
			chunk({ tool_calls: [{ index: 0, id: 'call_late', type: 'function', function: { name: 'Late' } }] }),
			chunk({ tool_calls: [{ index: 0, function: { arguments: ': 1}' } }] }),
			chunk({}, { finish: 'tool_calls' }),
			usageChunk(10, 5),
		]);
		const r = await proxy.stream(msgBody());
		const g = checkStreamGrammar(r.events);
		assert.deepEqual(g.blocks, [{ type: 'tool_use', id: 'call_late', name: 'Late', input: { a: 1 } }]);
	});

	test('text after tool calls gets its own block after them', T, async () => {
		fake.stream([
			chunk({ role: 'assistant', content: 'before ' }),
			toolDelta(0, { id: 'call_t', name: 'Read', args: '{"path":"/a"}' }),
			chunk({ content: 'after' }),
			chunk({}, { finish: 'tool_calls' }),
			usageChunk(10, 5),
		]);
		const r = await proxy.stream(msgBody());
		const g = checkStreamGrammar(r.events);
		assert.deepEqual(g.blocks.map((b) => b.type), ['text', 'tool_use', 'text']);
		assert.equal(g.blocks[0].text, 'before ');
		assert.deepEqual(g.blocks[1].input, { path: '/a' });
		assert.equal(g.blocks[2].text, 'after');
	});

	test('OpenRouter-style delta.reasoning becomes thinking', T, async () => {
		fake.stream([
			chunk({ role: 'assistant', content: '' }),
			chunk({ reasoning: 'routing thoughts' }),
			chunk({ content: 'routed answer' }),
			chunk({}, { finish: 'stop' }),
			usageChunk(10, 5),
		]);
		const r = await proxy.stream(msgBody());
		const g = checkStreamGrammar(r.events);
		assert.equal(g.blocks[0].type, 'thinking');
		assert.equal(g.blocks[0].thinking, 'routing thoughts');
		assert.equal(g.blocks[1].text, 'routed answer');
	});

	test('vLLM-style usage on the finish chunk', T, async () => {
		fake.stream([
			chunk({ role: 'assistant', content: 'vllm says hi' }),
			chunk({}, { finish: 'stop', usage: { prompt_tokens: 33, completion_tokens: 17, total_tokens: 50 } }),
		]);
		const r = await proxy.stream(msgBody());
		const g = checkStreamGrammar(r.events);
		assert.equal(g.blocks[0].text, 'vllm says hi');
		assert.equal(g.usage.output_tokens, 17);
	});

	test('a long stream (1500 chunks) arrives complete and in order', T, async () => {
		const pieces = Array.from({ length: 1500 }, (_, i) => `${i},`);
		fake.stream(textStreamChunks(pieces));
		const r = await proxy.stream(msgBody());
		const g = checkStreamGrammar(r.events);
		assert.equal(g.blocks[0].text, pieces.join(''));
	});

	test('finish_reason repeated -> one message_delta; finish and content in one chunk', T, async () => {
		fake.stream([
			chunk({ role: 'assistant' }),
			chunk({ content: 'last words' }, { finish: 'length' }),
			chunk({}, { finish: 'length' }),
			usageChunk(10, 256),
		]);
		const r = await proxy.stream(msgBody());
		const g = checkStreamGrammar(r.events);
		assert.deepEqual(g.blocks, [{ type: 'text', text: 'last words' }]);
		assert.equal(g.stopReason, 'max_tokens');
		assert.equal(names(r.events).filter((n) => n === 'message_delta').length, 1);
	});

	test('SSE split at odd places, CRLF, comments, multi-line data', T, async () => {
		const c1 = JSON.stringify(chunk({ role: 'assistant', content: 'ab' }));
		const c2 = JSON.stringify(chunk({ content: 'cd' }));
		const c3 = JSON.stringify(chunk({}, { finish: 'stop' }));
		fake.stream([
			': keep-alive comment\n\n',
			'da', 'ta: ' + c1.slice(0, 10), c1.slice(10) + '\n', '\n',
			'data: ' + c2 + '\r\n\r\n',
			// the same JSON split over two data: lines is joined with \n (valid JSON whitespace)
			'data: ' + c3.slice(0, c3.indexOf(',') + 1) + '\ndata: ' + c3.slice(c3.indexOf(',') + 1) + '\n\n',
			'data: ' + JSON.stringify(usageChunk(5, 2)) + '\n\n',
		]);
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200, r.raw);
		const g = checkStreamGrammar(r.events);
		assert.deepEqual(g.blocks, [{ type: 'text', text: 'abcd' }]);
		assert.equal(g.stopReason, 'end_turn');
	});

	test('slow stream: each event reaches the client before the next upstream chunk is sent', T, async () => {
		const pieces = ['one ', 'two ', 'three ', 'four'];
		const gates = pieces.map((_, i) => gate(`after-${i}`));
		const chunks = [chunk({ role: 'assistant', content: '' })];
		pieces.forEach((p, i) => { chunks.push(chunk({ content: p }), gates[i]); });
		chunks.push(chunk({}, { finish: 'stop' }), usageChunk(8, 4));
		fake.stream(chunks);
		const res = await proxy.fetch('/v1/messages', { method: 'POST', headers: { 'content-type': 'application/json' },
			body: JSON.stringify(msgBody({ stream: true })) });
		assert.equal(res.status, 200);
		const s = new SSEStream(res);
		let text = '';
		for (let i = 0; i < pieces.length; i++) {
			// The upstream is parked at gate i: everything up to piece i must
			// already be on its way to us, or the proxy is holding it back.
			const want = pieces.slice(0, i + 1).join('');
			while (text.length < want.length) {
				const ev = await s.until((e) => e.event === 'content_block_delta', 5000,
					`the text delta for upstream chunk ${i} while the upstream waits (proxy held it back?)`);
				text += ev.data.delta.text;
			}
			assert.equal(text, want);
			gates[i].open();
		}
		await s.rest();
		const g = checkStreamGrammar(s.all);
		assert.equal(g.blocks[0].text, 'one two three four');
	});

	// Issue 10, item 7: a stream that fails ends as Anthropic's do, with one
	// error event after whatever was open (no content_block_stop, no
	// signature, no message_delta), and the chunked body then ends cleanly.
	test('upstream cut mid-stream -> event: error with the text block left open, clean end', T, async () => {
		fake.stream([chunk({ role: 'assistant', content: 'partial ' }), chunk({ content: 'answer' })], { end: 'cut' });
		const r = await proxy.stream(msgBody());		// throws if the chunked body is not terminated
		assert.equal(r.status, 200);
		assert.deepEqual(names(r.events), ['message_start', 'content_block_start', 'content_block_delta',
			'content_block_delta', 'error']);
		errorEnvelope({ status: 200, text: r.events.at(-1).raw });
		const g = checkStreamGrammar(r.events, { expectComplete: false });
		assert.equal(g.blocks[0].text, 'partial answer');
		assert.match(r.raw, /event: error\ndata: [^\n]*\n\n$/, 'the error event is the last thing in the body');
	});

	test('upstream cut inside thinking -> event: error, no signature, block left open', T, async () => {
		fake.stream([chunk({ role: 'assistant', reasoning_content: 'let me see' })], { end: 'cut' });
		const r = await proxy.stream(msgBody());
		assert.deepEqual(names(r.events), ['message_start', 'content_block_start', 'content_block_delta', 'error']);
		assert.equal(r.events.filter((e) => e.event === 'content_block_delta')[0].data.delta.type, 'thinking_delta');
	});

	test('upstream cut before the first block -> message_start, then event: error', T, async () => {
		fake.stream([chunk({ role: 'assistant', content: '' })], { end: 'cut' });
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200);
		assert.deepEqual(names(r.events), ['message_start', 'error']);
	});

	test('upstream ends without finish_reason -> event: error, block left open', T, async () => {
		fake.stream([chunk({ role: 'assistant', content: 'trailing off' })], { end: 'eof' });
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200);
		assert.deepEqual(names(r.events), ['message_start', 'content_block_start', 'content_block_delta', 'error']);
	});

	test('upstream sends garbage mid-stream -> event: error, block left open', T, async () => {
		fake.stream([chunk({ role: 'assistant', content: 'fine so far' }), 'data: {this is not json\n\n',
			chunk({ content: 'never' })]);
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200);
		assert.deepEqual(names(r.events), ['message_start', 'content_block_start', 'content_block_delta', 'error']);
		errorEnvelope({ status: 200, text: r.events.at(-1).raw });
	});

	test('upstream error event mid-stream -> its type in event: error, block left open', T, async () => {
		fake.stream([chunk({ role: 'assistant', content: 'so far' }),
			'event: error\ndata: {"error":{"message":"Overloaded","type":"overloaded_error","code":529}}\n\n']);
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200);
		assert.deepEqual(names(r.events), ['message_start', 'content_block_start', 'content_block_delta', 'error']);
		assert.equal(r.events.at(-1).data.error.type, 'overloaded_error');
	});

	test('upstream 429 before the first byte -> JSON 429 with retry-after, not a 200 stream', T, async () => {
		fake.json({ error: { message: 'slow down', type: 'rate_limit_exceeded' } }, { status: 429, headers: { 'retry-after': '3' } });
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 429);
		assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
		assert.equal(errorEnvelope({ status: 429, text: r.raw }).error.type, 'rate_limit_error');
		assert.equal(r.headers.get('retry-after'), '3');
	});

	test('upstream 500 before the first byte -> JSON 5xx envelope', T, async () => {
		fake.json('upstream exploded', { status: 500 });
		const r = await proxy.stream(msgBody());
		assert.ok(r.status >= 500, `status ${r.status}`);
		errorEnvelope({ status: r.status, text: r.raw });
	});

	test('unknown model with stream:true -> JSON 404', T, async () => {
		const r = await proxy.stream(msgBody({ model: 'nope' }));
		assert.equal(r.status, 404);
		errorEnvelope({ status: 404, text: r.raw });
		assert.equal(fake.requests.length, 0);
	});

	test('upstream silence -> ping events, then timeout_error; upstream connection closed', T, async () => {
		const h = fake.stream([chunk({ role: 'assistant', content: 'and then' })], { end: 'hang' });
		const start = Date.now();
		const r = await proxy.stream(msgBody());
		const took = Date.now() - start;
		assert.equal(r.status, 200);
		const all = r.events;
		const firstDelta = all.findIndex((e) => e.event === 'content_block_delta');
		const pings = all.slice(firstDelta).filter((e) => e.event === 'ping');
		assert.ok(pings.length >= 1, `no ping during ${took} ms of silence (stream_ping_seconds 1)`);
		for (const p of pings) assert.deepEqual(p.data, { type: 'ping' });
		const last = all.at(-1);
		assert.equal(last.event, 'error');
		assert.equal(last.data.error.type, 'timeout_error');
		assert.deepEqual(names(all), ['message_start', 'content_block_start', 'content_block_delta', 'error'],
			'the text block is left open at the timeout');
		assert.ok(took >= 2500 && took < 8000, `idle timeout after ${took} ms, configured 3 s`);
		const closed = await Promise.race([h.clientClosed, new Promise((res) => setTimeout(() => res(null), 3000))]);
		assert.ok(closed, 'upstream connection left open after the idle timeout');
	});

	test('keep-alive survives a stream: second request on the same connection', T, async () => {
		fake.stream(textStreamChunks(['streamed']));
		const c = await RawConn.open(proxy.port);
		try {
			const body = JSON.stringify(msgBody({ stream: true }));
			await c.write(rawRequest('POST', '/v1/messages', { headers: { 'content-type': 'application/json' }, body }));
			const head = await c.readHead();
			assert.equal(head.status, 200);
			assert.match(head.headers['transfer-encoding'] ?? '', /chunked/);
			assert.notEqual((head.headers.connection ?? '').toLowerCase(), 'close');
			const evs = [];
			for await (const ev of c.sseEvents()) evs.push(ev);
			const g = checkStreamGrammar(evs);
			assert.equal(g.blocks[0].text, 'streamed');
			await c.write(rawRequest('GET', '/'));
			const r2 = await c.readResponse();
			assert.equal(r2.status, 200);
			assert.equal(r2.json.health, 'ok');
		} finally {
			c.destroy();
		}
	});

	// Issue 10, item 25: the events of one upstream read leave in one write,
	// and each write is one chunk: an answer the upstream sends in one
	// piece comes back in a couple of chunks, not one per event.
	test('a 50-chunk answer sent at once -> a few chunks (one per upstream read), not one per event', T, async () => {
		const pieces = Array.from({ length: 50 }, (_, i) => ` w${i}`);
		const body = textStreamChunks(pieces).map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n';
		fake.stream([body], { end: 'eof' });
		const c = await RawConn.open(proxy.port);
		try {
			const req = JSON.stringify(msgBody({ stream: true }));
			await c.write(rawRequest('POST', '/v1/messages', { headers: { 'content-type': 'application/json' }, body: req }));
			const head = await c.readHead();
			assert.equal(head.status, 200);
			const chunks = [];
			for (let b; (b = await c.readChunk()) !== null;) chunks.push(b.toString('utf8'));
			const evs = checkStreamGrammar(parseSSE(chunks.join('')));
			assert.equal(evs.blocks[0].text, pieces.join(''));
			assert.equal(parseSSE(chunks.join('')).length, 55);
			// every chunk holds whole events
			for (const ch of chunks) assert.match(ch, /^event: [a-z_]+\ndata: .*\n\n$/s);
			assert.ok(chunks.length <= 4, `${chunks.length} chunks for 55 events`);
		} finally {
			c.destroy();
		}
	});

	test('stream summary log line for the request', T, async () => {
		fake.stream(textStreamChunks(['summary-preview-text']));
		const from = proxy.stderr.length;
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200);
		await proxy.waitForLog(/summary-preview-text/, 5000, from);
	});
});

describe('streaming: client disconnect (one worker)', { timeout: 120000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		proxy = await startProxy({ config: streamCfg(fake.url, { stream_ping_seconds: 10, stream_idle_timeout_seconds: 60 }),
			workers: 1 });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	async function disconnectAfterFirstDelta(h) {
		const c = await RawConn.open(proxy.port);
		await c.write(rawRequest('POST', '/v1/messages', { headers: { 'content-type': 'application/json' },
			body: JSON.stringify(msgBody({ stream: true })) }));
		const head = await c.readHead();
		assert.equal(head.status, 200);
		for await (const ev of c.sseEvents()) {
			if (ev.event === 'content_block_delta') break;
		}
		const t0 = Date.now();
		c.destroy();
		const closedAt = await Promise.race([h.clientClosed, new Promise((res) => setTimeout(() => res(null), 5000))]);
		assert.ok(closedAt, 'upstream connection still open 5 s after the client left');
		const took = closedAt - t0;
		if (process.env.CP_TEST_VERBOSE) console.log(`# upstream aborted ${took} ms after the client left`);
		assert.ok(took < 1500, `upstream aborted ${took} ms after the client left (should be within ~1 s)`);
	}

	test('client leaves while the upstream is silent -> upstream closed within ~1 s, worker free', T, async () => {
		const h = fake.stream([chunk({ role: 'assistant', content: 'first words' })], { end: 'hang' });
		await disconnectAfterFirstDelta(h);
		// The only worker must be free for the next client.
		const r = await proxy.get('/');
		assert.equal(r.status, 200);
	});

	test('client leaves while the upstream keeps streaming -> upstream closed', T, async () => {
		const chunks = [chunk({ role: 'assistant', content: 'tick ' })];
		for (let i = 0; i < 200; i++) chunks.push(chunk({ content: `tick${i} ` }));
		const h = fake.stream(chunks, { delayMs: 50 });
		await disconnectAfterFirstDelta(h);
		fake.stream(textStreamChunks(['next client ok']));
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200);
		assert.equal(checkStreamGrammar(r.events).blocks[0].text, 'next client ok');
	});
});
