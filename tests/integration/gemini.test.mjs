// Gemini through its OpenAI-compatible endpoint (issue 12): thought
// signatures on tool calls (extra_content.google.thought_signature) go out
// to the client inside the tool_use ids and come back upstream on the next
// turn, plain and streamed, with parallel calls signed on the first call
// only (as Gemini signs them); a provider that is not the one that signed
// never sees them. The fake upstream plays Gemini: the next turn is refused
// with Gemini's own 400 unless every signature it gave came back.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { startFakeUpstream, chunk, completion } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, checkStreamGrammar, teardown } from './lib/proxy.mjs';

const T = { timeout: 20000 };
// canonical base64 with '+', '/' and padding, as Gemini's are
const SIG = 'CiQBjz1rX+/9Yk3tQ0AbCdE7Hk2+Lw==';

const CALLS = [
	{ id: 'function-call-11', type: 'function', function: { name: 'Read', arguments: '{"file_path":"/a.c"}' },
		extra_content: { google: { thought_signature: SIG } } },
	{ id: 'function-call-12', type: 'function', function: { name: 'Read', arguments: '{"file_path":"/b.c"}' } },
];

const TOOLS = [{ name: 'Read', description: 'read a file',
	input_schema: { type: 'object', properties: { file_path: { type: 'string' } }, required: ['file_path'] } }];

/** Gemini's stream: no index, each call whole in one delta, the first signed. */
function geminiStream() {
	return [
		chunk({ role: 'assistant', content: 'Reading both.' }),
		chunk({ role: 'assistant', tool_calls: CALLS.map((c) => ({ ...c })) }),
		chunk({ role: 'assistant' }, { finish: 'tool_calls',
			usage: { prompt_tokens: 30, completion_tokens: 9, total_tokens: 39 } }),
	];
}

/** As Gemini 3 answers a turn that lost a signature. */
function missingSignature(position) {
	return { status: 400, body: [{ error: { code: 400, status: 'INVALID_ARGUMENT',
		message: `Function call is missing a thought_signature in functionCall parts. position ${position}` } }] };
}

/** Gemini's check of a request: every signature it gave is on its call. */
function geminiCheck(rec) {
	const msgs = rec.json?.messages ?? [];
	for (const m of msgs) {
		if (m.role !== 'assistant' || !m.tool_calls) continue;
		const first = m.tool_calls[0];
		if (first.extra_content?.google?.thought_signature !== SIG) return missingSignature(msgs.indexOf(m));
	}
	return null;
}

function cfg(url) {
	const c = baseConfig(url);
	c.providers = [
		{ name: 'gemini', base_url: url, api_key: 'gem-fake-key', schema: 'gemini',
			models: [{ id: 'gem', remote_id: 'gemini-3-pro-preview' }] },
		{ name: 'other', base_url: url, api_key: 'sk-other-key',
			models: [{ id: 'oth', remote_id: 'other-model' }] },
	];
	return c;
}

function nextTurn(model, content) {
	const uses = content.filter((b) => b.type === 'tool_use');
	return {
		model, max_tokens: 256, tools: TOOLS,
		messages: [
			{ role: 'user', content: 'read a.c and b.c' },
			{ role: 'assistant', content },
			// results in completion order, not call order
			{ role: 'user', content: uses.slice().reverse().map((u) => ({
				type: 'tool_result', tool_use_id: u.id, content: `contents of ${u.input.file_path}` })) },
		],
	};
}

const ID_RE = /^[A-Za-z0-9_-]+$/;

describe('Gemini thought signatures', { timeout: 120000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		proxy = await startProxy({ config: cfg(fake.url) });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	function checkBackUpstream(rec) {
		const asst = rec.json.messages.find((m) => m.role === 'assistant');
		assert.equal(asst.tool_calls.length, 2);
		assert.equal(asst.tool_calls[0].id, 'function-call-11', 'the upstream gets its own id back');
		assert.deepEqual(asst.tool_calls[0].extra_content, { google: { thought_signature: SIG } },
			'the signature is back on the call that had it, byte for byte');
		assert.equal(asst.tool_calls[1].id, 'function-call-12');
		assert.equal(asst.tool_calls[1].extra_content, undefined, 'none on the unsigned call');
		const results = rec.json.messages.filter((m) => m.role === 'tool');
		assert.deepEqual(results.map((m) => m.tool_call_id), ['function-call-11', 'function-call-12'],
			'the results answer the plain ids, in call order');
		assert.ok(!rec.rawBody.includes('cpgs1_'), 'no carrier id goes upstream');
	}

	function checkOut(content) {
		const uses = content.filter((b) => b.type === 'tool_use');
		assert.equal(uses.length, 2);
		assert.match(uses[0].id, ID_RE, 'an id Anthropic allows');
		assert.ok(uses[0].id.startsWith('cpgs1_') && uses[0].id.includes('function-call-11'), uses[0].id);
		assert.equal(uses[1].id, 'function-call-12', 'an unsigned call keeps its id');
		assert.deepEqual(uses.map((u) => u.input.file_path), ['/a.c', '/b.c']);
	}

	test('plain: the signature goes out in the tool_use id and back on extra_content', T, async () => {
		fake.json(completion({ content: 'Reading both.', tool_calls: CALLS, finish: 'tool_calls' }));
		const r = await proxy.post('/v1/messages', { model: 'gem', max_tokens: 256, tools: TOOLS,
			messages: [{ role: 'user', content: 'read a.c and b.c' }] });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.stop_reason, 'tool_use');
		checkOut(r.json.content);

		fake.setResponder((rec) => geminiCheck(rec) ?? { body: completion({ content: 'done' }) });
		const r2 = await proxy.post('/v1/messages', nextTurn('gem', r.json.content));
		assert.equal(r2.status, 200, r2.text);
		assert.equal(r2.json.content[0].text, 'done');
		checkBackUpstream(fake.lastRequest);
	});

	test('streamed: the same, from a Gemini-shaped stream', T, async () => {
		fake.stream(geminiStream());
		const r = await proxy.stream({ model: 'gem', max_tokens: 256, tools: TOOLS,
			messages: [{ role: 'user', content: 'read a.c and b.c' }] });
		assert.equal(r.status, 200, r.raw);
		const g = checkStreamGrammar(r.events);
		assert.equal(g.stopReason, 'tool_use');
		checkOut(g.blocks);

		fake.setResponder((rec) => geminiCheck(rec) ?? { stream: true, chunks: [
			chunk({ role: 'assistant', content: 'done' }), chunk({}, { finish: 'stop' })] });
		const r2 = await proxy.stream(nextTurn('gem', g.blocks));
		assert.equal(r2.status, 200, r2.raw);
		assert.equal(checkStreamGrammar(r2.events).blocks[0].text, 'done');
		checkBackUpstream(fake.lastRequest);
	});

	test('without its signature the next turn fails as Gemini fails it (the check is real)', T, async () => {
		fake.setResponder((rec) => geminiCheck(rec) ?? { body: completion({ content: 'done' }) });
		const content = [{ type: 'tool_use', id: 'function-call-11', name: 'Read', input: { file_path: '/a.c' } }];
		const r = await proxy.post('/v1/messages', nextTurn('gem', content));
		assert.equal(r.status, 400, r.text);
		assert.match(r.json.error.message, /thought_signature/);
	});

	test('another provider never sees the signature, only the plain ids', T, async () => {
		fake.json(completion({ content: null, tool_calls: CALLS, finish: 'tool_calls' }));
		const r = await proxy.post('/v1/messages', { model: 'gem', max_tokens: 256, tools: TOOLS,
			messages: [{ role: 'user', content: 'read a.c and b.c' }] });
		assert.equal(r.status, 200, r.text);
		fake.json(completion({ content: 'done' }));
		const r2 = await proxy.post('/v1/messages', nextTurn('oth', r.json.content));
		assert.equal(r2.status, 200, r2.text);
		const rec = fake.lastRequest;
		assert.equal(rec.json.model, 'other-model');
		assert.ok(!rec.rawBody.includes('extra_content') && !rec.rawBody.includes(SIG.slice(0, 12)) &&
			!rec.rawBody.includes('cpgs1_'), rec.rawBody);
		const asst = rec.json.messages.find((m) => m.role === 'assistant');
		assert.deepEqual(asst.tool_calls.map((c) => c.id), ['function-call-11', 'function-call-12']);
		assert.deepEqual(rec.json.messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id),
			['function-call-11', 'function-call-12']);
	});

	test('a non-Gemini answer without signatures keeps its ids as they are', T, async () => {
		fake.json(completion({ content: null, finish: 'tool_calls', tool_calls: [
			{ id: 'call_plain_1', type: 'function', function: { name: 'Read', arguments: '{"file_path":"/x"}' } }] }));
		const r = await proxy.post('/v1/messages', { model: 'oth', max_tokens: 256, tools: TOOLS,
			messages: [{ role: 'user', content: 'read x' }] });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].id, 'call_plain_1');
	});
});
