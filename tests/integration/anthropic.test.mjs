// Providers with api "anthropic" (issue 12): the real daemon against a fake
// upstream that speaks the Messages API itself (lib/fake-anthropic.mjs).
// What the upstream was sent (remote_id, the max_tokens cap, drop and params,
// the attribution line, the key as x-api-key or Bearer, anthropic-version
// and the filtered anthropic-beta), what the client got (the upstream's
// bytes, plain and streamed, LF and CRLF, split anywhere), the usage read on
// the way into the usage log and /metrics, errors before and after the first
// byte, a secret the upstream echoes, count_tokens forwarded or estimated,
// fallback across kinds both ways, the official SDK, and Claude Code running
// a tool through such a provider.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';

import { startFakeUpstream, textStreamChunks, completion } from './lib/fake-upstream.mjs';
import { anthMessage, anthEvent, anthStreamEvents, anthError } from './lib/fake-anthropic.mjs';
import {
	startProxy, baseConfig, checkStreamGrammar, errorEnvelope, teardown, pollUntil, mkTmpDir, parseSSE,
} from './lib/proxy.mjs';
import { parseMetrics } from './lib/metrics.mjs';
import { findClaude, runClaudePrompt } from './lib/claude-code.mjs';

const T = { timeout: 20000 };
const UPKEY = 'anth-upstream-secret-71f0c2d9e4';	// configured: masked wherever it shows
const BEARER_KEY = 'bearer-upstream-secret-88a1';
const CLIENT_KEY = 'anth-client-key-0123456789';
const AUTH = { 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' };
const ATTRIBUTION = 'x-anthropic-billing-header: cc_version=2.1.332.abc; cc_entrypoint=sdk-cli;';

function config(url, extra = {}) {
	const cfg = baseConfig(url, { stream_ping_seconds: 1, stream_idle_timeout_seconds: 5,
		keys: [{ name: 'alice', key: CLIENT_KEY }], ...extra });
	cfg.providers = [
		// "rev": Chat Completions first, then the pass-through
		{ name: 'chatfirst', base_url: url, api_key: 'chat-first-key-000111', models: [{ id: 'rev', remote_id: 'remote-rev-chat' }] },
		{
			name: 'anth', base_url: url + '/anthropic', api: 'anthropic', api_key: UPKEY,
			betas: ['allowed-beta-2025-01-01', 'interleaved-thinking-2025-05-14'],
			count_tokens: true, drop: ['metadata'], params: { temperature: 0.3 },
			models: [
				{ id: 'claude-x', remote_id: 'remote-anth', max_tokens: 4096 },
				{ id: 'both', remote_id: 'remote-both-anth' },
				{ id: 'rev', remote_id: 'remote-rev-anth' },
			],
		},
		// "both": the pass-through first, then Chat Completions
		{ name: 'chat', base_url: url, api_key: 'chat-second-key-222333', models: [{ id: 'both', remote_id: 'remote-both-chat' }] },
		{
			name: 'bear', base_url: url, api: 'anthropic', auth: 'bearer', api_key: BEARER_KEY,
			strip_attribution: false, models: [{ id: 'bear', remote_id: 'remote-bear' }],
		},
	];
	return cfg;
}

function body(extra = {}) {
	return { model: 'claude-x', max_tokens: 256, messages: [{ role: 'user', content: 'hello' }], ...extra };
}

/** bytes split in pieces of n (the proxy must not care where reads end) */
function splitEvery(s, n) {
	const out = [];
	for (let i = 0; i < s.length; i += n) out.push(s.slice(i, i + n));
	return out;
}

describe('api "anthropic": the Messages API passed through', { timeout: 300000 }, () => {
	let fake, proxy, usageLog;
	before(async () => {
		fake = await startFakeUpstream();
		const dir = mkTmpDir('cp-anth-');
		usageLog = path.join(dir, 'usage.log');
		proxy = await startProxy({ config: config(fake.url, { usage_log: usageLog }) });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	const usageLines = () => (fs.existsSync(usageLog) ? fs.readFileSync(usageLog, 'utf8').split('\n').filter(Boolean)
		.map((l) => JSON.parse(l)) : []);
	async function usageOf(rid) {
		return pollUntil(() => usageLines().find((u) => u.request_id === rid), { what: `usage line of ${rid}` });
	}

	test('plain: the request as the client wrote it but for model, cap, attribution, drop, params; the answer byte for byte', T, async () => {
		// pretty-printed on purpose: a re-serialised answer would differ
		const answer = JSON.stringify(anthMessage({ content: [{ type: 'text', text: 'Hi \u00e9 "there"' }],
			usage: { input_tokens: 31, cache_creation_input_tokens: 5, cache_read_input_tokens: 12, output_tokens: 9 } }), null, 1) + '\n';
		fake.enqueue({ status: 200, headers: { 'content-type': 'application/json' }, body: answer });
		const tools = [{ name: 'count', description: 'Count', input_schema: {
			$schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object',
			properties: { n: { type: 'integer', exclusiveMinimum: 0 } }, propertyNames: { pattern: '^[a-z]+$' } } }];
		const system = [{ type: 'text', text: `${ATTRIBUTION}\nYou are Claude Code.`, cache_control: { type: 'ephemeral' } },
			{ type: 'text', text: 'Second block.' }];
		const thinking = { type: 'enabled', budget_tokens: 2048 };
		const r = await proxy.post('/v1/messages', body({ max_tokens: 32000, system, tools, thinking,
			metadata: { user_id: 'u1' }, temperature: 1, context_management: { edits: [] } }), AUTH);
		assert.equal(r.status, 200, r.text);
		assert.equal(r.text, answer, 'the upstream\'s bytes');
		assert.match(r.headers.get('content-type'), /^application\/json/);
		assert.match(r.headers.get('request-id'), /^req_/);

		const up = fake.requests[0];
		assert.equal(up.url, '/anthropic/v1/messages');
		assert.equal(up.headers['x-api-key'], UPKEY);
		assert.equal(up.headers.authorization, undefined, 'no Bearer beside x-api-key');
		assert.equal(up.headers['anthropic-version'], '2023-06-01');
		assert.equal(up.json.model, 'remote-anth');
		assert.equal(up.json.max_tokens, 4096, 'the model\'s cap');
		assert.equal(up.json.stream, undefined);
		assert.equal(up.json.metadata, undefined, 'drop');
		assert.equal(up.json.temperature, 0.3, 'params');
		assert.deepEqual(up.json.tools, tools, 'tools as written');
		assert.deepEqual(up.json.thinking, thinking);
		assert.deepEqual(up.json.context_management, { edits: [] });
		assert.deepEqual(up.json.system, [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
			{ type: 'text', text: 'Second block.' }], 'the attribution line left out, the rest as it was');
		assert.deepEqual(up.json.messages, [{ role: 'user', content: 'hello' }]);
		assert.ok(!JSON.stringify(up.headers).includes(CLIENT_KEY), 'the client\'s key stays with the proxy');

		const u = await usageOf(r.headers.get('request-id'));
		assert.equal(u.provider, 'anth');
		assert.equal(u.model, 'claude-x');
		assert.deepEqual([u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens],
			[31, 9, 12, 5]);
	});

	for (const [name, eol, n] of [['LF, in 7-byte reads', '\n', 7], ['CRLF, in 5-byte reads', '\r\n', 5],
		['LF, one read', '\n', 1 << 20]]) {
		test(`streamed (${name}): the client reads the upstream's bytes; usage and stop reason read on the way`, T, async () => {
			const msg = anthMessage({ content: [
				{ type: 'thinking', thinking: 'Let me think.', signature: 'sig-upstream-AAAA' },
				{ type: 'text', text: 'Checking the weather.' },
				{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Oslo' } }],
			stop_reason: 'tool_use', usage: { input_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 8, output_tokens: 17 } });
			const bytes = anthStreamEvents(msg, { eol }).join('');
			fake.stream(splitEvery(bytes, n), { end: 'eof' });
			const r = await proxy.stream(body(), AUTH);
			assert.equal(r.status, 200, r.raw);
			assert.equal(r.raw, bytes, 'byte for byte');
			assert.equal(fake.requests[0].json.stream, true);
			const g = checkStreamGrammar(parseSSE(r.raw));
			assert.equal(g.stopReason, 'tool_use');
			const rid = r.headers.get('request-id');
			const u = await usageOf(rid);
			assert.deepEqual([u.input_tokens, u.output_tokens, u.cache_read_input_tokens], [40, 17, 8]);
			await proxy.waitForLog(new RegExp(`${rid} stream: chunks=\\d+ text_chars=21 tool_calls=1 finish=tool_use upstream_end=ok`));
		});
	}

	test('/metrics counts the pass-through\'s tokens by key and model', T, async () => {
		const before = parseMetrics((await proxy.get('/metrics', AUTH)).text);
		const was = (type) => before.get('claude_proxy_key_tokens_total', { key: 'alice', model: 'claude-x', type }, 0);
		const msg = anthMessage({ usage: { input_tokens: 100, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 50 } });
		fake.stream(anthStreamEvents(msg), { end: 'eof' });
		fake.json(msg);
		assert.equal((await proxy.stream(body(), AUTH)).status, 200);
		assert.equal((await proxy.post('/v1/messages', body(), AUTH)).status, 200);
		const m = await pollUntil(async () => {
			const x = parseMetrics((await proxy.get('/metrics', AUTH)).text);
			return x.get('claude_proxy_key_tokens_total', { key: 'alice', model: 'claude-x', type: 'output' }, 0) >= was('output') + 100 ? x : null;
		}, { what: 'the tokens in /metrics' });
		assert.equal(m.get('claude_proxy_key_tokens_total', { key: 'alice', model: 'claude-x', type: 'input' }), was('input') + 200);
		assert.equal(m.get('claude_proxy_key_tokens_total', { key: 'alice', model: 'claude-x', type: 'output' }), was('output') + 100);
	});

	test('anthropic-version forwarded (2023-06-01 when absent); anthropic-beta filtered by betas', T, async () => {
		fake.json(anthMessage());
		fake.json(anthMessage());
		fake.json(anthMessage());
		await proxy.post('/v1/messages', body(), { ...AUTH, 'anthropic-version': '2099-01-01',
			'anthropic-beta': 'allowed-beta-2025-01-01, other-beta-2024 ,interleaved-thinking-2025-05-14' });
		await proxy.post('/v1/messages', body(), { 'x-api-key': CLIENT_KEY, 'anthropic-beta': 'other-beta-2024' });
		await proxy.post('/v1/messages', body({ model: 'bear' }), { ...AUTH, 'anthropic-beta': 'any-beta-1,other-beta-2024' });
		const [a, b, c] = fake.requests;
		assert.equal(a.headers['anthropic-version'], '2099-01-01');
		assert.equal(a.headers['anthropic-beta'], 'allowed-beta-2025-01-01,interleaved-thinking-2025-05-14');
		assert.equal(b.headers['anthropic-version'], '2023-06-01');
		assert.equal(b.headers['anthropic-beta'], undefined, 'none left: no header');
		// a provider without betas passes every one, and takes its key as Bearer
		assert.equal(c.headers['anthropic-beta'], 'any-beta-1,other-beta-2024');
		assert.equal(c.headers.authorization, `Bearer ${BEARER_KEY}`);
		assert.equal(c.headers['x-api-key'], undefined);
		assert.equal(c.url, '/v1/messages');
	});

	test('strip_attribution false keeps the line; a system string loses it otherwise', T, async () => {
		fake.json(anthMessage());
		fake.json(anthMessage());
		await proxy.post('/v1/messages', body({ model: 'bear', system: `${ATTRIBUTION}\nBe brief.` }), AUTH);
		await proxy.post('/v1/messages', body({ system: `${ATTRIBUTION}\nBe brief.` }), AUTH);
		assert.equal(fake.requests[0].json.system, `${ATTRIBUTION}\nBe brief.`);
		assert.equal(fake.requests[1].json.system, 'Be brief.');
	});

	test('an upstream error before the answer: its type and words in our envelope, our request id', T, async () => {
		fake.json(anthError('invalid_request_error', 'messages.0.content: Input should be a valid list'), { status: 400 });
		let r = await proxy.post('/v1/messages', body(), AUTH);
		assert.equal(r.status, 400);
		const e = errorEnvelope(r);
		assert.equal(e.error.type, 'invalid_request_error');
		assert.equal(e.error.message, 'messages.0.content: Input should be a valid list');
		assert.equal(e.request_id, r.headers.get('request-id'));
		assert.notEqual(e.request_id, 'req_upstream_0001');

		// the proxy's own key refused: a configuration problem, not the client's
		fake.json(anthError('authentication_error', 'invalid x-api-key'), { status: 401 });
		r = await proxy.post('/v1/messages', body(), AUTH);
		assert.equal(r.status, 502, r.text);
		assert.equal(errorEnvelope(r).error.type, 'api_error');

		// streamed: the same, as HTTP, since nothing was sent yet
		fake.json(anthError('overloaded_error', 'Overloaded'), { status: 529 });
		r = await proxy.stream(body(), AUTH);
		assert.equal(r.status, 529);
		assert.equal(errorEnvelope(r).error.type, 'overloaded_error');
	});

	test('an upstream error event mid-stream: the bytes before it, then ours with our request id; nothing after', T, async () => {
		const head = anthStreamEvents(anthMessage({ content: [{ type: 'text', text: 'Half a sentence' }] })).slice(0, 4).join('');
		fake.stream([head, anthEvent('error', { error: { type: 'overloaded_error', message: `Overloaded (key ${UPKEY})` } }),
			anthEvent('message_stop')], { end: 'eof' });
		const r = await proxy.stream(body(), AUTH);
		assert.equal(r.status, 200);
		assert.ok(r.raw.startsWith(head), 'what came before, as it came');
		const rest = parseSSE(r.raw.slice(head.length)).filter((e) => e.event !== 'ping');
		assert.equal(rest.length, 1, r.raw);
		assert.equal(rest[0].event, 'error');
		assert.equal(rest[0].data.error.type, 'overloaded_error');
		assert.match(rest[0].data.error.message, /^Overloaded \(key \*\*\*\)$/);
		assert.equal(rest[0].data.request_id, r.headers.get('request-id'));
		assert.ok(!r.raw.includes(UPKEY));
		await proxy.waitForLog(new RegExp(`${r.headers.get('request-id')} stream: .*finish=error`));
	});

	test('a stream that ends without message_stop ends with an error event', T, async () => {
		const head = anthStreamEvents(anthMessage()).slice(0, 5).join('');
		fake.stream([head], { end: 'eof' });
		const r = await proxy.stream(body(), AUTH);
		assert.ok(r.raw.startsWith(head));
		const last = parseSSE(r.raw).at(-1);
		assert.equal(last.event, 'error');
		assert.equal(last.data.error.type, 'api_error');
		assert.match(last.data.error.message, /ended the stream before message_stop/);
		await proxy.waitForLog(/provider anth failed: the stream ended before message_stop/);
	});

	test('a configured secret the upstream echoes is masked, plain and streamed', T, async () => {
		fake.json(anthMessage({ content: [{ type: 'text', text: `my key is ${UPKEY}, and Bearer's is ${BEARER_KEY}.` }] }));
		const p = await proxy.post('/v1/messages', body(), AUTH);
		assert.equal(p.status, 200);
		assert.equal(p.json.content[0].text, 'my key is ***, and Bearer\'s is ***.');
		const ev = anthStreamEvents(anthMessage({ content: [{ type: 'text', text: 'k' }] }));
		ev.splice(3, 1, anthEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: `key: ${UPKEY}!` } }));
		fake.stream(ev, { end: 'eof' });
		const s = await proxy.stream(body(), AUTH);
		assert.ok(!s.raw.includes(UPKEY), 'not in the stream');
		const g = checkStreamGrammar(parseSSE(s.raw));
		assert.equal(g.blocks[0].text, 'key: ***!');

		// split over two deltas: masked all the same
		fake.stream(anthStreamEvents(anthMessage({ content: [{ type: 'text', text: `my key: ${UPKEY}` }] })), { end: 'eof' });
		const t = await proxy.stream(body(), AUTH);
		assert.ok(!t.raw.includes(UPKEY.slice(UPKEY.length / 2)) && !t.raw.includes(UPKEY.slice(0, 14)), t.raw);
		assert.equal(checkStreamGrammar(parseSSE(t.raw)).blocks[0].text, 'my key: ***');
	});

	test('count_tokens: forwarded where the provider says so, estimated otherwise or when it fails', T, async () => {
		fake.json({ input_tokens: 1234 });
		const ct = { model: 'claude-x', system: `${ATTRIBUTION}\nSys.`, messages: [{ role: 'user', content: 'count me' }],
			tools: [{ name: 't', input_schema: { type: 'object' } }] };
		let r = await proxy.post('/v1/messages/count_tokens', ct, { ...AUTH, 'anthropic-beta': 'other-beta-2024,allowed-beta-2025-01-01' });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.text, '{"input_tokens":1234}');
		const up = fake.requests[0];
		assert.equal(up.url, '/anthropic/v1/messages/count_tokens');
		assert.equal(up.headers['x-api-key'], UPKEY);
		assert.equal(up.headers['anthropic-beta'], 'allowed-beta-2025-01-01');
		assert.deepEqual(up.json, { model: 'remote-anth', system: 'Sys.', messages: ct.messages, tools: ct.tools });

		// a provider without count_tokens: counted here, nothing sent
		r = await proxy.post('/v1/messages/count_tokens', { ...ct, model: 'bear' }, AUTH);
		assert.equal(r.status, 200);
		assert.ok(r.json.input_tokens > 0);
		assert.equal(fake.requests.length, 1);

		// the upstream fails: counted here too
		fake.json(anthError('api_error', 'boom'), { status: 500 });
		r = await proxy.post('/v1/messages/count_tokens', ct, AUTH);
		assert.equal(r.status, 200, r.text);
		assert.ok(r.json.input_tokens > 0);
		assert.equal(fake.requests.length, 2);

		// a request the upstream refuses: its words
		fake.json(anthError('invalid_request_error', 'tools.0.name: bad'), { status: 400 });
		r = await proxy.post('/v1/messages/count_tokens', ct, AUTH);
		assert.equal(r.status, 400);
		assert.equal(errorEnvelope(r).error.message, 'tools.0.name: bad');
	});

	test('fallback before the first byte: anthropic -> openai', T, async () => {
		fake.json(anthError('overloaded_error', 'Overloaded'), { status: 529 });
		fake.stream(textStreamChunks(['From ', 'chat.']));
		const r = await proxy.stream(body({ model: 'both' }), AUTH);
		assert.equal(r.status, 200, r.raw);
		const g = checkStreamGrammar(r.events);
		assert.equal(g.blocks[0].text, 'From chat.');
		assert.deepEqual(fake.requests.map((q) => [q.url, q.json.model]),
			[['/anthropic/v1/messages', 'remote-both-anth'], ['/v1/chat/completions', 'remote-both-chat']]);
		await proxy.waitForLog(/provider anth failed: .*; trying the next one/);

		fake.json(anthError('api_error', 'Internal server error'), { status: 500 });
		fake.json(completion({ content: 'plain from chat' }));
		const p = await proxy.post('/v1/messages', body({ model: 'both' }), AUTH);
		assert.equal(p.status, 200, p.text);
		assert.equal(p.json.content[0].text, 'plain from chat');
	});

	test('fallback before the first byte: openai -> anthropic, then the bytes as they came', T, async () => {
		fake.json({ error: { message: 'unavailable', type: 'server_error' } }, { status: 503 });
		const bytes = anthStreamEvents(anthMessage({ content: [{ type: 'text', text: 'From the pass-through.' }] })).join('');
		fake.stream([bytes], { end: 'eof' });
		const r = await proxy.stream(body({ model: 'rev' }), AUTH);
		assert.equal(r.status, 200, r.raw);
		assert.equal(r.raw, bytes);
		assert.deepEqual(fake.requests.map((q) => [q.url, q.json.model]),
			[['/v1/chat/completions', 'remote-rev-chat'], ['/anthropic/v1/messages', 'remote-rev-anth']]);
		assert.equal(fake.requests[1].headers['x-api-key'], UPKEY);
	});

	test('the official SDK: plain, streamed, and finalMessage()', T, async () => {
		const client = new Anthropic({ baseURL: proxy.url, apiKey: CLIENT_KEY, maxRetries: 0, timeout: 15000 });
		fake.json(anthMessage({ content: [{ type: 'text', text: 'Plain for the SDK.' }] }));
		const m = await client.messages.create(body());
		assert.equal(m.content[0].text, 'Plain for the SDK.');
		assert.equal(m.usage.input_tokens, 21);

		const msg = anthMessage({ content: [
			{ type: 'thinking', thinking: 'Hmm.', signature: 'sig-sdk' },
			{ type: 'text', text: 'Streamed for the SDK.' },
			{ type: 'tool_use', id: 'toolu_sdk', name: 'get_weather', input: { city: 'Bergen' } }],
		stop_reason: 'tool_use', usage: { input_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 10, output_tokens: 12 } });
		fake.stream(splitEvery(anthStreamEvents(msg).join(''), 11), { end: 'eof' });
		const stream = client.messages.stream(body({ tools: [{ name: 'get_weather', input_schema: { type: 'object' } }] }));
		let text = '';
		stream.on('text', (t) => { text += t; });
		const fin = await stream.finalMessage();
		assert.equal(text, 'Streamed for the SDK.');
		assert.deepEqual(fin.content, msg.content);
		assert.equal(fin.stop_reason, 'tool_use');
		assert.equal(fin.usage.output_tokens, 12);
		assert.equal(fin.usage.cache_read_input_tokens, 10);
		assert.equal(fin.id, 'msg_upstream01', 'the upstream\'s message as it was');
	});

	test('server tools go upstream as the client sent them; the proxy runs no loop', T, async () => {
		fake.json(anthMessage());
		const tools = [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }];
		const r = await proxy.post('/v1/messages', body({ tools }), AUTH);
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(fake.requests[0].json.tools, tools);
		assert.equal(fake.requests.length, 1);
	});
});

// Claude Code through a pass-through provider: a Bash tool call and its
// result, the upstream answering in Anthropic's own API.
const MARKER = 'cp-anthropic-marker-4412';
const TOOL_COMMAND = "printf '%s-%s\\n' hello from-tool";
const FINAL = 'FINAL-ANSWER: the tool printed hello-from-tool';



/** An Anthropic answer for whatever Claude Code asks: the main turn gets a
 * Bash call, then the final text once the tool result is back. */
function ccResponder(rec) {
	const b = rec.json ?? {};
	const all = JSON.stringify(b.messages ?? []);
	const isMain = all.includes(MARKER) && (b.tools ?? []).some((t) => t.name === 'Bash');
	let msg;
	if (isMain && !all.includes('"tool_result"')) {
		msg = anthMessage({ content: [{ type: 'text', text: 'I will run it.' },
			{ type: 'tool_use', id: 'toolu_cc_1', name: 'Bash', input: { command: TOOL_COMMAND, description: 'Print a greeting' } }],
		stop_reason: 'tool_use' });
	} else {
		msg = anthMessage({ content: [{ type: 'text', text: isMain ? FINAL : 'ok' }] });
	}
	return b.stream ? { stream: true, chunks: anthStreamEvents(msg), end: 'eof' } : { status: 200, body: msg };
}

describe('Claude Code headless through an api "anthropic" provider', { timeout: 200000 }, () => {
	const claudeBin = findClaude();
	let fake, proxy, home;
	before(async () => {
		fake = await startFakeUpstream();
		fake.setResponder(ccResponder);
		const cfg = baseConfig(fake.url, { ak: 'cc-anth-inbound-key-9931' });
		cfg.providers = [{ name: 'anth', base_url: fake.url, api: 'anthropic', api_key: UPKEY,
			models: [{ id: 'kimi', remote_id: 'remote-kimi', aliases: ['claude-*'], max_tokens: 8192 }] }];
		proxy = await startProxy({ config: cfg });
		home = mkTmpDir('cp-cc-anth-home-');
	});
	after(() => teardown(proxy, fake, () => { if (home) fs.rmSync(home, { recursive: true, force: true }); }));

	test('claude -p: the tool runs, its result goes back upstream in Anthropic\'s shape, the final answer returns', { timeout: 180000 }, async () => {
		assert.ok(claudeBin, 'claude executable not installed (npm ci --prefix tests)');
		const r = await runClaudePrompt(claudeBin, `Run the shell command \`${TOOL_COMMAND}\` and tell me what it printed. (${MARKER})`,
			{ home, url: proxy.url, key: 'cc-anth-inbound-key-9931' });
		const diag = () => `exit ${r.code} ${r.signal ?? ''}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}\n`
			+ fake.requests.map((q) => `${q.url} ${q.json?.model} stream=${!!q.json?.stream}`).join('; ');
		assert.equal(r.code, 0, diag());
		const out = JSON.parse(r.stdout);
		assert.equal(out.is_error, false, diag());
		assert.equal(out.result, FINAL, diag());
		const main = fake.requests.filter((q) => JSON.stringify(q.json?.messages ?? []).includes(MARKER));
		const withResult = main.find((q) => JSON.stringify(q.json.messages).includes('"tool_result"'));
		assert.ok(withResult, diag());
		const res = withResult.json.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []))
			.find((b) => b.type === 'tool_result');
		assert.equal(res.tool_use_id, 'toolu_cc_1');
		assert.ok(JSON.stringify(res.content).includes('hello-from-tool'), JSON.stringify(res));
		for (const q of fake.requests) {
			assert.equal(q.url, '/v1/messages');
			assert.equal(q.json.model, 'remote-kimi');
			assert.equal(q.headers['x-api-key'], UPKEY);
			assert.ok(!JSON.stringify(q.json.system ?? '').includes('x-anthropic-billing-header'), 'attribution line forwarded');
		}
	});
});
