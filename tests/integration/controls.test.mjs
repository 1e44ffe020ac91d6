// Per-provider controls (issue 12): what a provider's configuration adds to
// or removes from the requests it is sent, seen by the fake upstream, for
// every kind: headers (a secret one from the environment, masked when the
// upstream echoes it; one replacing the proxy's own), params and drop; and
// -t refusing headers that would break framing.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { startFakeUpstream, completion, textStreamChunks, responseBody, respMessage } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, teardown, runBinary, mkTmpDir } from './lib/proxy.mjs';
import fs from 'node:fs';
import path from 'node:path';

const T = { timeout: 20000 };
const GW_TOKEN = 'purple elephant gateway phrase';

function config(url) {
	const cfg = baseConfig(url);
	cfg.providers = [
		{
			name: 'chat', base_url: url, api_key: 'sk-fake-chat-key-0001',
			headers: { 'X-Title': 'cp controls test', 'X-Gateway-Token': 'env:CP_TEST_GW_TOKEN',
				'HTTP-Referer': 'https://cp.example/' },
			params: { temperature: 0.25, enable_thinking: false, chat_template_kwargs: { thinking: true } },
			drop: ['top_p', 'user'],
			models: [{ id: 'chat', remote_id: 'remote-chat' }],
		},
		{
			name: 'resp', base_url: url, api: 'responses', api_key: 'sk-fake-resp-key-0002',
			headers: { Authorization: 'Token custom-scheme-value' },
			params: { reasoning: { effort: 'high' }, store: true },
			drop: ['temperature'],
			models: [{ id: 'resp', remote_id: 'remote-resp' }],
		},
		{ name: 'plainp', base_url: url, api_key: 'sk-fake-plain-key-0003', models: [{ id: 'plain' }] },
	];
	return cfg;
}

function body(model, extra = {}) {
	return { model, max_tokens: 64, temperature: 0.9, top_p: 0.5,
		metadata: { user_id: 'someone' }, messages: [{ role: 'user', content: 'hi' }], ...extra };
}

describe('per-provider headers, params and drop', { timeout: 120000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		proxy = await startProxy({ config: config(fake.url), env: { CP_TEST_GW_TOKEN: GW_TOKEN } });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	test('chat completions: headers sent, params set, drop removed', T, async () => {
		fake.json(completion({ content: 'ok' }));
		const r = await proxy.post('/v1/messages', body('chat'));
		assert.equal(r.status, 200, r.text);
		const q = fake.lastRequest;
		assert.equal(q.headers['x-title'], 'cp controls test');
		assert.equal(q.headers['x-gateway-token'], GW_TOKEN);
		assert.equal(q.headers['http-referer'], 'https://cp.example/');
		assert.equal(q.headers.authorization, 'Bearer sk-fake-chat-key-0001');
		assert.equal(q.json.model, 'remote-chat');
		assert.equal(q.json.temperature, 0.25, 'params replace what the client sent');
		assert.equal(q.json.enable_thinking, false);
		assert.deepEqual(q.json.chat_template_kwargs, { thinking: true });
		assert.ok(!('top_p' in q.json), 'top_p dropped');
		assert.ok(!('user' in q.json), 'user dropped');
		assert.equal(q.json.messages.at(-1).content, 'hi');
	});

	test('streamed too', T, async () => {
		fake.stream(textStreamChunks(['o', 'k']));
		const r = await proxy.stream(body('chat'));
		assert.equal(r.status, 200);
		const q = fake.lastRequest;
		assert.equal(q.json.stream, true);
		assert.equal(q.json.temperature, 0.25);
		assert.equal(q.headers['x-gateway-token'], GW_TOKEN);
		assert.equal(q.headers.accept, 'text/event-stream');
	});

	test('responses: a header replaces the proxy\'s Authorization; params and drop on its body', T, async () => {
		fake.json(responseBody({ output: [respMessage('ok')] }));
		const r = await proxy.post('/v1/messages', body('resp'));
		assert.equal(r.status, 200, r.text);
		const q = fake.lastRequest;
		assert.equal(q.url, '/v1/responses');
		assert.equal(q.headers.authorization, 'Token custom-scheme-value');
		assert.deepEqual(q.json.reasoning, { effort: 'high' });
		assert.equal(q.json.store, true, 'params override the translator\'s own members');
		assert.ok(!('temperature' in q.json));
		assert.equal(q.json.top_p, 0.5, 'not dropped here');
		assert.ok(!('x-gateway-token' in q.headers), 'another provider\'s header not sent');
	});

	test('a provider without controls sends the client\'s values', T, async () => {
		fake.json(completion({ content: 'ok' }));
		const r = await proxy.post('/v1/messages', body('plain'));
		assert.equal(r.status, 200, r.text);
		const q = fake.lastRequest;
		assert.equal(q.json.temperature, 0.9);
		assert.equal(q.json.top_p, 0.5);
		assert.ok(!('x-title' in q.headers));
		assert.ok(!('enable_thinking' in q.json));
	});

	test('a header value from the environment is masked when the upstream echoes it', T, async () => {
		const from = proxy.stderr.length;
		fake.json({ error: { message: `bad gateway token ${GW_TOKEN} for x`, type: 'invalid_request_error' } }, { status: 400 });
		const r = await proxy.post('/v1/messages', body('chat'));
		assert.equal(r.status, 400);
		assert.ok(!r.text.includes(GW_TOKEN), r.text);
		assert.match(r.json.error.message, /bad gateway token \*\*\* for x/);
		await proxy.waitForLog(/provider chat failed/, 5000, from);
		assert.ok(!proxy.stderr.includes(GW_TOKEN), 'the token reached the log');
	});
});

describe('-t on headers, params and drop', () => {
	const dir = mkTmpDir('cp-controls-');
	after(() => fs.rmSync(dir, { recursive: true, force: true }));
	const cases = [
		[{ headers: { 'Content-Length': '5' } }, /providers\[0\]\.headers\.Content-Length: Content-Length frames the request/],
		[{ headers: { Host: 'x' } }, /providers\[0\]\.headers\.Host: Host frames the request/],
		[{ headers: { 'Transfer-Encoding': 'chunked' } }, /Transfer-Encoding frames the request/],
		[{ headers: { Connection: 'close' } }, /Connection frames the request/],
		[{ headers: { 'X-A': 'one\r\nX-B: two' } }, /providers\[0\]\.headers\.X-A: contains control characters/],
		[{ headers: { 'Bad Name': 'v' } }, /providers\[0\]\.headers\.Bad Name: not a header name/],
		[{ params: { stream: false } }, /providers\[0\]\.params\.stream: the proxy sets stream/],
		[{ drop: ['messages'] }, /providers\[0\]\.drop\[0\]: the proxy needs messages/],
	];
	for (const [extra, re] of cases) {
		test(`refused: ${JSON.stringify(extra)}`, T, async () => {
			const cfg = baseConfig('http://127.0.0.1:9');
			Object.assign(cfg.providers[0], extra);
			const file = path.join(dir, 'c.json');
			fs.writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
			const r = await runBinary(['-t', '-c', file]);
			assert.equal(r.code, 78, r.stdout + r.stderr);
			assert.match(r.stderr, re);
		});
	}
});
