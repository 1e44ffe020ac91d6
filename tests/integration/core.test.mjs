// Endpoints, auth, routing, request ids (issue 2: Endpoints, HTTP/1.1 basics).

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { startFakeUpstream, completion } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, RawConn, rawRequest, msgBody, errorEnvelope, teardown } from './lib/proxy.mjs';

const T = { timeout: 15000 };

function assertRequestId(res) {
	const rid = res.headers.get ? res.headers.get('request-id') : res.headers['request-id'];
	assert.ok(rid && rid.length >= 8, `missing or short request-id header: ${rid}`);
	return rid;
}

describe('core endpoints (no ak)', { timeout: 120000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		const cfg = baseConfig(fake.url);
		proxy = await startProxy({ config: cfg });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	test('GET / answers health JSON with request-id', T, async () => {
		const r = await proxy.get('/');
		assert.equal(r.status, 200);
		assert.deepEqual(r.json, { message: 'claude-proxy', health: 'ok' });
		assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
		assertRequestId(r);
		assert.equal(fake.requests.length, 0, 'health check must not reach the upstream');
	});

	test('HEAD / answers headers only, same length as GET', T, async () => {
		const get = await proxy.get('/');
		const c = await RawConn.open(proxy.port);
		try {
			await c.write(rawRequest('HEAD', '/'));
			const r = await c.readResponse({ head: true });
			assert.equal(r.status, 200);
			assert.match(r.headers['content-type'] ?? '', /^application\/json/);
			assert.ok(r.headers['request-id'], 'HEAD response without request-id');
			if (r.headers['content-length'] !== undefined) {
				assert.equal(Number(r.headers['content-length']), Buffer.byteLength(get.text));
			}
			// No body may follow: the next response on this connection must
			// start right away with a status line.
			await c.write(rawRequest('GET', '/'));
			const r2 = await c.readResponse();
			assert.equal(r2.status, 200, 'HEAD leaked body bytes into the next response');
			assert.deepEqual(r2.json, { message: 'claude-proxy', health: 'ok' });
		} finally {
			c.destroy();
		}
	});

	test('request ids are unique per response', T, async () => {
		const a = assertRequestId(await proxy.get('/'));
		const b = assertRequestId(await proxy.get('/'));
		assert.notEqual(a, b);
	});

	test('GET /v1/models lists config order with original and Anthropic fields', T, async () => {
		const r = await proxy.get('/v1/models');
		assert.equal(r.status, 200);
		assertRequestId(r);
		const j = r.json;
		assert.equal(j.object, 'list');
		assert.deepEqual(j.data.map((m) => m.id), ['glm', 'mini', 'plain']);
		for (const m of j.data) {
			assert.equal(m.object, 'model');
			assert.equal(m.type, 'model');
			assert.equal(typeof m.created, 'number');
			assert.equal(typeof m.created_at, 'string');
			assert.ok(!Number.isNaN(Date.parse(m.created_at)), `created_at not a date: ${m.created_at}`);
		}
		assert.deepEqual(j.data.map((m) => m.display_name), ['GLM 4.7', 'Mini', 'plain'],
			'display_name defaults to id');
		assert.equal(j.has_more, false);
		assert.equal(j.first_id, 'glm');
		assert.equal(j.last_id, 'plain');
		assert.equal(fake.requests.length, 0, '/v1/models is served from config');
	});

	test('GET /v1/models?limit=1 pages with has_more', T, async () => {
		const r = await proxy.get('/v1/models?limit=1');
		assert.equal(r.status, 200);
		assert.deepEqual(r.json.data.map((m) => m.id), ['glm']);
		assert.equal(r.json.has_more, true);
		assert.equal(r.json.first_id, 'glm');
		assert.equal(r.json.last_id, 'glm');
	});

	test('GET /v1/models?after_id= continues after that id', T, async () => {
		const r = await proxy.get('/v1/models?after_id=glm');
		assert.equal(r.status, 200);
		assert.deepEqual(r.json.data.map((m) => m.id), ['mini', 'plain']);
		assert.equal(r.json.has_more, false);
		assert.equal(r.json.first_id, 'mini');
		assert.equal(r.json.last_id, 'plain');
		const r2 = await proxy.get('/v1/models?after_id=glm&limit=1');
		assert.deepEqual(r2.json.data.map((m) => m.id), ['mini']);
		assert.equal(r2.json.has_more, true);
	});

	test('GET /v1/models?before_id= lists the ids before it', T, async () => {
		const r = await proxy.get('/v1/models?before_id=plain');
		assert.equal(r.status, 200);
		assert.deepEqual(r.json.data.map((m) => m.id), ['glm', 'mini']);
		assert.equal(r.json.first_id, 'glm');
		assert.equal(r.json.last_id, 'mini');
	});

	test('GET /v1/models/{id} returns one model', T, async () => {
		const r = await proxy.get('/v1/models/mini');
		assert.equal(r.status, 200);
		assertRequestId(r);
		assert.equal(r.json.id, 'mini');
		assert.equal(r.json.type, 'model');
		assert.equal(r.json.display_name, 'Mini');
		assert.equal(typeof r.json.created_at, 'string');
	});

	test('GET /v1/models/{unknown} is a 404 not_found_error envelope', T, async () => {
		const r = await proxy.get('/v1/models/no-such-model');
		assert.equal(r.status, 404);
		const e = errorEnvelope(r);
		assert.equal(e.error.type, 'not_found_error');
		assert.equal(e.request_id, assertRequestId(r), 'body request_id must equal the header');
	});

	test('unknown path is a 404 envelope', T, async () => {
		const r = await proxy.get('/v2/nothing-here');
		assert.equal(r.status, 404);
		assert.equal(errorEnvelope(r).error.type, 'not_found_error');
		assertRequestId(r);
	});

	test('wrong method on a known path is a 405 envelope', T, async () => {
		for (const [m, p] of [['GET', '/v1/messages'], ['DELETE', '/v1/messages'], ['POST', '/v1/models'],
			['PUT', '/v1/messages/count_tokens']]) {
			const r = await proxy.request(m, p);
			assert.equal(r.status, 405, `${m} ${p}`);
			errorEnvelope(r);
			assertRequestId(r);
		}
		assert.equal(fake.requests.length, 0);
	});

	test('POST /v1/messages works without any key when ak is empty', T, async () => {
		fake.json(completion({ content: 'open door' }));
		const r = await proxy.post('/v1/messages', msgBody());
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].text, 'open door');
		assertRequestId(r);
		assert.equal(fake.requests.length, 1);
	});

	test('POST /v1/messages?beta=true (Claude Code style query) is routed', T, async () => {
		fake.json(completion({ content: 'beta ok' }));
		const r = await proxy.post('/v1/messages?beta=true', msgBody());
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].text, 'beta ok');
		assert.equal(fake.requests.length, 1);
		assert.equal(fake.requests[0].url, '/v1/chat/completions', 'query string must not leak upstream');
	});

	test('count_tokens with a query string is routed', T, async () => {
		const r = await proxy.post('/v1/messages/count_tokens?beta=true',
			{ model: 'glm', messages: [{ role: 'user', content: 'hi' }] });
		assert.equal(r.status, 200, r.text);
		assert.equal(typeof r.json.input_tokens, 'number');
	});

	test('anthropic-version, anthropic-beta and odd header case are accepted', T, async () => {
		fake.json(completion({ content: 'headers ok' }));
		const r = await proxy.post('/v1/messages', msgBody(), {
			'anthropic-version': '2023-06-01',
			'Anthropic-Beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14',
			'X-Stainless-Lang': 'js',
			'CONTENT-TYPE': 'application/json',
		});
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].text, 'headers ok');
		assert.equal(fake.requests.length, 1);
	});

	test('error responses carry request-id in header and body', T, async () => {
		const r = await proxy.post('/v1/messages', msgBody({ model: 'nope-model' }));
		assert.equal(r.status, 404);
		const e = errorEnvelope(r);
		assert.equal(e.request_id, assertRequestId(r));
	});
});

describe('inbound auth (ak set)', { timeout: 120000 }, () => {
	const AK = 'proxy-inbound-key-0123456789';
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		proxy = await startProxy({ config: baseConfig(fake.url, { ak: AK }) });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	test('GET / stays open', T, async () => {
		const r = await proxy.get('/');
		assert.equal(r.status, 200);
		assert.equal(r.json.health, 'ok');
	});

	test('missing key is 401 authentication_error', T, async () => {
		for (const p of ['/v1/models', '/v1/models/glm']) {
			const r = await proxy.get(p);
			assert.equal(r.status, 401, p);
			assert.equal(errorEnvelope(r).error.type, 'authentication_error');
			assertRequestId(r);
		}
		const m = await proxy.post('/v1/messages', msgBody());
		assert.equal(m.status, 401);
		assert.equal(errorEnvelope(m).error.type, 'authentication_error');
		const c = await proxy.post('/v1/messages/count_tokens', { model: 'glm', messages: [{ role: 'user', content: 'x' }] });
		assert.equal(c.status, 401);
		assert.equal(fake.requests.length, 0, 'an unauthenticated request must not reach the upstream');
	});

	test('wrong keys are 401 (bearer, x-api-key, prefix, longer, empty)', T, async () => {
		const bad = [
			{ authorization: 'Bearer wrong-key' },
			{ 'x-api-key': 'wrong-key' },
			{ authorization: `Bearer ${AK.slice(0, -1)}` },
			{ authorization: `Bearer ${AK}x` },
			{ 'x-api-key': AK.slice(0, 5) },
			{ authorization: 'Bearer ' },
			{ authorization: AK },			// no "Bearer " scheme
		];
		for (const h of bad) {
			const r = await proxy.get('/v1/models', h);
			assert.equal(r.status, 401, JSON.stringify(h));
			assert.equal(errorEnvelope(r).error.type, 'authentication_error');
		}
	});

	test('a 401 says what was missing or which header was wrong, never what it held (issue 10)', T, async () => {
		const cases = [
			[{}, /^missing API key: send x-api-key or Authorization: Bearer$/],
			[{ 'x-api-key': 'wrong-key-1234' }, /^invalid x-api-key$/],
			[{ authorization: 'Bearer wrong-key-1234' }, /^invalid key in Authorization: Bearer$/],
			[{ authorization: 'Bearer ' }, /^empty key in Authorization: Bearer$/],
			[{ authorization: 'Basic d3Jvbmcta2V5LTEyMzQ=' }, /^Authorization must be "Bearer <key>"/],
			[{ 'x-api-key': '' }, /^empty x-api-key$/],
		];
		for (const [h, want] of cases) {
			const r = await proxy.get('/v1/models', h);
			assert.equal(r.status, 401, JSON.stringify(h));
			const msg = errorEnvelope(r).error.message;
			assert.match(msg, want, JSON.stringify(h));
			assert.ok(!/wrong-key|d3Jvbm/.test(msg), `the message echoes what was sent: ${msg}`);
		}
	});

	test('Authorization: Bearer <ak> is accepted', T, async () => {
		const r = await proxy.get('/v1/models', { authorization: `Bearer ${AK}` });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.data.length, 3);
	});

	test('x-api-key: <ak> is accepted, header name case-insensitive', T, async () => {
		const r = await proxy.get('/v1/models', { 'x-api-key': AK });
		assert.equal(r.status, 200, r.text);
		const c = await RawConn.open(proxy.port);
		try {
			await c.write(rawRequest('GET', '/v1/models', { headers: { 'X-API-KEY': AK } }));
			const rr = await c.readResponse();
			assert.equal(rr.status, 200, rr.text);
		} finally {
			c.destroy();
		}
	});

	test('messages with the inbound key: upstream gets the provider key, never ak', T, async () => {
		fake.json(completion({ content: 'authed' }));
		const r = await proxy.post('/v1/messages', msgBody(), { 'x-api-key': AK });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].text, 'authed');
		const up = fake.requests[0];
		assert.equal(up.headers.authorization, 'Bearer sk-fake-upstream-key');
		assert.ok(!up.rawBody.includes(AK), 'inbound key leaked into the upstream body');
		assert.ok(!JSON.stringify(up.headers).includes(AK), 'inbound key leaked into upstream headers');
	});
});
