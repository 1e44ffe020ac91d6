// providers[].tool_call_repair (issue 12): tool calls a small local model
// writes as text become tool_use blocks, plain and streamed: a
// <tool_call> tag (Qwen / Hermes templates), a fenced JSON call naming a
// request tool, almost-JSON arguments repaired; what stays text (another
// name, the provider without the key, proper tool_calls untouched); a
// tagged call beyond repair is an upstream error; the SDK reads a
// repaired stream.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

import { startFakeUpstream, chunk, usageChunk, completion } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, checkStreamGrammar, teardown } from './lib/proxy.mjs';

const T = { timeout: 20000 };
const TOOLS = [
	{ name: 'Read', description: 'read a file', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } },
	{ name: 'Bash', description: 'run', input_schema: { type: 'object', properties: { command: { type: 'string' } } } },
];

const FORMS = [
	{ name: 'a <tool_call> tag', text: 'Let me read it.\n\n<tool_call>\n{"name": "Read", "arguments": {"file_path": "/src/main.c"}}\n</tool_call>',
		calls: [['Read', { file_path: '/src/main.c' }]], before: 'Let me read it.' },
	{ name: 'two tags with almost-JSON (single quotes, trailing comma, raw newline, unquoted key)',
		text: "<tool_call>{'name': 'Bash', arguments: {'command': 'ls -l\nwc -l',}}</tool_call>\n<tool_call>{\"name\":\"Read\",\"arguments\":{\"file_path\":\"/a\",}}</tool_call>",
		calls: [['Bash', { command: 'ls -l\nwc -l' }], ['Read', { file_path: '/a' }]] },
	{ name: 'a fenced JSON call', text: 'Reading.\n```json\n{"name": "Read", "arguments": {"file_path": "/b"}}\n```\n',
		calls: [['Read', { file_path: '/b' }]], before: 'Reading.' },
];

const LOCAL_KEY = 'local-key-must-not-leak-0077';

function streamOf(text, pieces = 7) {
	const out = [chunk({ role: 'assistant', content: '' })];
	const step = Math.ceil(text.length / pieces);
	for (let i = 0; i < text.length; i += step) out.push(chunk({ content: text.slice(i, i + step) }));
	out.push(chunk({}, { finish: 'stop' }), usageChunk(50, 20));
	return out;
}

function body(model, extra = {}) {
	return { model, max_tokens: 256, tools: TOOLS, messages: [{ role: 'user', content: 'go' }], ...extra };
}

function checkCalls(content, form) {
	const uses = content.filter((b) => b.type === 'tool_use');
	assert.deepEqual(uses.map((u) => [u.name, u.input]), form.calls);
	for (const u of uses) assert.match(u.id, /^toolu_[A-Za-z0-9]{24}$/);
	const text = content.filter((b) => b.type === 'text').map((b) => b.text).join('');
	assert.equal(text, form.before ?? '');
	assert.ok(!JSON.stringify(content).includes('tool_call>'));
}

describe('tool_call_repair', { timeout: 120000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		const cfg = baseConfig(fake.url);
		cfg.providers = [
			{ name: 'local', base_url: fake.url, api_key: LOCAL_KEY, tool_call_repair: true,
				models: [{ id: 'qwen', remote_id: 'qwen2.5-coder-7b' }] },
			{ name: 'plain', base_url: fake.url, api_key: '', models: [{ id: 'norepair', remote_id: 'x' }] },
		];
		proxy = await startProxy({ config: cfg });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	for (const form of FORMS) {
		test(`plain: ${form.name}`, T, async () => {
			fake.json(completion({ content: form.text }));
			const r = await proxy.post('/v1/messages', body('qwen'));
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.stop_reason, 'tool_use');
			checkCalls(r.json.content, form);
		});
		test(`streamed: ${form.name}`, T, async () => {
			fake.stream(streamOf(form.text));
			const r = await proxy.stream(body('qwen'));
			assert.equal(r.status, 200, r.raw);
			const g = checkStreamGrammar(r.events);
			assert.equal(g.stopReason, 'tool_use');
			checkCalls(g.blocks, form);
		});
	}

	test('a configured key the model wrote into a repaired call is masked, plain and streamed', T, async () => {
		const text = `<tool_call>{'name': 'Bash', 'arguments': {'command': 'curl -H "authorization: Bearer ${LOCAL_KEY}" x'}}</tool_call>`;
		const want = [['Bash', { command: 'curl -H "authorization: Bearer ***" x' }]];
		fake.json(completion({ content: text }));
		const r = await proxy.post('/v1/messages', body('qwen'));
		assert.equal(r.status, 200, r.text);
		checkCalls(r.json.content, { calls: want });
		assert.ok(!r.text.includes('must-not-leak'), r.text);
		fake.stream(streamOf(text, 11));
		const s = await proxy.stream(body('qwen'));
		assert.equal(s.status, 200, s.raw);
		checkCalls(checkStreamGrammar(s.events).blocks, { calls: want });
		assert.ok(!s.raw.includes('must-not-leak'), s.raw);
	});

	test('a name that is not a request tool, and code fences, stay text', T, async () => {
		const text = 'Try:\n<tool_call>{"name": "Write", "arguments": {}}</tool_call>\n```python\nprint(1)\n```';
		fake.stream(streamOf(text, 13));
		const r = await proxy.stream(body('qwen'));
		const g = checkStreamGrammar(r.events);
		assert.equal(g.stopReason, 'end_turn');
		assert.deepEqual(g.blocks.map((b) => b.type), ['text']);
		assert.equal(g.blocks[0].text, text);
	});

	test('off by default: the provider without the key passes the text on', T, async () => {
		fake.json(completion({ content: FORMS[0].text }));
		const r = await proxy.post('/v1/messages', body('norepair'));
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.stop_reason, 'end_turn');
		assert.equal(r.json.content[0].text, FORMS[0].text);
	});

	test('proper tool_calls are never touched', T, async () => {
		fake.json(completion({ content: 'ok', finish: 'tool_calls', tool_calls: [
			{ id: 'call_1', type: 'function', function: { name: 'Read', arguments: '{"file_path":"/x"}' } }] }));
		const r = await proxy.post('/v1/messages', body('qwen'));
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(r.json.content.map((b) => [b.type, b.id ?? b.text]), [['text', 'ok'], ['tool_use', 'call_1']]);
	});

	const BROKEN = 'Running.\n<tool_call>{"name": "Bash", "arguments": {"command": "ls" "-l"}}</tool_call>';
	test('beyond repair, plain: 502 api_error naming the tool', T, async () => {
		fake.json(completion({ content: BROKEN }));
		const r = await proxy.post('/v1/messages', body('qwen'));
		assert.equal(r.status, 502, r.text);
		assert.equal(r.json.type, 'error');
		assert.equal(r.json.error.type, 'api_error');
		assert.match(r.json.error.message, /tool call for "Bash" as text whose arguments are not JSON/);
	});

	test('beyond repair, streamed: the error event, the text block left open', T, async () => {
		fake.stream(streamOf(BROKEN));
		const r = await proxy.stream(body('qwen'));
		assert.equal(r.status, 200);
		const evs = r.events.filter((e) => e.event !== 'ping');
		const last = evs[evs.length - 1];
		assert.equal(last.event, 'error');
		assert.equal(last.data.error.type, 'api_error');
		assert.ok(!evs.some((e) => e.event === 'content_block_stop' || e.event === 'message_delta'));
		checkStreamGrammar(r.events, { expectComplete: false });
	});

	test('the SDK reads a repaired stream: finalMessage() has the tool_use', T, async () => {
		fake.stream(streamOf(FORMS[1].text, 11));
		const client = new Anthropic({ baseURL: proxy.url, apiKey: 'x', maxRetries: 0, timeout: 15000 });
		const msg = await client.messages.stream(body('qwen')).finalMessage();
		assert.equal(msg.stop_reason, 'tool_use');
		assert.deepEqual(msg.content.map((b) => [b.type, b.name, b.input]), FORMS[1].calls.map(([n, i]) => ['tool_use', n, i]));
	});
});
