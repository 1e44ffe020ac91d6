// Non-streaming /v1/messages end to end: what the upstream is sent, what the
// client gets back, and every upstream failure (issue 2: Translation).

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { startFakeUpstream, completion, closedPort, textOf, maxTokensOf, chunk } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, msgBody, errorEnvelope, teardown, checkStreamGrammar } from './lib/proxy.mjs';

const T = { timeout: 15000 };

const CONTEXT_RE = /^input length and `max_tokens` exceed context limit: (\d+) \+ (\d+) > (\d+), decrease input length or `max_tokens` and try again$/;
const TOO_LONG_RE = /^prompt is too long: (\d+) tokens > (\d+) maximum$/;

describe('non-streaming messages', { timeout: 300000 }, () => {
	let fake, proxy, deadPort;

	before(async () => {
		fake = await startFakeUpstream();
		deadPort = await closedPort();
		const cfg = baseConfig(fake.url);
		cfg.providers[0].top_k = false;
		cfg.providers[0].pdf = false;
		cfg.providers[0].models.push({ id: 'thinker', remote_id: 'remote-thinker', reasoning: true },
			{ id: 'pdfchain', remote_id: 'remote-nopdf' }, { id: 'nopdfchain', remote_id: 'remote-nopdf' });
		cfg.providers.push(
			{ name: 'v1style', base_url: `${fake.url}/v1`, api_key: 'sk-v1-key', top_k: true, pdf: true, strip_attribution: false,
				models: [{ id: 'v1m', remote_id: 'remote-v1m' }, { id: 'pdfchain', remote_id: 'remote-pdf' }] },
			{ name: 'deadprov', base_url: `http://127.0.0.1:${deadPort}`, api_key: 'sk-dead',
				models: [{ id: 'deadmodel' }, { id: 'nopdfchain' }] },
		);
		proxy = await startProxy({ config: cfg });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	async function roundTrip(body, answer = completion({ content: 'ok' })) {
		fake.json(answer);
		const r = await proxy.post('/v1/messages', body);
		return { r, up: fake.requests.at(-1) };
	}

	// ---- request side -----------------------------------------------------

	test('plain text: model -> remote_id, provider key, path, body', T, async () => {
		const { r, up } = await roundTrip(msgBody({ messages: [{ role: 'user', content: 'hello upstream' }] }),
			completion({ content: 'Hi there', usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } }));
		assert.equal(r.status, 200, r.text);
		assert.equal(up.method, 'POST');
		assert.equal(up.url, '/v1/chat/completions');
		assert.equal(up.headers.authorization, 'Bearer sk-fake-upstream-key');
		assert.match(up.headers['content-type'] ?? '', /^application\/json/);
		assert.equal(up.json.model, 'remote-glm');
		assert.ok(!up.json.stream, 'non-stream request sent upstream as a stream');
		assert.equal(maxTokensOf(up.json), 256);
		assert.equal(up.json.messages.length, 1);
		assert.equal(up.json.messages[0].role, 'user');
		assert.equal(textOf(up.json.messages[0].content), 'hello upstream');

		const m = r.json;
		assert.match(m.id, /^msg_[A-Za-z0-9]{8,}/);
		assert.equal(m.type, 'message');
		assert.equal(m.role, 'assistant');
		assert.equal(m.model, 'glm', 'model must be what the client asked for');
		assert.deepEqual(m.content, [{ type: 'text', text: 'Hi there' }]);
		assert.equal(m.stop_reason, 'end_turn');
		assert.equal(m.stop_sequence, null);
		assert.equal(m.usage.input_tokens, 9);
		assert.equal(m.usage.output_tokens, 3);
	});

	test('message ids are unique', T, async () => {
		const a = (await roundTrip(msgBody())).r.json.id;
		const b = (await roundTrip(msgBody())).r.json.id;
		assert.notEqual(a, b);
	});

	test('remote_id defaults to id', T, async () => {
		const { r, up } = await roundTrip(msgBody({ model: 'plain' }));
		assert.equal(r.status, 200, r.text);
		assert.equal(up.json.model, 'plain');
	});

	test('base_url ending in /v1 is not doubled; that provider key is used', T, async () => {
		const { r, up } = await roundTrip(msgBody({ model: 'v1m' }));
		assert.equal(r.status, 200, r.text);
		assert.equal(up.url, '/v1/chat/completions');
		assert.equal(up.headers.authorization, 'Bearer sk-v1-key');
		assert.equal(up.json.model, 'remote-v1m');
	});

	test('aliases route Claude Code model names; response model echoes the request', T, async () => {
		const cases = [
			['claude-3-5-haiku-20241022', 'remote-mini'],
			['claude-haiku-4-5-20251001', 'remote-mini'],
			['claude-sonnet-4-5-20250929', 'remote-glm'],
			['claude-opus-4-1-20250805', 'remote-glm'],
		];
		for (const [name, remote] of cases) {
			const { r, up } = await roundTrip(msgBody({ model: name }));
			assert.equal(r.status, 200, `${name}: ${r.text}`);
			assert.equal(up.json.model, remote, name);
			assert.equal(r.json.model, name);
		}
	});

	test('unknown model is 404 not_found_error naming the available ids', T, async () => {
		const r = await proxy.post('/v1/messages', msgBody({ model: 'gpt-nothing' }));
		assert.equal(r.status, 404);
		const e = errorEnvelope(r);
		assert.equal(e.error.type, 'not_found_error');
		for (const id of ['glm', 'mini', 'v1m']) assert.ok(e.error.message.includes(id), `message lacks ${id}: ${e.error.message}`);
		assert.equal(fake.requests.length, 0);
		// count_tokens answers the same, as Anthropic's API does
		const c = await proxy.post('/v1/messages/count_tokens', { model: 'gpt-nothing', messages: [{ role: 'user', content: 'x' }] });
		assert.equal(c.status, 404, c.text);
		assert.deepEqual(errorEnvelope(c).error, e.error);
		const alias = await proxy.post('/v1/messages/count_tokens', { model: 'claude-3-5-haiku-20241022', messages: [{ role: 'user', content: 'x' }] });
		assert.equal(alias.status, 200, 'an alias is a known model');
	});

	test('max_tokens is clamped by the model cap, kept below it', T, async () => {
		let { up } = await roundTrip(msgBody({ max_tokens: 32000 }));
		assert.equal(maxTokensOf(up.json), 8192);
		({ up } = await roundTrip(msgBody({ model: 'claude-haiku-4-5', max_tokens: 32000 })));
		assert.equal(maxTokensOf(up.json), 4096);
		({ up } = await roundTrip(msgBody({ max_tokens: 100 })));
		assert.equal(maxTokensOf(up.json), 100);
		({ up } = await roundTrip(msgBody({ model: 'plain', max_tokens: 32000 })));
		assert.equal(maxTokensOf(up.json), 32000, 'no cap configured: passed through');
	});

	test('system string becomes one leading system message', T, async () => {
		const { up } = await roundTrip(msgBody({ system: 'You are terse.' }));
		assert.equal(up.json.messages[0].role, 'system');
		assert.equal(textOf(up.json.messages[0].content), 'You are terse.');
		assert.equal(up.json.messages.filter((m) => m.role === 'system').length, 1);
		assert.equal(up.json.messages[1].role, 'user');
	});

	test('system text blocks with cache_control fold into one system message', T, async () => {
		const { up } = await roundTrip(msgBody({
			system: [
				{ type: 'text', text: 'SYS-PART-ONE', cache_control: { type: 'ephemeral' } },
				{ type: 'text', text: 'SYS-PART-TWO', cache_control: { type: 'ephemeral', ttl: '1h' } },
			],
		}));
		const sys = up.json.messages.filter((m) => m.role === 'system');
		assert.equal(sys.length, 1);
		assert.equal(up.json.messages[0].role, 'system');
		const t = textOf(sys[0].content);
		assert.ok(t.indexOf('SYS-PART-ONE') >= 0 && t.indexOf('SYS-PART-TWO') > t.indexOf('SYS-PART-ONE'), t);
		assert.ok(!up.rawBody.includes('cache_control'), 'cache_control leaked upstream');
	});

	test('Claude Code\'s attribution line leaves the system prompt unless the provider keeps it', T, async () => {
		const HEADER = 'x-anthropic-billing-header: cc_version=2.1.332.441; cc_entrypoint=sdk-cli;';
		const system = [
			{ type: 'text', text: HEADER },
			{ type: 'text', text: 'You are a Claude agent, built on Anthropic\'s Claude Agent SDK.', cache_control: { type: 'ephemeral' } },
			{ type: 'text', text: '\nYou are an agent working with the user toward their goals.' },
		];
		let { r, up } = await roundTrip(msgBody({ system }));
		assert.equal(r.status, 200, r.text);
		assert.equal(up.json.messages[0].role, 'system');
		assert.ok(!up.rawBody.includes('x-anthropic-billing-header'), 'attribution line forwarded');
		assert.match(up.json.messages[0].content, /^You are a Claude agent/);
		({ r, up } = await roundTrip(msgBody({ model: 'v1m', system })));
		assert.equal(r.status, 200, r.text);
		assert.ok(up.json.messages[0].content.startsWith(HEADER), 'strip_attribution:false keeps the line');
	});

	test('role:system messages inside messages never follow a user/assistant message upstream', T, async () => {
		const { r, up } = await roundTrip(msgBody({
			system: 'TOP-SYSTEM',
			messages: [
				{ role: 'user', content: 'first question' },
				{ role: 'assistant', content: 'first answer' },
				{ role: 'system', content: 'MID-CONVERSATION-SYSTEM' },
				{ role: 'user', content: [{ type: 'text', text: 'second question' }] },
			],
		}));
		assert.equal(r.status, 200, r.text);
		const msgs = up.json.messages;
		const firstOther = msgs.findIndex((m) => m.role !== 'system');
		msgs.forEach((m, i) => {
			if (m.role === 'system') assert.ok(i < firstOther, `system message at ${i} after a ${msgs[firstOther].role} message`);
		});
		assert.ok(up.rawBody.includes('MID-CONVERSATION-SYSTEM'), 'mid-conversation system text was dropped');
		assert.ok(up.rawBody.includes('TOP-SYSTEM'));
		assert.equal(textOf(msgs.at(-1).content).includes('second question'), true);
		assert.deepEqual(msgs.filter((m) => m.role !== 'system').map((m) => m.role), ['user', 'assistant', 'user']);
	});

	test('tools map to functions, schema to parameters', T, async () => {
		const schema = {
			$schema: 'https://json-schema.org/draft/2020-12/schema',
			type: 'object',
			properties: { command: { type: 'string' }, mode: { anyOf: [{ const: 'a' }, { const: 'b' }] } },
			required: ['command'],
			additionalProperties: false,
		};
		const { r, up } = await roundTrip(msgBody({
			tools: [
				{ name: 'Bash', description: 'Run a shell command', input_schema: schema },
				{ name: 'Read', description: 'Read a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } },
			],
		}));
		assert.equal(r.status, 200, r.text);
		assert.equal(up.json.tools.length, 2);
		assert.deepEqual(up.json.tools[0], {
			type: 'function',
			function: { name: 'Bash', description: 'Run a shell command', parameters: up.json.tools[0].function.parameters },
		});
		assert.deepEqual(up.json.tools[0].function.parameters.properties, schema.properties);
		assert.deepEqual(up.json.tools[0].function.parameters.required, ['command']);
		assert.equal(up.json.tools[1].function.name, 'Read');
	});

	test('server tools without input_schema are dropped, not fatal', T, async () => {
		const { r, up } = await roundTrip(msgBody({
			tools: [
				{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
				{ name: 'Read', input_schema: { type: 'object', properties: {} } },
			],
		}));
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(up.json.tools.map((t) => t.function.name), ['Read']);
	});

	test('deferred tools go upstream once a tool_reference loads them; the reference reads as text', T, async () => {
		const schema = { type: 'object', properties: { url: { type: 'string' } } };
		const tools = [
			{ name: 'ToolSearch', input_schema: { type: 'object', properties: { query: { type: 'string' } } } },
			{ name: 'WebFetch', input_schema: schema, defer_loading: true },
			{ name: 'CronCreate', input_schema: schema, defer_loading: true },
		];
		const first = await roundTrip(msgBody({ tools, messages: [{ role: 'user', content: 'fetch it' }] }));
		assert.equal(first.r.status, 200, first.r.text);
		assert.deepEqual(first.up.json.tools.map((t) => t.function.name), ['ToolSearch'],
			'a deferred tool is not in the model\'s context before it is loaded');
		assert.ok(!first.up.rawBody.includes('defer_loading'));

		const { r, up } = await roundTrip(msgBody({ tools, messages: [
			{ role: 'user', content: 'fetch it' },
			{ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_S', name: 'ToolSearch', input: { query: 'select:WebFetch' } }] },
			{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_S', content: [{ type: 'tool_reference', tool_name: 'WebFetch' }] }] },
		] }));
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(up.json.tools.map((t) => t.function.name), ['ToolSearch', 'WebFetch']);
		assert.deepEqual(up.json.tools[1].function.parameters, schema);
		const tool = up.json.messages.find((m) => m.role === 'tool');
		assert.equal(tool.content, 'Tool WebFetch loaded; it can now be called.');
	});

	test('tool_choice auto / any / tool / none', T, async () => {
		const tools = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
		const expect = [
			[{ type: 'auto' }, 'auto'],
			[{ type: 'any' }, 'required'],
			[{ type: 'tool', name: 'get_weather' }, { type: 'function', function: { name: 'get_weather' } }],
			[{ type: 'none' }, 'none'],
		];
		for (const [choice, want] of expect) {
			const { r, up } = await roundTrip(msgBody({ tools, tool_choice: choice }));
			assert.equal(r.status, 200, r.text);
			assert.deepEqual(up.json.tool_choice, want, JSON.stringify(choice));
		}
	});

	test('disable_parallel_tool_use -> parallel_tool_calls:false', T, async () => {
		const tools = [{ name: 't', input_schema: { type: 'object', properties: {} } }];
		const { up } = await roundTrip(msgBody({ tools, tool_choice: { type: 'auto', disable_parallel_tool_use: true } }));
		assert.equal(up.json.parallel_tool_calls, false);
	});

	test('stop_sequences, temperature, top_p, metadata.user_id map; top_k only where accepted', T, async () => {
		const extra = { stop_sequences: ['STOP1', 'STOP2'], temperature: 0.3, top_p: 0.9, top_k: 40,
			metadata: { user_id: 'user-abc-123' } };
		let { up } = await roundTrip(msgBody(extra));
		assert.deepEqual(up.json.stop, ['STOP1', 'STOP2']);
		assert.equal(up.json.temperature, 0.3);
		assert.equal(up.json.top_p, 0.9);
		assert.equal(up.json.user, 'cp_' + createHash('sha256').update('user-abc-123').digest('hex').slice(0, 32));
		assert.equal(up.json.top_k, undefined, 'top_k sent to a provider without top_k');
		({ up } = await roundTrip(msgBody({ ...extra, model: 'v1m' })));
		assert.equal(up.json.top_k, 40, 'top_k dropped for a provider with top_k');
		assert.equal(up.rawBody.includes('metadata'), false, 'Anthropic metadata object leaked upstream');
	});

	test('thinking -> reasoning_effort only for models with reasoning', T, async () => {
		const thinking = { type: 'enabled', budget_tokens: 4000 };
		let { r, up } = await roundTrip(msgBody({ model: 'thinker', max_tokens: 8000, thinking }));
		assert.equal(r.status, 200, r.text);
		assert.equal(typeof up.json.reasoning_effort, 'string', 'reasoning model did not get reasoning_effort');
		({ r, up } = await roundTrip(msgBody({ max_tokens: 8000, thinking })));
		assert.equal(r.status, 200, r.text);
		assert.equal(up.json.reasoning_effort, undefined);
		assert.equal(up.json.thinking, undefined, 'Anthropic thinking object leaked upstream');
		({ r, up } = await roundTrip(msgBody({ model: 'thinker', thinking: { type: 'adaptive' },
			output_config: { effort: 'high' } })));
		assert.equal(r.status, 200, r.text);
	});

	test('metadata.user_id: Claude Code\'s 150-character JSON -> a stable user of at most 64 characters', T, async () => {
		const uid = (session) => JSON.stringify({ device_id: 'b755ef8a8cec46301f6531ba60abeb40f95e02cb83a651e9951f34072bc57216',
			account_uuid: '', session_id: session });
		assert.ok(uid('f92e304e-90e8-4449-b410-7a4b0111a41c').length > 128);
		const a = (await roundTrip(msgBody({ metadata: { user_id: uid('f92e304e-90e8-4449-b410-7a4b0111a41c') } }))).up.json.user;
		const b = (await roundTrip(msgBody({ metadata: { user_id: uid('0badcafe-90e8-4449-b410-7a4b0111a41c') } }))).up.json.user;
		assert.match(a, /^cp_[0-9a-f]{32}$/);
		assert.equal(a, b, 'one device is one user, whatever the session');
		const c = (await roundTrip(msgBody({ metadata: { user_id: 'someone-else' } }))).up.json.user;
		assert.notEqual(a, c);
	});

	test('Claude Code extras (context_management, output_config) are accepted', T, async () => {
		const { r } = await roundTrip(msgBody({
			context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
			output_config: { effort: 'medium' },
			metadata: { user_id: 'u' },
		}));
		assert.equal(r.status, 200, r.text);
	});

	test('assistant tool_use + user tool_result -> tool_calls and tool messages', T, async () => {
		const { r, up } = await roundTrip(msgBody({
			messages: [
				{ role: 'user', content: 'weather in Paris and Rome?' },
				{ role: 'assistant', content: [
					{ type: 'text', text: 'Checking both.' },
					{ type: 'tool_use', id: 'toolu_A', name: 'get_weather', input: { city: 'Paris' } },
					{ type: 'tool_use', id: 'toolu_B', name: 'get_weather', input: { city: 'Rome', units: ['c'] } },
				] },
				{ role: 'user', content: [
					// completion order (B first), not call order
					{ type: 'tool_result', tool_use_id: 'toolu_B', content: [{ type: 'text', text: 'ROME-RESULT' }] },
					{ type: 'tool_result', tool_use_id: 'toolu_A', content: 'PARIS-RESULT' },
					{ type: 'text', text: 'and summarise' },
				] },
			],
		}));
		assert.equal(r.status, 200, r.text);
		const msgs = up.json.messages;
		assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'tool', 'tool', 'user']);
		const a = msgs[1];
		assert.equal(textOf(a.content), 'Checking both.');
		assert.equal(a.tool_calls.length, 2);
		assert.deepEqual(a.tool_calls.map((c) => c.id), ['toolu_A', 'toolu_B']);
		for (const c of a.tool_calls) {
			assert.equal(c.type, 'function');
			assert.equal(c.function.name, 'get_weather');
			assert.equal(typeof c.function.arguments, 'string');
		}
		assert.deepEqual(JSON.parse(a.tool_calls[0].function.arguments), { city: 'Paris' });
		assert.deepEqual(JSON.parse(a.tool_calls[1].function.arguments), { city: 'Rome', units: ['c'] });
		assert.equal(msgs[2].tool_call_id, 'toolu_A', 'tool messages must follow call order');
		assert.ok(textOf(msgs[2].content).includes('PARIS-RESULT'));
		assert.equal(msgs[3].tool_call_id, 'toolu_B');
		assert.ok(textOf(msgs[3].content).includes('ROME-RESULT'));
		assert.equal(textOf(msgs[4].content), 'and summarise');
	});

	test('no two user or assistant messages in a row upstream: thinking-only turns and mid-conversation system merge away', T, async () => {
		const { r, up } = await roundTrip(msgBody({
			messages: [
				{ role: 'user', content: 'U1' },
				{ role: 'assistant', content: [{ type: 'thinking', thinking: 'only thinking', signature: 's' }] },
				{ role: 'user', content: [{ type: 'text', text: 'U2' },
					{ type: 'image', source: { type: 'url', url: 'https://example.com/i.png' } }] },
				{ role: 'system', content: 'mid-conversation note' },
				{ role: 'user', content: 'U3' },
				{ role: 'assistant', content: 'A1' },
				{ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_M', name: 'Read', input: {} }] },
				{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_M', content: 'R' }] },
			],
		}));
		assert.equal(r.status, 200, r.text);
		const msgs = up.json.messages;
		assert.deepEqual(msgs.map((m) => m.role), ['system', 'user', 'assistant', 'tool']);
		for (let i = 1; i < msgs.length; i++) {
			assert.ok(msgs[i].role === 'tool' || msgs[i].role !== msgs[i - 1].role, `two ${msgs[i].role} messages in a row`);
		}
		assert.deepEqual(msgs[1].content.map((p) => p.type), ['text', 'text', 'image_url', 'text']);
		assert.deepEqual(msgs[1].content.filter((p) => p.type === 'text').map((p) => p.text), ['U1', 'U2', 'U3']);
		assert.equal(msgs[2].content, 'A1');
		assert.equal(msgs[2].tool_calls[0].id, 'toolu_M');
	});

	test('a tool_use without a tool_result gets a placeholder tool message', T, async () => {
		const { r, up } = await roundTrip(msgBody({
			messages: [
				{ role: 'user', content: 'go' },
				{ role: 'assistant', content: [
					{ type: 'tool_use', id: 'toolu_P1', name: 'Read', input: {} },
					{ type: 'tool_use', id: 'toolu_P2', name: 'Read', input: {} }] },
				{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_P2', content: 'second' },
					{ type: 'text', text: 'skip the first' }] },
			],
		}));
		assert.equal(r.status, 200, r.text);
		const msgs = up.json.messages;
		assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'tool', 'tool', 'user']);
		assert.deepEqual(msgs.slice(2, 4).map((m) => m.tool_call_id), ['toolu_P1', 'toolu_P2']);
		assert.equal(msgs[2].content, 'Error: the result of this tool call is missing.');
		assert.equal(msgs[3].content, 'second');
		const rid = r.headers.get('request-id').replace(/[^A-Za-z0-9_]/g, '\\$&');
		await proxy.waitForLog(new RegExp(`${rid} xlate: tool call "toolu_P1" has no result`));
	});

	test('tool_result is_error stays visible; no empty user message after tool results', T, async () => {
		const { r, up } = await roundTrip(msgBody({
			messages: [
				{ role: 'user', content: 'run it' },
				{ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_X', name: 'Bash', input: { command: 'false' } }] },
				{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_X', is_error: true, content: 'EXIT-CODE-1' }] },
			],
		}));
		assert.equal(r.status, 200, r.text);
		const msgs = up.json.messages;
		const tool = msgs.find((m) => m.role === 'tool');
		assert.ok(textOf(tool.content).includes('EXIT-CODE-1'));
		assert.match(textOf(tool.content), /error/i, 'is_error not visible in the tool message');
		for (const m of msgs) {
			if (m.role === 'user') assert.notEqual(textOf(m.content).trim(), '', 'empty user message sent upstream');
		}
		assert.equal(msgs.at(-1).role, 'tool');
	});

	test('image in a tool_result moves to a following user message', T, async () => {
		const png = Buffer.from('fake-png-bytes').toString('base64');
		const { r, up } = await roundTrip(msgBody({
			messages: [
				{ role: 'user', content: 'screenshot?' },
				{ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_S', name: 'Screenshot', input: {} }] },
				{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_S', content: [
					{ type: 'text', text: 'SHOT-TAKEN' },
					{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
				] }] },
			],
		}));
		assert.equal(r.status, 200, r.text);
		const msgs = up.json.messages;
		const ti = msgs.findIndex((m) => m.role === 'tool');
		assert.ok(textOf(msgs[ti].content).includes('SHOT-TAKEN'));
		const after = msgs.slice(ti + 1);
		const img = after.flatMap((m) => (m.role === 'user' && Array.isArray(m.content) ? m.content : []))
			.find((p) => p.type === 'image_url');
		assert.ok(img, 'image part not found in a user message after the tool message');
		assert.equal(img.image_url.url, `data:image/png;base64,${png}`);
	});

	test('image blocks: base64 -> data URL, url -> url', T, async () => {
		const { r, up } = await roundTrip(msgBody({
			messages: [{ role: 'user', content: [
				{ type: 'text', text: 'what is this' },
				{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/AAAA' } },
				{ type: 'image', source: { type: 'url', url: 'https://example.invalid/cat.png' } },
			] }],
		}));
		assert.equal(r.status, 200, r.text);
		const parts = up.json.messages[0].content;
		assert.ok(Array.isArray(parts));
		const imgs = parts.filter((p) => p.type === 'image_url');
		assert.deepEqual(imgs.map((p) => p.image_url.url), ['data:image/jpeg;base64,/9j/AAAA', 'https://example.invalid/cat.png']);
		assert.ok(parts.some((p) => p.type === 'text' && p.text === 'what is this'));
	});

	test('plain-text document becomes text', T, async () => {
		const { r, up } = await roundTrip(msgBody({
			messages: [{ role: 'user', content: [
				{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'DOC-BODY-TEXT' } },
				{ type: 'text', text: 'summarise' },
			] }],
		}));
		assert.equal(r.status, 200, r.text);
		assert.ok(textOf(up.json.messages[0].content).includes('DOC-BODY-TEXT'));
	});

	test('PDF document: clear 400 where the provider takes no files, forwarded where it does', T, async () => {
		const pdf = Buffer.from('%PDF-1.4 fake').toString('base64');
		const body = msgBody({ messages: [{ role: 'user', content: [
			{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } },
			{ type: 'text', text: 'read it' },
		] }] });
		const r = await proxy.post('/v1/messages', body);
		assert.equal(r.status, 400, r.text);
		const e = errorEnvelope(r);
		assert.equal(e.error.type, 'invalid_request_error');
		assert.match(e.error.message, /pdf|document|file/i);
		assert.equal(fake.requests.length, 0);

		const ok = await roundTrip({ ...body, model: 'v1m' });
		assert.equal(ok.r.status, 200, ok.r.text);
		assert.ok(ok.up.rawBody.includes(pdf), 'PDF data not forwarded to a pdf provider');
	});

	test('PDF in a fallback chain: a provider without pdf passes the request to the next', T, async () => {
		const pdf = Buffer.from('%PDF-1.4 chain').toString('base64');
		const body = (model) => msgBody({ model, messages: [{ role: 'user', content: [
			{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } },
			{ type: 'text', text: 'read it' },
		] }] });
		const { r, up } = await roundTrip(body('pdfchain'));
		assert.equal(r.status, 200, r.text);
		assert.equal(fake.requests.length, 1);
		assert.equal(up.json.model, 'remote-pdf', 'the second provider, which takes PDFs, serves it');
		assert.equal(up.headers.authorization, 'Bearer sk-v1-key');
		assert.ok(up.rawBody.includes(pdf));
		const rid = r.headers.get('request-id').replace(/[^A-Za-z0-9_]/g, '\\$&');
		await proxy.waitForLog(new RegExp(`${rid} provider fake cannot take this request, trying the next one`));

		fake.reset();
		const plain = await roundTrip(msgBody({ model: 'pdfchain' }));
		assert.equal(plain.up.json.model, 'remote-nopdf', 'without a PDF the chain starts at its first provider');

		fake.reset();
		const none = await proxy.post('/v1/messages', body('nopdfchain'));
		assert.equal(none.status, 400, none.text);
		assert.equal(errorEnvelope(none).error.message, 'messages[0].content[0]: the provider for this model (fake) '
			+ 'does not accept PDF documents; send the text instead');
		assert.equal(fake.requests.length, 0);
	});

	test('assistant thinking -> reasoning_content; redacted_thinking and unknown blocks skipped', T, async () => {
		const { r, up } = await roundTrip(msgBody({
			messages: [
				{ role: 'user', content: 'q1' },
				{ role: 'assistant', content: [
					{ type: 'thinking', thinking: 'PRIOR-REASONING', signature: 'sig123' },
					{ type: 'redacted_thinking', data: 'REDACTED-BLOB' },
					{ type: 'text', text: 'calling' },
					{ type: 'tool_use', id: 'toolu_T', name: 'Read', input: { path: '/x' } },
					{ type: 'some_future_block', foo: 1 },
				] },
				{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_T', content: 'file body' }] },
			],
		}));
		assert.equal(r.status, 200, r.text);
		const a = up.json.messages.find((m) => m.role === 'assistant');
		assert.equal(a.reasoning_content, 'PRIOR-REASONING');
		assert.ok(!up.rawBody.includes('REDACTED-BLOB'));
		assert.ok(!up.rawBody.includes('some_future_block'));
		assert.equal(a.tool_calls[0].id, 'toolu_T');
		// every drop is logged, with the request id (issue 10, items 13 and 19)
		const rid = r.headers.get('request-id');
		const esc = rid.replace(/[^A-Za-z0-9_]/g, '\\$&');
		await proxy.waitForLog(new RegExp(`${esc} xlate: messages\\[1\\]\\.content\\[1\\]: redacted_thinking block dropped`));
		await proxy.waitForLog(new RegExp(`${esc} xlate: messages\\[1\\]\\.content\\[4\\]: some_future_block block dropped`));
	});

	test('server tool calls, their results and search results in the history reach the model as text', T, async () => {
		const { r, up } = await roundTrip(msgBody({
			messages: [
				{ role: 'user', content: 'news?' },
				{ role: 'assistant', content: [
					{ type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'QUERY-RAN-77' } },
					{ type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [
						{ type: 'web_search_result', url: 'https://example.com/r1', title: 'TITLE-ONE', encrypted_content: 'ENCRYPTED-BLOB' }] },
					{ type: 'text', text: 'Found one.' },
				] },
				{ role: 'user', content: [
					{ type: 'search_result', source: 'https://kb.example/9', title: 'KB-TITLE', content: [{ type: 'text', text: 'KB-TEXT' }] },
					{ type: 'text', text: 'and this?' },
				] },
			],
		}));
		assert.equal(r.status, 200, r.text);
		const a = up.json.messages.find((m) => m.role === 'assistant');
		assert.match(a.content, /web_search \{"query":"QUERY-RAN-77"\}/);
		assert.match(a.content, /TITLE-ONE\n +https:\/\/example\.com\/r1/);
		assert.match(a.content, /Found one\.$/);
		assert.ok(!up.rawBody.includes('ENCRYPTED-BLOB'), 'encrypted page content means nothing upstream');
		const u = up.json.messages.at(-1);
		assert.equal(u.role, 'user');
		assert.match(textOf(u.content), /KB-TITLE[\s\S]*https:\/\/kb\.example\/9[\s\S]*KB-TEXT[\s\S]*and this\?/);
	});

	// ---- response side ----------------------------------------------------

	test('tool_calls -> tool_use blocks with parsed input and sanitised ids', T, async () => {
		const { r } = await roundTrip(msgBody(), completion({
			content: 'Let me check.',
			tool_calls: [
				{ id: 'call:abc.1/x', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","days":[1,2]}' } },
				{ id: 'call_2', type: 'function', function: { name: 'Read', arguments: '{}' } },
			],
			finish: 'tool_calls',
		}));
		assert.equal(r.status, 200, r.text);
		const c = r.json.content;
		assert.deepEqual(c.map((b) => b.type), ['text', 'tool_use', 'tool_use']);
		assert.equal(c[0].text, 'Let me check.');
		assert.match(c[1].id, /^[A-Za-z0-9_-]+$/);
		assert.equal(c[1].name, 'get_weather');
		assert.deepEqual(c[1].input, { city: 'Paris', days: [1, 2] });
		assert.equal(c[2].id, 'call_2');
		assert.deepEqual(c[2].input, {});
		assert.equal(r.json.stop_reason, 'tool_use');
	});

	test('unparseable tool arguments are a clear error, never a silent {}', T, async () => {
		const { r } = await roundTrip(msgBody(), completion({
			tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'x', arguments: '{"city": "Par' } }],
			finish: 'tool_calls',
		}));
		assert.ok(r.status >= 500, `expected an error status, got ${r.status}: ${r.text}`);
		errorEnvelope(r);
	});

	test('reasoning_content -> leading thinking block', T, async () => {
		const { r } = await roundTrip(msgBody(), completion({ content: 'The answer is 4.', reasoning: 'two plus two' }));
		assert.equal(r.status, 200, r.text);
		const c = r.json.content;
		assert.equal(c[0].type, 'thinking');
		assert.equal(c[0].thinking, 'two plus two');
		assert.equal(typeof c[0].signature, 'string');
		assert.deepEqual(c[1], { type: 'text', text: 'The answer is 4.' });
	});

	test('thinking signatures: one format for plain answers and streams', T, async () => {
		const SIG = /^cpsig_[A-Za-z0-9]{32}$/;
		const { r } = await roundTrip(msgBody(), completion({ content: 'x', reasoning: 'plain thought' }));
		assert.equal(r.status, 200, r.text);
		assert.match(r.json.content[0].signature, SIG);
		fake.stream([chunk({ role: 'assistant', reasoning_content: 'streamed thought' }), chunk({ content: 'x' }),
			chunk({}, { finish: 'stop' })]);
		const s = await proxy.stream(msgBody());
		assert.equal(s.status, 200, s.raw);
		assert.match(checkStreamGrammar(s.events).blocks[0].signature, SIG);
	});

	test('stop reasons: length -> max_tokens, content_filter -> refusal, stop -> end_turn', T, async () => {
		for (const [finish, want] of [['length', 'max_tokens'], ['content_filter', 'refusal'], ['stop', 'end_turn']]) {
			const { r } = await roundTrip(msgBody(), completion({ content: 'x', finish }));
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.stop_reason, want, finish);
		}
	});

	test('usage: an upstream that reports none gets estimates, as streams do, not zeros', T, async () => {
		const body = msgBody({ system: 'You answer briefly.', messages: [{ role: 'user', content: 'How far is the Moon from the Earth?' }] });
		const answer = completion({ content: 'About 384,400 km on average.' });
		delete answer.usage;
		const { r } = await roundTrip(body, answer);
		assert.equal(r.status, 200, r.text);
		const counted = await proxy.post('/v1/messages/count_tokens', { ...body, max_tokens: undefined });
		assert.equal(counted.status, 200, counted.text);
		assert.ok(r.json.usage.input_tokens > 0);
		assert.equal(r.json.usage.input_tokens, counted.json.input_tokens, 'the same local estimate as count_tokens');
		assert.equal(r.json.usage.output_tokens, Math.floor(('About 384,400 km on average.'.length + 3) / 4));
	});

	test('usage: cached tokens excluded from input_tokens, reported as cache_read', T, async () => {
		const { r } = await roundTrip(msgBody(), completion({ content: 'x', usage: {
			prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_tokens_details: { cached_tokens: 30 } } }));
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.usage.input_tokens, 70);
		assert.equal(r.json.usage.output_tokens, 20);
		assert.equal(r.json.usage.cache_read_input_tokens, 30);
		assert.equal(r.json.usage.cache_creation_input_tokens, 0);
	});

	// ---- upstream failures ------------------------------------------------

	test('upstream 429 -> 429 rate_limit_error with retry-after passed on', T, async () => {
		fake.json({ error: { message: 'Rate limit reached for requests', type: 'rate_limit_exceeded' } },
			{ status: 429, headers: { 'retry-after': '7' } });
		const r = await proxy.post('/v1/messages', msgBody());
		assert.equal(r.status, 429);
		const e = errorEnvelope(r);
		assert.equal(e.error.type, 'rate_limit_error');
		assert.equal(r.headers.get('retry-after'), '7');
		assert.equal(e.request_id, r.headers.get('request-id'));
	});

	test('upstream 400 -> 400 invalid_request_error carrying the upstream message', T, async () => {
		fake.json({ error: { message: 'Unsupported parameter: frobnicate', type: 'invalid_request_error' } }, { status: 400 });
		const r = await proxy.post('/v1/messages', msgBody());
		assert.equal(r.status, 400);
		const e = errorEnvelope(r);
		assert.equal(e.error.type, 'invalid_request_error');
		assert.ok(e.error.message.includes('Unsupported parameter: frobnicate'), e.error.message);
	});

	test('upstream 500 with a non-JSON body -> clean 5xx JSON envelope', T, async () => {
		fake.json('<html><body>502 Bad Gateway nginx</body></html>', { status: 500, headers: { 'content-type': 'text/html' } });
		const r = await proxy.post('/v1/messages', msgBody());
		assert.ok(r.status >= 500 && r.status < 600, `status ${r.status}`);
		assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
		const e = errorEnvelope(r);
		assert.equal(e.error.type === 'api_error' || e.error.type === 'overloaded_error', true, e.error.type);
	});

	test('upstream 200 with a non-JSON body -> 5xx envelope, not a crash', T, async () => {
		fake.json('this is not json', { status: 200, headers: { 'content-type': 'application/json' } });
		const r = await proxy.post('/v1/messages', msgBody());
		assert.ok(r.status >= 500, `status ${r.status}: ${r.text}`);
		errorEnvelope(r);
		// the worker survived
		fake.json(completion({ content: 'still alive' }));
		const ok = await proxy.post('/v1/messages', msgBody());
		assert.equal(ok.status, 200, ok.text);
	});

	test('upstream 401 is reported as the proxy configuration problem, not 401', T, async () => {
		fake.json({ error: { message: 'Incorrect API key provided: sk-fake***', type: 'invalid_request_error', code: 'invalid_api_key' } },
			{ status: 401 });
		const r = await proxy.post('/v1/messages', msgBody());
		assert.notEqual(r.status, 401, 'client would think its own key is wrong');
		assert.ok(r.status >= 500, `status ${r.status}`);
		const e = errorEnvelope(r);
		assert.notEqual(e.error.type, 'authentication_error');
		assert.match(e.error.message, /key|config|provider|upstream/i);
	});

	test('context-length error is rewritten to Anthropic wording', T, async () => {
		fake.json({ error: {
			message: "This model's maximum context length is 65536 tokens. However, you requested 70000 tokens (60000 in the messages, 10000 in the completion). Please reduce the length of the messages or completion.",
			type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } }, { status: 400 });
		const r = await proxy.post('/v1/messages', msgBody({ max_tokens: 8000 }));
		assert.equal(r.status, 400);
		const e = errorEnvelope(r);
		assert.equal(e.error.type, 'invalid_request_error');
		const m = e.error.message.match(CONTEXT_RE);
		const m2 = e.error.message.match(TOO_LONG_RE);
		assert.ok(m || m2, `not Anthropic's context wording: ${e.error.message}`);
		if (m) assert.equal(Number(m[3]), 65536, 'context limit from the upstream message');
		if (m2) assert.equal(Number(m2[2]), 65536);
	});

	test('connection refused -> 502 naming the provider', T, async () => {
		const r = await proxy.post('/v1/messages', msgBody({ model: 'deadmodel' }));
		assert.equal(r.status, 502);
		const e = errorEnvelope(r);
		assert.equal(e.error.type, 'api_error');
		assert.ok(e.error.message.includes('deadprov'), `provider not named: ${e.error.message}`);
		assert.ok(!e.error.message.includes('sk-dead'), 'provider key in the error message');
	});

	// ---- size and reuse ---------------------------------------------------

	test('a Claude Code-sized request (~300 KB, 25 tools) reaches the upstream intact', T, async () => {
		const big = Array.from({ length: 30000 }, (_, i) => `t${i}`).join(' ');	// ~200 KB, every token unique
		const tools = Array.from({ length: 25 }, (_, i) => ({
			name: `Tool${i}`,
			description: `Tool number ${i}. `.repeat(40),
			input_schema: {
				$schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object',
				properties: { arg: { type: 'string', description: 'x'.repeat(500) },
					mode: { anyOf: [{ const: 'a' }, { const: 'b' }] }, map: { type: 'object', propertyNames: { pattern: '^[a-z]+$' } } },
				required: ['arg'], additionalProperties: false,
			},
		}));
		const body = msgBody({ max_tokens: 32000, tools, system: [{ type: 'text', text: 'S'.repeat(20000), cache_control: { type: 'ephemeral' } }],
			messages: [{ role: 'user', content: [{ type: 'text', text: big, cache_control: { type: 'ephemeral' } }] }] });
		assert.ok(JSON.stringify(body).length > 250000);
		const { r, up } = await roundTrip(body);
		assert.equal(r.status, 200, r.text.slice(0, 500));
		assert.equal(up.json.tools.length, 25);
		assert.deepEqual(up.json.tools[24].function.parameters.properties.map, { type: 'object', propertyNames: { pattern: '^[a-z]+$' } });
		const user = up.json.messages.find((m) => m.role === 'user');
		assert.equal(textOf(user.content), big);
	});

	test('a large upstream answer (2 MB of text) comes back whole', T, async () => {
		const text = Array.from({ length: 250000 }, (_, i) => (i % 1000 === 0 ? '\n' : 'abcdefg'[i % 7])).join('') + 'é✓😀';
		const { r } = await roundTrip(msgBody(), completion({ content: text.repeat(8) }));
		assert.equal(r.status, 200);
		assert.equal(r.json.content[0].text, text.repeat(8));
	});

	test('unicode and escapes survive both directions', T, async () => {
		const s = 'Grüße 👋 "quoted" \\ back\\slash \u0001 ctrl\ttab\nnewline 中文 \u2028';
		const { r, up } = await roundTrip(msgBody({ messages: [{ role: 'user', content: s }] }), completion({ content: s }));
		assert.equal(r.status, 200, r.text);
		assert.equal(textOf(up.json.messages[0].content), s);
		assert.equal(r.json.content[0].text, s);
	});

	test('upstream connections are reused (keep-alive per worker)', T, async () => {
		const before = fake.connections;
		for (let i = 0; i < 12; i++) {
			const { r } = await roundTrip(msgBody());
			assert.equal(r.status, 200);
		}
		const opened = fake.connections - before;
		assert.ok(opened <= 4, `12 requests opened ${opened} upstream connections with 4 workers`);
	});

	test('concurrent requests beyond the worker count are all served', T, async () => {
		for (let i = 0; i < 12; i++) fake.json(completion({ content: 'concurrent' }));
		const rs = await Promise.all(Array.from({ length: 12 }, (_, i) =>
			proxy.post('/v1/messages', msgBody({ messages: [{ role: 'user', content: `req ${i}` }] }))));
		assert.deepEqual(rs.map((r) => r.status), Array(12).fill(200));
		assert.equal(fake.requests.length, 12);
		const seen = new Set(fake.requests.map((q) => textOf(q.json.messages[0].content)));
		assert.equal(seen.size, 12, 'requests were mixed up between workers');
	});

	// ---- count_tokens -----------------------------------------------------

	test('count_tokens: {input_tokens} grows with messages, system and tools; no upstream call', T, async () => {
		const base = { model: 'glm', messages: [{ role: 'user', content: 'hello' }] };
		const count = async (b) => {
			const r = await proxy.post('/v1/messages/count_tokens', b);
			assert.equal(r.status, 200, r.text);
			assert.deepEqual(Object.keys(r.json), ['input_tokens']);
			assert.ok(Number.isInteger(r.json.input_tokens) && r.json.input_tokens > 0, r.text);
			return r.json.input_tokens;
		};
		const n0 = await count(base);
		const long = 'lorem ipsum dolor sit amet '.repeat(200);
		const n1 = await count({ ...base, messages: [{ role: 'user', content: long }] });
		assert.ok(n1 > n0 + 200, `long message ${n1} vs short ${n0}`);
		const n2 = await count({ ...base, system: 'You are a meticulous assistant. '.repeat(50) });
		assert.ok(n2 > n0 + 50, `system not counted: ${n2} vs ${n0}`);
		const n3 = await count({ ...base, tools: [{ name: 'get_weather',
			description: 'Get the current weather for a city, with units and a forecast horizon in days.',
			input_schema: { type: 'object', properties: { city: { type: 'string', description: 'City name' },
				days: { type: 'integer' } }, required: ['city'] } }] });
		assert.ok(n3 > n0 + 10, `tools not counted: ${n3} vs ${n0}`);
		const n4 = await count({ ...base, messages: [
			{ role: 'user', content: 'hello' },
			{ role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Read', input: { path: '/etc/some/long/path/name.txt' } }] },
			{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'file contents '.repeat(40) }] },
		] });
		assert.ok(n4 > n0 + 40, `tool blocks not counted: ${n4} vs ${n0}`);
		assert.equal(fake.requests.length, 0, 'count_tokens must be a local estimate');
	});
});

describe('upstream timeout', { timeout: 60000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		proxy = await startProxy({ config: baseConfig(fake.url, { upstream_timeout_seconds: 1 }) });
	});
	after(() => teardown(proxy, fake));

	test('a hanging upstream -> 504 timeout_error naming the provider, upstream connection closed', T, async () => {
		const h = fake.enqueue({ hang: true });
		const start = Date.now();
		const r = await proxy.post('/v1/messages', msgBody());
		const took = Date.now() - start;
		assert.equal(r.status, 504, r.text);
		const e = errorEnvelope(r);
		assert.equal(e.error.type, 'timeout_error');
		assert.ok(e.error.message.includes('fake'), `provider not named: ${e.error.message}`);
		assert.ok(took >= 900 && took < 5000, `took ${took} ms with upstream_timeout_seconds 1`);
		const closed = await Promise.race([h.clientClosed, new Promise((r2) => setTimeout(() => r2(null), 3000))]);
		assert.ok(closed, 'proxy did not close the timed-out upstream connection');
	});
});

// An upstream proxy comes from the environment as curl(1) reads it; the
// worker reads it once, so it must still pick the right proxy (or none)
// for each provider, request after request.
describe('upstream through a proxy from the environment', { timeout: 60000 }, () => {
	let viaProxy, direct, proxy;
	before(async () => {
		viaProxy = await startFakeUpstream();	// plays the HTTP proxy
		direct = await startFakeUpstream();
		const cfg = baseConfig(direct.url, { max_workers: 1 });
		cfg.providers.push({ name: 'far', base_url: 'http://far-upstream.invalid/v1', api_key: 'sk-far',
			models: [{ id: 'far-model', remote_id: 'remote-far' }] });
		proxy = await startProxy({
			workers: 1, config: cfg,
			env: { http_proxy: viaProxy.url, no_proxy: '127.0.0.1', NO_PROXY: '',
				all_proxy: '', ALL_PROXY: '', https_proxy: '', HTTPS_PROXY: '' },
		});
	});
	after(() => teardown(proxy, viaProxy, direct));

	test('http_proxy carries a provider\'s requests; no_proxy hosts are reached directly', T, async () => {
		for (const model of ['far-model', 'glm', 'far-model', 'glm']) {
			const to = model === 'glm' ? direct : viaProxy;
			const before = [viaProxy.requests.length, direct.requests.length];
			to.json(completion({ content: `hello from ${model}` }));
			const r = await proxy.post('/v1/messages', msgBody({ model }));
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.content[0].text, `hello from ${model}`);
			assert.equal(viaProxy.requests.length - before[0], model === 'glm' ? 0 : 1, `${model}: requests through the proxy`);
			assert.equal(direct.requests.length - before[1], model === 'glm' ? 1 : 0, `${model}: direct requests`);
			const up = to.requests.at(-1);
			if (model === 'glm') {
				assert.equal(up.url, '/v1/chat/completions');
			} else {
				assert.equal(up.url, 'http://far-upstream.invalid/v1/chat/completions', 'not the absolute form a proxy gets');
				assert.equal(up.headers.host, 'far-upstream.invalid');
				assert.equal(up.headers.authorization, 'Bearer sk-far');
			}
		}
	});
});
