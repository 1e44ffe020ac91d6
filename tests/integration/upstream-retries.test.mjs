// providers[].api_keys and providers[].retries (issue 12): keys used in turn
// by every worker, a revoked key set aside, a 429 cooling one key, keys never
// shown; retries of one provider with backoff before the first byte only.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { startFakeUpstream, completion, textStreamChunks, chunk, closedPort } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, msgBody, errorEnvelope, checkStreamGrammar, teardown } from './lib/proxy.mjs';
import { metric, streamOnce } from './lib/hardening.mjs';

const T = { timeout: 60000 };
const KEYS = ['sk-rot-key-aaaaaaaa-0', 'sk-rot-key-bbbbbbbb-1', 'sk-rot-key-cccccccc-2'];
const bearerIndex = (rec) => KEYS.indexOf((rec.headers.authorization ?? '').replace(/^Bearer /, ''));

describe('api_keys: used in turn, set aside, cooled', { timeout: 240000 }, () => {
	let fake, proxy;

	before(async () => {
		fake = await startFakeUpstream();
		const cfg = baseConfig(fake.url);
		cfg.providers[0].api_key = undefined;
		delete cfg.providers[0].api_key;
		cfg.providers[0].api_keys = KEYS;
		proxy = await startProxy({ workers: 3, config: { ...cfg, max_workers: 3 } });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	test('keys rotate across workers, are never echoed, /metrics counts them by index', T, async () => {
		fake.setResponder((rec) => ({ status: 200, body: completion({ content: `echo ${rec.headers.authorization}` }) }));
		const seen = [];
		for (let i = 0; i < 9; i++) {
			const r = await proxy.post('/v1/messages', msgBody());
			assert.equal(r.status, 200, r.text);
			for (const k of KEYS) assert.ok(!r.text.includes(k), 'a key echoed by the upstream is masked');
			seen.push(bearerIndex(fake.requests.at(-1)));
		}
		assert.ok(!seen.includes(-1), `every request carried one of the keys: ${seen}`);
		// round robin over the whole daemon: 9 requests, 3 each
		for (let k = 0; k < 3; k++)
			assert.equal(seen.filter((x) => x === k).length, 3, `key ${k} used 3 times: ${seen}`);
		const m = await proxy.get('/metrics');
		for (let k = 0; k < 3; k++) {
			assert.equal(metric(m.text, 'claude_proxy_upstream_key_requests_total', { provider: 'fake', index: k }), 3, m.text);
			assert.equal(metric(m.text, 'claude_proxy_upstream_key_state', { provider: 'fake', index: k, state: 'active' }), 1);
		}
		for (const k of KEYS) {
			assert.ok(!proxy.stderr.includes(k), 'no key in the log');
			assert.ok(!m.text.includes(k), 'no key in /metrics');
		}
	});

	test('a key answered 401 is set aside (logged by index), the request goes on with another, never used again', T, async () => {
		const from = proxy.stderr.length;
		fake.setResponder((rec) => bearerIndex(rec) === 1
			? { status: 401, body: { error: { message: `invalid key ${rec.headers.authorization}` } } }
			: { status: 200, body: completion({ content: 'ok' }) });
		for (let i = 0; i < 8; i++) {
			const r = await proxy.post('/v1/messages', msgBody());
			assert.equal(r.status, 200, r.text);
		}
		const uses = fake.requests.map(bearerIndex);
		assert.equal(uses.filter((x) => x === 1).length, 1, `key 1 tried once only: ${uses}`);
		await proxy.waitForLog(/provider fake: api_keys\[1\] answered 401: set aside/, 5000, from);
		for (const k of KEYS) assert.ok(!proxy.stderr.includes(k), 'no key in the log');
		const m = await proxy.get('/metrics');
		assert.equal(metric(m.text, 'claude_proxy_upstream_key_state', { provider: 'fake', index: 1, state: 'set_aside' }), 1, m.text);
		assert.ok(metric(m.text, 'claude_proxy_upstream_key_failures_total', { provider: 'fake', index: 1 }) >= 1);
	});

	test('a key answered 429 cools down for its retry-after; the others serve', T, async () => {
		let first = true;
		fake.setResponder((rec) => {
			if (bearerIndex(rec) === 0 && first) {
				first = false;
				return { status: 429, headers: { 'retry-after': '120' }, body: { error: { message: 'slow' } } };
			}
			return { status: 200, body: completion({ content: 'ok' }) };
		});
		// no retries configured: the 429 reaches the client once; round
		// robin reaches key 0 within the first three requests
		let got429 = 0;
		for (let i = 0; i < 6; i++) {
			const r = await proxy.post('/v1/messages', msgBody());
			if (r.status === 429) got429++;
			else assert.equal(r.status, 200, r.text);
		}
		assert.equal(first, false, 'key 0 was used');
		assert.equal(got429, 1);
		const uses = fake.requests.map(bearerIndex);
		assert.equal(uses.filter((x) => x === 0).length, 1, `key 0 used once, then cooling: ${uses}`);
		const m = await proxy.get('/metrics');
		assert.equal(metric(m.text, 'claude_proxy_upstream_key_state', { provider: 'fake', index: 0, state: 'cooling' }), 1, m.text);
	});

	test('every key set aside or cooling: 429 with retry-after, no upstream call', T, async () => {
		fake.setResponder(() => ({ status: 401, body: { error: { message: 'revoked' } } }));
		const r1 = await proxy.post('/v1/messages', msgBody());
		assert.equal(r1.status, 502, r1.text);
		const before = fake.requests.length;
		const r = await proxy.post('/v1/messages', msgBody());
		// keys 1 and 2 set aside, key 0 still cooling from the test
		// before (retry-after 120): a 429 with its retry-after
		assert.equal(r.status, 429, r.text);
		assert.equal(fake.requests.length, before, 'no upstream call without a usable key');
		assert.equal(errorEnvelope(r).error.type, 'rate_limit_error');
		const ra = Number(r.headers.get('retry-after'));
		assert.ok(ra > 60 && ra <= 120, `retry-after ${ra}`);
	});
});

describe('api_keys: every key revoked -> the next provider', { timeout: 120000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		const cfg = baseConfig(fake.url);
		cfg.providers = [
			{ name: 'keyed', base_url: `${fake.url}/keyed/v1`, api_keys: ['sk-keyed-aaaaaaaaaa', 'sk-keyed-bbbbbbbbbb'], models: [{ id: 'm' }] },
			{ name: 'backup', base_url: `${fake.url}/backup/v1`, api_key: 'sk-backup-cccccccccc', models: [{ id: 'm' }] },
		];
		proxy = await startProxy({ workers: 1, config: cfg });
	});
	after(() => teardown(proxy, fake));

	test('both keys answered 403: the request\'s fault, the backup serves, neither key set aside', T, async () => {
		const from = proxy.stderr.length;
		fake.setResponder((rec) => rec.url.startsWith('/keyed')
			? { status: 403, body: { error: { message: 'Your input was flagged by moderation' } } }
			: { status: 200, body: completion({ content: 'backup' }) });
		const r = await proxy.post('/v1/messages', msgBody({ model: 'm' }));
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].text, 'backup');
		assert.deepEqual(fake.requests.map((x) => x.url.split('/')[1]), ['keyed', 'keyed', 'backup']);
		assert.notEqual(fake.requests[0].headers.authorization, fake.requests[1].headers.authorization,
			'the other key, not the refused one again');
		// a request every key refuses says nothing of the keys: the next
		// request is tried with them again
		const r2 = await proxy.post('/v1/messages', msgBody({ model: 'm' }));
		assert.equal(r2.status, 200, r2.text);
		assert.deepEqual(fake.requests.slice(3).map((x) => x.url.split('/')[1]), ['keyed', 'keyed', 'backup']);
		assert.ok(!/set aside/.test(proxy.stderr.slice(from)), proxy.stderr.slice(from));
		const m = await proxy.get('/metrics');
		for (let k = 0; k < 2; k++)
			assert.equal(metric(m.text, 'claude_proxy_upstream_key_state', { provider: 'keyed', index: k, state: 'active' }), 1, m.text);
	});

	test('a 403 where the other key is served: that key set aside, never used again', T, async () => {
		const from = proxy.stderr.length;
		fake.setResponder((rec) => !rec.url.startsWith('/keyed')
			? { status: 200, body: completion({ content: 'backup' }) }
			: rec.headers.authorization === 'Bearer sk-keyed-aaaaaaaaaa'
				? { status: 403, body: { error: { message: 'no access to this model' } } }
				: { status: 200, body: completion({ content: 'keyed' }) });
		for (let i = 0; i < 2; i++) {
			const r = await proxy.post('/v1/messages', msgBody({ model: 'm' }));
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.content[0].text, 'keyed');
		}
		await proxy.waitForLog(/provider keyed: api_keys\[0\] answered 403 where api_keys\[1\] was served: set aside/, 5000, from);
		const n = fake.requests.length;
		for (let i = 0; i < 4; i++) {
			const r = await proxy.post('/v1/messages', msgBody({ model: 'm' }));
			assert.equal(r.json.content[0].text, 'keyed');
		}
		assert.deepEqual(fake.requests.slice(n).map((x) => x.headers.authorization),
			Array(4).fill('Bearer sk-keyed-bbbbbbbbbb'), 'the set-aside key is not tried again');
		const m = await proxy.get('/metrics');
		assert.equal(metric(m.text, 'claude_proxy_upstream_key_state', { provider: 'keyed', index: 0, state: 'set_aside' }), 1, m.text);
	});
});

describe('retries', { timeout: 240000 }, () => {
	let fake, proxy, dead;

	before(async () => {
		fake = await startFakeUpstream();
		dead = await closedPort();
		const cfg = baseConfig(fake.url, { upstream_timeout_seconds: 6, stream_ping_seconds: 1 });
		cfg.providers[0].retries = { count: 2, base_ms: 50, max_wait_seconds: 3 };
		cfg.providers.push({ name: 'deadretry', base_url: `http://127.0.0.1:${dead}`, api_key: 'sk-dead-dddddddddd',
			retries: { count: 2, base_ms: 20 }, models: [{ id: 'dead' }] });
		proxy = await startProxy({ workers: 1, config: { ...cfg, max_workers: 1 } });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	test('a 429 then success', T, async () => {
		const from = proxy.stderr.length;
		fake.json({ error: { message: 'slow' } }, { status: 429 });
		fake.json(completion({ content: 'second try' }));
		const r = await proxy.post('/v1/messages', msgBody());
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].text, 'second try');
		assert.equal(fake.requests.length, 2);
		const rid = r.headers.get('request-id');
		await proxy.waitForLog(new RegExp(`${rid} provider fake: retry 1 of 2 in \\d+ ms after 429`), 5000, from);
		const m = await proxy.get('/metrics');
		assert.ok(metric(m.text, 'claude_proxy_upstream_retries_total', { provider: 'fake' }) >= 1, m.text);
	});

	test('a 503 then success (stream)', T, async () => {
		fake.json({ error: { message: 'down' } }, { status: 503 });
		fake.stream(textStreamChunks(['after ', 'retry']));
		const s = await streamOnce(proxy.port, msgBody());
		assert.equal(s.status, 200, s.raw);
		assert.equal(checkStreamGrammar(s.events).blocks[0].text, 'after retry');
		assert.equal(fake.requests.length, 2);
	});

	test('a dropped connection then success', T, async () => {
		fake.enqueue({ destroy: true });
		fake.json(completion({ content: 'reconnected' }));
		const r = await proxy.post('/v1/messages', msgBody());
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].text, 'reconnected');
		assert.equal(fake.requests.length, 2);
	});

	test('connection refused: retried, then the error', T, async () => {
		const from = proxy.stderr.length;
		const r = await proxy.post('/v1/messages', msgBody({ model: 'dead' }));
		assert.equal(r.status, 502, r.text);
		await proxy.waitForLog(/provider deadretry: retry 2 of 2 in \d+ ms after connection/, 5000, from);
	});

	test('retry-after honoured: the second try waits for it', T, async () => {
		fake.json({ error: { message: 'slow' } }, { status: 429, headers: { 'retry-after': '2' } });
		fake.json(completion({ content: 'waited' }));
		const r = await proxy.post('/v1/messages', msgBody());
		assert.equal(r.status, 200, r.text);
		const gap = fake.requests[1].at - fake.requests[0].at;
		assert.ok(gap >= 1900, `second try ${gap} ms after the first, retry-after 2 s`);
	});

	test('retry-after beyond max_wait_seconds: no wait, the 429 reaches the client', T, async () => {
		fake.json({ error: { message: 'slow' } }, { status: 429, headers: { 'retry-after': '60' } });
		const t0 = Date.now();
		const r = await proxy.post('/v1/messages', msgBody());
		assert.equal(r.status, 429, r.text);
		assert.equal(r.headers.get('retry-after'), '60');
		assert.ok(Date.now() - t0 < 2500, 'answered without waiting');
		assert.equal(fake.requests.length, 1);
	});

	test('no retry after the first byte of a stream', T, async () => {
		fake.stream([chunk({ role: 'assistant', content: 'partial' })], { end: 'cut' });
		const s = await streamOnce(proxy.port, msgBody());
		assert.equal(s.status, 200);
		assert.ok(s.events.some((e) => e.event === 'error'), s.raw);
		assert.equal(fake.requests.length, 1, 'not tried again');
	});

	test('a client that hangs up during the backoff ends it', T, async () => {
		const from = proxy.stderr.length;
		fake.json({ error: { message: 'slow' } }, { status: 429, headers: { 'retry-after': '3' } });
		const body = JSON.stringify(msgBody());
		const sock = net.connect(proxy.port, '127.0.0.1');
		await new Promise((r) => sock.once('connect', r));
		sock.write(`POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
		await fake.waitForRequests?.(1) ?? new Promise((r) => { const i = setInterval(() => { if (fake.requests.length) { clearInterval(i); r(); } }, 20); });
		const t0 = Date.now();
		sock.destroy();
		await proxy.waitForLog(/client left during the wait before a retry/, 5000, from);
		assert.ok(Date.now() - t0 < 2500, 'the wait ended with the hang-up');
		assert.equal(fake.requests.length, 1, 'no retry for a gone client');
		fake.json(completion({ content: 'still serves' }));
		const r = await proxy.post('/v1/messages', msgBody());
		assert.equal(r.status, 200, r.text);
	});
});

describe('retries with api_keys', { timeout: 120000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		const cfg = baseConfig(fake.url, { upstream_timeout_seconds: 6 });
		cfg.providers = [
			{ name: 'one', base_url: `${fake.url}/one/v1`, api_keys: ['sk-one-key-aaaaaaaaaa'],
				retries: { count: 2, base_ms: 50, max_wait_seconds: 1 }, models: [{ id: 'one' }] },
			{ name: 'two', base_url: `${fake.url}/two/v1`, api_keys: ['sk-two-key-aaaaaaaaaa', 'sk-two-key-bbbbbbbbbb'],
				retries: { count: 2, base_ms: 50, max_wait_seconds: 1 }, models: [{ id: 'two' }] },
		];
		proxy = await startProxy({ workers: 1, config: { ...cfg, max_workers: 1 } });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	test('the only key cools longer than max_wait_seconds: no retry, the upstream\'s 429 reaches the client', T, async () => {
		fake.setResponder(() => ({ status: 429, body: { error: { message: 'upstream says slow down' } } }));
		const r = await proxy.post('/v1/messages', msgBody({ model: 'one' }));
		assert.equal(r.status, 429, r.text);
		assert.match(errorEnvelope(r).error.message, /upstream says slow down/, 'the upstream\'s answer, not "every key cooling"');
		assert.equal(fake.requests.length, 1);
	});

	test('a 429 without retry-after: the retry goes at once to the other key', T, async () => {
		fake.setResponder((rec) => rec.headers.authorization === 'Bearer sk-two-key-aaaaaaaaaa'
			? { status: 429, body: { error: { message: 'slow' } } }
			: { status: 200, body: completion({ content: 'other key' }) });
		for (let i = 0; i < 2; i++) {
			const r = await proxy.post('/v1/messages', msgBody({ model: 'two' }));
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.content[0].text, 'other key');
		}
		const keys = fake.requests.map((q) => q.headers.authorization.slice(-10));
		assert.ok(keys.filter((k) => k === 'aaaaaaaaaa').length === 1, `key a used once, then cooling: ${keys}`);
	});
});
