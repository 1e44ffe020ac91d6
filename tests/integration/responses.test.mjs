// Providers with api "responses" (issue 12): the real daemon against a fake
// OpenAI Responses API upstream, asserting what the client got and what the
// upstream was sent. Plain and streamed text, a tool call round trip,
// reasoning summaries as thinking with the encrypted reasoning going back
// through the signature, incomplete -> max_tokens, response.failed in the
// middle of a stream, a 429 and fallback to a Chat Completions provider of
// the same model before the first byte, the official SDK's finalMessage(),
// and tool schemas in the gemini dialect for both kinds.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

import {
	startFakeUpstream, textStreamChunks, completion, respMessage, respCall, respReasoning, responseBody,
	respEvent, respStreamEvents, respItemDeltas,
} from './lib/fake-upstream.mjs';
import fs from 'node:fs';
import path from 'node:path';

import {
	startProxy, baseConfig, checkStreamGrammar, errorEnvelope, teardown, runBinary, mkTmpDir,
} from './lib/proxy.mjs';
import { findClaude, runClaudePrompt } from './lib/claude-code.mjs';

const T = { timeout: 20000 };

const weatherTool = {
	name: 'get_weather',
	description: 'Current weather for a city',
	input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

// what Claude Code's tool schemas look like: JSON Schema 2020-12
const strictTool = {
	name: 'count',
	description: 'Count things',
	input_schema: {
		$schema: 'https://json-schema.org/draft/2020-12/schema',
		type: 'object',
		properties: {
			n: { type: 'integer', exclusiveMinimum: 0 },
			tags: { type: 'object', propertyNames: { pattern: '^[a-z]+$' }, additionalProperties: { type: 'string' } },
		},
		required: ['n'],
		additionalProperties: false,
	},
};

function config(url) {
	const cfg = baseConfig(url, { stream_ping_seconds: 1, stream_idle_timeout_seconds: 5 });
	cfg.providers = [
		{
			name: 'resp', base_url: url, api: 'responses', api_key: 'sk-fake-responses-key',
			models: [
				{ id: 'gpt', remote_id: 'remote-gpt', max_tokens: 8192 },
				{ id: 'thinker', remote_id: 'remote-thinker', reasoning: true },
				{ id: 'both', remote_id: 'remote-both-resp' },
			],
		},
		// the same model after it, spoken to in Chat Completions
		{ name: 'chat', base_url: url, api_key: 'sk-fake-chat-key', models: [{ id: 'both', remote_id: 'remote-both-chat' }] },
		// strict schema dialects, one of each kind; v1 in base_url: no second /v1
		{ name: 'gem', base_url: url + '/v1', schema: 'gemini', api_key: '', models: [{ id: 'gem' }] },
		{ name: 'gemr', base_url: url + '/v1', api: 'responses', schema: 'gemini', api_key: '', models: [{ id: 'gemr' }] },
	];
	return cfg;
}

function body(extra = {}) {
	return { model: 'gpt', max_tokens: 256, messages: [{ role: 'user', content: 'hello' }], ...extra };
}

describe('api "responses"', { timeout: 300000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		proxy = await startProxy({ config: config(fake.url) });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	test('plain text: /v1/responses asked with instructions, input items and store false; usage with cache', T, async () => {
		fake.json(responseBody({ output: [respMessage('Hello from Responses.')],
			usage: { input_tokens: 30, input_tokens_details: { cached_tokens: 12 }, output_tokens: 5, total_tokens: 35 } }));
		const r = await proxy.post('/v1/messages', body({ system: 'Be brief.' }));
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.type, 'message');
		assert.equal(r.json.model, 'gpt');
		assert.deepEqual(r.json.content, [{ type: 'text', text: 'Hello from Responses.' }]);
		assert.equal(r.json.stop_reason, 'end_turn');
		assert.equal(r.json.usage.input_tokens, 18);
		assert.equal(r.json.usage.cache_read_input_tokens, 12);
		assert.equal(r.json.usage.output_tokens, 5);
		const up = fake.requests[0];
		assert.equal(up.url, '/v1/responses');
		assert.equal(up.headers.authorization, 'Bearer sk-fake-responses-key');
		assert.equal(up.json.model, 'remote-gpt');
		assert.equal(up.json.instructions, 'Be brief.');
		assert.equal(up.json.store, false);
		assert.equal(up.json.max_output_tokens, 256);
		assert.equal(up.json.stream, undefined);
		assert.deepEqual(up.json.input, [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] }]);
		assert.equal(up.json.messages, undefined, 'no Chat Completions shape');
	});

	test('streamed text: the Anthropic grammar, text and usage; the upstream asked to stream', T, async () => {
		fake.stream(respStreamEvents([respMessage('Hello, streamed world.')]), { end: 'eof' });
		const r = await proxy.stream(body());
		assert.equal(r.status, 200, r.raw);
		const g = checkStreamGrammar(r.events);
		assert.equal(g.blocks.length, 1);
		assert.deepEqual(g.blocks[0], { type: 'text', text: 'Hello, streamed world.' });
		assert.equal(g.stopReason, 'end_turn');
		assert.equal(g.usage.input_tokens, 20);
		assert.equal(g.usage.output_tokens, 8);
		assert.match(g.message.id, /^msg_/);
		assert.equal(g.message.model, 'gpt');
		assert.equal(fake.requests[0].url, '/v1/responses');
		assert.equal(fake.requests[0].json.stream, true);
		await proxy.waitForLog(/stream: chunks=\d+ text_chars=22 tool_calls=0 finish=end_turn upstream_end=ok/);
	});

	test('a tool call round trip: function_call -> tool_use, its result back as function_call_output', T, async () => {
		fake.stream(respStreamEvents([respMessage('Checking.'), respCall('call_w1', 'get_weather', '{"city":"Oslo"}')]),
			{ end: 'eof' });
		const r = await proxy.stream(body({ tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Oslo?' }] }));
		const g = checkStreamGrammar(r.events);
		assert.equal(g.stopReason, 'tool_use');
		assert.equal(g.blocks.length, 2);
		assert.deepEqual(g.blocks[1], { type: 'tool_use', id: 'call_w1', name: 'get_weather', input: { city: 'Oslo' } });
		const tools = fake.requests[0].json.tools;
		assert.deepEqual(tools.map((t) => [t.type, t.name]), [['function', 'get_weather']]);
		assert.deepEqual(tools[0].parameters, weatherTool.input_schema);

		fake.json(responseBody({ output: [respMessage('Sunny, 21 degrees.')] }));
		const r2 = await proxy.post('/v1/messages', body({
			tools: [weatherTool],
			messages: [
				{ role: 'user', content: 'Weather in Oslo?' },
				{ role: 'assistant', content: g.blocks },
				{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_w1', content: 'sunny, 21C' }] },
			],
		}));
		assert.equal(r2.status, 200, r2.text);
		assert.equal(r2.json.content[0].text, 'Sunny, 21 degrees.');
		const input = fake.requests[1].json.input;
		assert.deepEqual(input.slice(1), [
			{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
			{ type: 'function_call', call_id: 'call_w1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
			{ type: 'function_call_output', call_id: 'call_w1', output: 'sunny, 21C' },
		]);
	});

	test('reasoning: a summary becomes thinking; the encrypted item goes back through the signature', T, async () => {
		const enc = 'gAAAAABencryptedReasoning-9x_Q==';
		fake.stream(respStreamEvents([respReasoning(['**Plan**\n\nLook first.', 'Then answer.'], enc),
			respMessage('Done.')]), { end: 'eof' });
		const r = await proxy.stream(body({ model: 'thinker', thinking: { type: 'enabled', budget_tokens: 2048 },
			max_tokens: 4096 }));
		const g = checkStreamGrammar(r.events);
		assert.equal(g.blocks[0].type, 'thinking');
		assert.equal(g.blocks[0].thinking, '**Plan**\n\nLook first.\n\nThen answer.');
		assert.match(g.blocks[0].signature, /^cprs_1_[0-9a-f]{16}_/);
		assert.ok(g.blocks[0].signature.endsWith(enc), g.blocks[0].signature);
		assert.deepEqual(g.blocks[1], { type: 'text', text: 'Done.' });
		const first = fake.requests[0].json;
		assert.deepEqual(first.include, ['reasoning.encrypted_content']);
		assert.equal(first.store, false);
		assert.equal(first.reasoning.summary, 'auto');

		fake.json(responseBody({ output: [respMessage('Again.')] }));
		const r2 = await proxy.post('/v1/messages', body({ model: 'thinker', max_tokens: 4096,
			thinking: { type: 'enabled', budget_tokens: 2048 },
			messages: [
				{ role: 'user', content: 'hello' },
				{ role: 'assistant', content: g.blocks },
				{ role: 'user', content: 'and again' },
			] }));
		assert.equal(r2.status, 200, r2.text);
		const input = fake.requests[1].json.input;
		assert.deepEqual(input[1], { type: 'reasoning', summary: [
			{ type: 'summary_text', text: '**Plan**\n\nLook first.\n\nThen answer.' }], encrypted_content: enc });
		assert.equal(input[2].role, 'assistant');

		// the same signature to another model is dropped, not sent
		fake.json(responseBody({ output: [respMessage('Other.')] }));
		await proxy.post('/v1/messages', body({ messages: [
			{ role: 'user', content: 'hello' }, { role: 'assistant', content: g.blocks }, { role: 'user', content: 'x' }] }));
		assert.ok(!JSON.stringify(fake.requests[2].json).includes(enc), 'encrypted reasoning went to another model');
	});

	test('incomplete_details max_output_tokens -> max_tokens, plain and streamed', T, async () => {
		const opts = { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
		fake.json(responseBody({ output: [respMessage('Cut sh')], ...opts }));
		const r = await proxy.post('/v1/messages', body());
		assert.equal(r.json.stop_reason, 'max_tokens');
		assert.equal(r.json.content[0].text, 'Cut sh');

		fake.stream(respStreamEvents([respMessage('Cut sh')], opts), { end: 'eof' });
		const s = await proxy.stream(body());
		const g = checkStreamGrammar(s.events);
		assert.equal(g.stopReason, 'max_tokens');
		assert.ok(s.raw.includes('event: message_stop'));
	});

	test('response.failed mid-stream: the error event, the text block left open', T, async () => {
		const item = respMessage('Half a sentence');
		fake.stream([
			respEvent('response.created', { response: responseBody({ status: 'in_progress', usage: null }) }),
			respEvent('response.output_item.added', { output_index: 0, item: { ...item, content: [] } }),
			...respItemDeltas(item, 0),
			respEvent('response.failed', { response: responseBody({ status: 'failed', usage: null,
				error: { code: 'server_error', message: 'The model failed to generate a response.' } }) }),
		], { end: 'eof' });
		const r = await proxy.stream(body());
		assert.equal(r.status, 200);
		const g = checkStreamGrammar(r.events, { expectComplete: false });
		assert.ok(g.error, 'ends in an error event');
		assert.equal(g.error.error.type, 'api_error');
		assert.match(g.error.error.message, /model failed to generate/);
		assert.match(g.error.request_id, /^req_/);
		const names = r.events.filter((e) => e.event !== 'ping').map((e) => e.event);
		assert.deepEqual(names.slice(-3), ['content_block_delta', 'content_block_delta', 'error']);
		assert.ok(!names.includes('content_block_stop') && !names.includes('message_delta'),
			'as Anthropic: the open block stays open');
		await proxy.waitForLog(/provider resp failed: .*model failed to generate/);
	});

	test('429 with retry-after before the first byte: fallback to the Chat Completions provider', T, async () => {
		fake.json({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
			{ status: 429, headers: { 'retry-after': '9' } });
		fake.stream(textStreamChunks(['From ', 'chat.']));
		const r = await proxy.stream(body({ model: 'both' }));
		assert.equal(r.status, 200, r.raw);
		const g = checkStreamGrammar(r.events);
		assert.equal(g.blocks[0].text, 'From chat.');
		assert.equal(r.headers.get('retry-after'), null);
		assert.deepEqual(fake.requests.map((q) => [q.url, q.json.model]),
			[['/v1/responses', 'remote-both-resp'], ['/v1/chat/completions', 'remote-both-chat']]);
		assert.ok(fake.requests[1].json.messages, 'the second is a Chat Completions request');
		await proxy.waitForLog(/provider resp failed: .*; trying the next one/);

		// plain, and the last provider's 429 reaches the client with its retry-after
		fake.json({ error: { message: 'Rate limit reached', code: 'rate_limit_exceeded' } },
			{ status: 429, headers: { 'retry-after': '9' } });
		const p = await proxy.post('/v1/messages', body());
		assert.equal(p.status, 429);
		assert.equal(errorEnvelope(p).error.type, 'rate_limit_error');
		assert.equal(p.headers.get('retry-after'), '9');
	});

	test('the official SDK reads a streamed Responses answer with finalMessage()', T, async () => {
		const client = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0, timeout: 15000 });
		fake.stream(respStreamEvents([respReasoning(['Thinking it over.'], 'gAAAAABsdk=='),
			respMessage('The SDK sees this.'), respCall('call_s1', 'get_weather', '{"city":"Bergen"}')],
		{ usage: { input_tokens: 40, input_tokens_details: { cached_tokens: 10 }, output_tokens: 9, total_tokens: 49 } }),
		{ end: 'eof' });
		const stream = client.messages.stream({ model: 'thinker', max_tokens: 1024, tools: [weatherTool],
			thinking: { type: 'enabled', budget_tokens: 512 }, messages: [{ role: 'user', content: 'Weather?' }] });
		let text = '';
		stream.on('text', (t) => { text += t; });
		const msg = await stream.finalMessage();
		assert.equal(text, 'The SDK sees this.');
		assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'text', 'tool_use']);
		assert.equal(msg.content[0].thinking, 'Thinking it over.');
		assert.deepEqual(msg.content[2].input, { city: 'Bergen' });
		assert.equal(msg.stop_reason, 'tool_use');
		assert.equal(msg.usage.input_tokens, 30);
		assert.equal(msg.usage.cache_read_input_tokens, 10);
		assert.equal(msg.usage.output_tokens, 9);
	});

	test('schema "gemini": the tools either kind sends carry no keyword Gemini rejects', T, async () => {
		const req = { max_tokens: 64, tools: [strictTool], messages: [{ role: 'user', content: 'count' }] };
		fake.json(completion({ content: 'ok' }));
		fake.json(responseBody({ output: [respMessage('ok')] }));
		fake.json(responseBody({ output: [respMessage('ok')] }));
		for (const model of ['gem', 'gemr', 'gpt']) {
			const r = await proxy.post('/v1/messages', { model, ...req });
			assert.equal(r.status, 200, `${model}: ${r.text}`);
		}
		const [chat, resp, plain] = fake.requests;
		assert.equal(chat.url, '/v1/chat/completions');
		assert.equal(resp.url, '/v1/responses');
		const params = [chat.json.tools[0].function.parameters, resp.json.tools[0].parameters];
		for (const p of params) {
			const t = JSON.stringify(p);
			for (const k of ['$schema', 'propertyNames', 'exclusiveMinimum', 'additionalProperties']) {
				assert.ok(!t.includes(`"${k}"`), `${k} left in ${t}`);
			}
			assert.equal(p.properties.n.minimum, 1, t);
			assert.deepEqual(p.required, ['n']);
		}
		assert.ok(JSON.stringify(plain.json.tools[0].parameters).includes('"$schema"'),
			'a provider without schema sends the schema as written');
	});
});

describe('-t and the provider kinds', { timeout: 60000 }, () => {
	const dir = mkTmpDir('cp-kinds-');
	after(() => fs.rmSync(dir, { recursive: true, force: true }));

	async function check(provider) {
		const cfg = baseConfig('http://127.0.0.1:9');
		Object.assign(cfg.providers[0], provider);
		const p = path.join(dir, 'c.json');
		fs.writeFileSync(p, JSON.stringify(cfg), { mode: 0o600 });
		return runBinary(['-t', '-c', p]);
	}

	test('api and schema: the known values pass, others are refused naming the key', T, async () => {
		for (const ok of [{ api: 'openai' }, { api: 'responses', schema: 'gemini' }]) {
			const r = await check(ok);
			assert.equal(r.code, 0, JSON.stringify(ok) + r.stderr);
		}
		let r = await check({ api: 'claude' });
		assert.equal(r.code, 78);
		assert.match(r.stdout + r.stderr, /providers\[0\]\.api: unknown API "claude" \(openai, responses or anthropic\)/);
		r = await check({ schema: 'openapi' });
		assert.equal(r.code, 78);
		assert.match(r.stdout + r.stderr, /providers\[0\]\.schema: unknown dialect "openapi"/);
	});
});

// Claude Code through a Responses API provider: a Bash tool call made as a
// function_call item, its output back upstream as function_call_output.
const CC_MARKER = 'cp-responses-marker-7719';
const CC_COMMAND = "printf '%s-%s\\n' hello from-tool";
const CC_FINAL = 'FINAL-ANSWER: the tool printed hello-from-tool';



/** A Responses answer for whatever Claude Code asks: the main turn gets a
 * Bash function_call, then the final text once its output is back. */
function ccResponder(rec) {
	const b = rec.json ?? {};
	const all = JSON.stringify(b.input ?? []);
	const isMain = all.includes(CC_MARKER) && (b.tools ?? []).some((t) => t.name === 'Bash');
	const items = isMain && !all.includes('"function_call_output"')
		? [respMessage('I will run it.'), respCall('call_cc_1', 'Bash', JSON.stringify({ command: CC_COMMAND, description: 'Print a greeting' }))]
		: [respMessage(isMain ? CC_FINAL : 'ok')];
	return b.stream ? { stream: true, chunks: respStreamEvents(items), end: 'eof' } : { status: 200, body: responseBody({ output: items }) };
}

describe('Claude Code headless through an api "responses" provider', { timeout: 200000 }, () => {
	const claudeBin = findClaude();
	let fake, proxy, home;
	before(async () => {
		fake = await startFakeUpstream();
		fake.setResponder(ccResponder);
		const cfg = baseConfig(fake.url, { ak: 'cc-resp-inbound-key-5521' });
		cfg.providers = [{ name: 'resp', base_url: fake.url, api: 'responses', api_key: 'sk-fake-responses-key',
			models: [{ id: 'codex', remote_id: 'remote-codex', aliases: ['claude-*'], max_tokens: 8192 }] }];
		proxy = await startProxy({ config: cfg });
		home = mkTmpDir('cp-cc-resp-home-');
	});
	after(() => teardown(proxy, fake, () => { if (home) fs.rmSync(home, { recursive: true, force: true }); }));

	test('claude -p: the tool runs, its output goes back as function_call_output, the final answer returns', { timeout: 180000 }, async () => {
		assert.ok(claudeBin, 'claude executable not installed (npm ci --prefix tests)');
		const r = await runClaudePrompt(claudeBin, `Run the shell command \`${CC_COMMAND}\` and tell me what it printed. (${CC_MARKER})`,
			{ home, url: proxy.url, key: 'cc-resp-inbound-key-5521' });
		const diag = () => `exit ${r.code} ${r.signal ?? ''}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}\n`
			+ fake.requests.map((q) => `${q.url} ${q.json?.model} stream=${!!q.json?.stream}`).join('; ');
		assert.equal(r.code, 0, diag());
		const out = JSON.parse(r.stdout);
		assert.equal(out.is_error, false, diag());
		assert.equal(out.result, CC_FINAL, diag());
		const main = fake.requests.filter((q) => JSON.stringify(q.json?.input ?? []).includes(CC_MARKER));
		const withOutput = main.find((q) => JSON.stringify(q.json.input).includes('"function_call_output"'));
		assert.ok(withOutput, diag());
		const item = withOutput.json.input.find((i) => i.type === 'function_call_output');
		assert.equal(item.call_id, 'call_cc_1');
		assert.ok(JSON.stringify(item.output).includes('hello-from-tool'), JSON.stringify(item));
		const call = withOutput.json.input.find((i) => i.type === 'function_call');
		assert.ok(call && call.name === 'Bash' && call.call_id === 'call_cc_1', JSON.stringify(withOutput.json.input));
		for (const q of fake.requests) {
			assert.equal(q.url, '/v1/responses');
			assert.equal(q.json.model, 'remote-codex');
		}
	});
});
