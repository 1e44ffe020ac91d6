// The team gateway (issue 13): named keys with limits shared by every
// worker, Anthropic's rate-limit headers and 429s, a worker killed with a
// concurrency place, reloads that keep counters, routes by what a request
// needs, the usage log and /metrics by key and model.
//
// Limits count in UTC minutes and days: a test that must stay inside one
// minute first waits, when the minute is nearly over, for the next one to
// begin (a wait on the clock, not a synchronisation).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startFakeUpstream, completion, chunk, usageChunk, gate } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, teardown, msgBody, delay, pollUntil } from './lib/proxy.mjs';
import { parseMetrics } from './lib/metrics.mjs';

export const KEYS = {
	alice: 'alice-key-0123456789',
	bob: 'bob-key-0123456789',
	carol: 'carol-key-0123456789',
	dave: 'dave-key-0123456789',
};

/** Wait until at least `needS` seconds of the current UTC minute are left. */
export async function roomInMinute(needS = 20) {
	const left = 60 - new Date().getUTCSeconds() - new Date().getUTCMilliseconds() / 1000;
	if (left < needS) await delay(left * 1000 + 250);
}

export function auth(name) {
	return { authorization: `Bearer ${KEYS[name]}` };
}

/** The RFC 3339 end of the current UTC minute (or day). */
export function windowEnd(unitS, now = Date.now()) {
	const end = Math.floor(now / 1000 / unitS) * unitS + unitS;
	return new Date(end * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A responder: a text answer (plain or streamed) with this usage, after
 * delayMs or once `after` (a promise) resolves. */
export function answerWith(usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
	{ delayMs = 0, after = null } = {}) {
	return (rec) => {
		const spec = rec.json?.stream
			? { stream: true, chunks: [chunk({ role: 'assistant', content: '' }), chunk({ content: 'hi' }),
				chunk({}, { finish: 'stop' }), usageChunk(usage.prompt_tokens, usage.completion_tokens)] }
			: { status: 200, body: completion({ content: 'hi', usage }) };
		if (after) return { gate: { promise: after }, then: spec };
		return delayMs ? { gate: { promise: delay(delayMs) }, then: spec } : spec;
	};
}

/** SIGHUP with a new configuration; resolves once the old generation of
 * workers has gone, so every connection meets the new one. */
export async function reload(proxy, config) {
	const old = await pollUntil(() => { const w = proxy.workers(); return w.length ? w : null; },
		{ what: 'workers' });
	const from = proxy.stderr.length;
	proxy.writeConfig(config);
	proxy.signal('SIGHUP');
	await proxy.waitForLog(/configuration reloaded|reload failed/, 10000, from);
	if (/reload failed/.test(proxy.stderr.slice(from))) throw new Error(proxy.stderr.slice(from));
	await pollUntil(() => { const w = proxy.workers(); return w.length && w.every((p) => !old.includes(p)); },
		{ timeoutMs: 10000, what: 'the old generation to go' });
}

function keyed(fakeUrl, keys, extra = {}) {
	return baseConfig(fakeUrl, {
		keys: Object.entries(keys).map(([name, v]) => ({ name, key: KEYS[name], ...v })),
		...extra,
	});
}

describe('key limits', { timeout: 240000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		fake.setResponder(answerWith(undefined, { delayMs: 100 }));
	});
	after(() => teardown(proxy, fake));

	test('requests_per_minute holds exactly across workers with parallel clients', async () => {
		proxy = await startProxy({ config: keyed(fake.url, { alice: { limits: { requests_per_minute: 7 } }, bob: {} }), workers: 4 });
		await roomInMinute(25);
		const from = fake.requests.length;
		const rs = await Promise.all(Array.from({ length: 20 }, () => proxy.post('/v1/messages', msgBody(), auth('alice'))));
		const ok = rs.filter((r) => r.status === 200);
		const refused = rs.filter((r) => r.status === 429);
		assert.equal(ok.length, 7, rs.map((r) => r.status).join(','));
		assert.equal(refused.length, 13);
		assert.equal(fake.requests.length - from, 7, 'refused requests never reach the upstream');
		// every answer carries the key's headers; the admitted ones count down
		const remaining = ok.map((r) => Number(r.headers.get('anthropic-ratelimit-requests-remaining'))).sort();
		assert.deepEqual(remaining, [0, 1, 2, 3, 4, 5, 6]);
		for (const r of rs) {
			assert.equal(r.headers.get('anthropic-ratelimit-requests-limit'), '7');
			assert.equal(r.headers.get('anthropic-ratelimit-requests-reset'), windowEnd(60));
			assert.equal(r.headers.get('anthropic-ratelimit-tokens-limit'), null, 'no token limits, no token headers');
		}
		for (const r of refused) {
			assert.equal(r.json.type, 'error');
			assert.equal(r.json.error.type, 'rate_limit_error');
			assert.match(r.json.error.message, /key alice: 7 requests per minute/);
			assert.ok(r.json.request_id);
			assert.equal(r.headers.get('anthropic-ratelimit-requests-remaining'), '0');
			const ra = Number(r.headers.get('retry-after'));
			const left = 60 - new Date().getUTCSeconds();
			assert.ok(ra >= 1 && ra <= 60 && Math.abs(ra - left) <= 2, `retry-after ${ra}, ${left} s left in the minute`);
		}
		// another key is not touched; a key without limits gets no headers
		const b = await proxy.post('/v1/messages', msgBody(), auth('bob'));
		assert.equal(b.status, 200);
		assert.equal(b.headers.get('anthropic-ratelimit-requests-limit'), null);
		// the access line names the key, never the key itself
		await proxy.waitForLog(/ 429 model=glm .* key=alice route=-/);
		assert.ok(!proxy.stderr.includes(KEYS.alice));
		await proxy.stop();
		proxy = null;
	});

	test('concurrent_requests: a place is held until the answer ends, then given back', async () => {
		proxy = await startProxy({ config: keyed(fake.url, { alice: { limits: { concurrent_requests: 2 } } }), workers: 4 });
		const g = gate('held');
		fake.setResponder(answerWith(undefined, { after: g.promise }));
		const from = fake.requests.length;
		const held = [proxy.post('/v1/messages', msgBody(), auth('alice')),
			proxy.stream(msgBody(), auth('alice'))];
		await pollUntil(() => fake.requests.length - from === 2, { what: 'two requests upstream' });
		const third = await proxy.post('/v1/messages', msgBody(), auth('alice'));
		assert.equal(third.status, 429);
		assert.equal(third.headers.get('retry-after'), '1');
		assert.match(third.json.error.message, /2 concurrent requests/);
		g.open();
		const [a, s] = await Promise.all(held);
		assert.equal(a.status, 200);
		assert.equal(s.status, 200);
		fake.setResponder(answerWith());
		const fourth = await proxy.post('/v1/messages', msgBody(), auth('alice'));
		assert.equal(fourth.status, 200, 'the places were given back');
		await proxy.stop();
		proxy = null;
	});

	test('a worker killed mid-request gives its concurrency place back', async () => {
		const cfg = keyed(fake.url, { alice: { limits: { concurrent_requests: 1 } } }, { max_workers: 1 });
		proxy = await startProxy({ config: cfg, workers: 1 });
		fake.setResponder((rec) => (rec.json?.messages?.[0]?.content === 'hang' ? { hang: true } : answerWith()(rec)));
		const from = fake.requests.length;
		const hung = proxy.post('/v1/messages', msgBody({ messages: [{ role: 'user', content: 'hang' }] }), auth('alice'))
			.catch((e) => e);
		await pollUntil(() => fake.requests.length > from, { what: 'the request upstream' });
		const [worker] = proxy.workers();
		process.kill(worker, 'SIGKILL');
		assert.ok((await hung) instanceof Error, 'the killed worker\'s client lost its connection');
		await proxy.waitForLog(/killed by signal 9/);
		const next = await proxy.post('/v1/messages', msgBody(), auth('alice'));
		assert.equal(next.status, 200, `the place came back: ${next.text}`);
		await proxy.stop();
		proxy = null;
	});

	test('input_tokens_per_minute: the estimate admits, the upstream\'s count settles', async () => {
		// every request is estimated at E tokens, the upstream counts 50
		proxy = await startProxy({ config: keyed(fake.url, { alice: { limits: { input_tokens_per_minute: 100 } } }) });
		fake.setResponder(answerWith({ prompt_tokens: 50, completion_tokens: 3, total_tokens: 53 }));
		const est = (await proxy.post('/v1/messages/count_tokens', { model: 'glm', messages: msgBody().messages }, auth('alice'))).json.input_tokens;
		assert.ok(est > 0 && est < 50, `estimate ${est}`);
		await roomInMinute(20);
		const r1 = await proxy.post('/v1/messages', msgBody(), auth('alice'));
		assert.equal(r1.status, 200);
		assert.equal(r1.headers.get('anthropic-ratelimit-input-tokens-limit'), '100');
		assert.equal(r1.headers.get('anthropic-ratelimit-input-tokens-remaining'), String(100 - est));
		assert.equal(r1.headers.get('anthropic-ratelimit-input-tokens-reset'), windowEnd(60));
		assert.equal(r1.headers.get('anthropic-ratelimit-tokens-limit'), '100', 'tokens-*: the only token limit');
		const r2 = await proxy.post('/v1/messages', msgBody(), auth('alice'));
		assert.equal(r2.status, 200);
		assert.equal(r2.headers.get('anthropic-ratelimit-input-tokens-remaining'), String(100 - 50 - est),
			'the first request counts what the upstream said, 50');
		const r3 = await proxy.post('/v1/messages', msgBody(), auth('alice'));
		assert.equal(r3.status, 429, 'settled at 100: no room for another estimate');
		assert.match(r3.json.error.message, /100 input tokens per minute/);
		const peek = await proxy.post('/v1/messages/count_tokens', { model: 'glm', messages: msgBody().messages }, auth('alice'));
		assert.equal(peek.headers.get('anthropic-ratelimit-input-tokens-remaining'), '0', 'count_tokens shows the standing');
		await proxy.stop();
		proxy = null;
	});

	test('output_tokens_per_day: charged as answers end, 429 until midnight UTC', async () => {
		proxy = await startProxy({ config: keyed(fake.url, { alice: { limits: { output_tokens_per_day: 30, input_tokens_per_minute: 100000 } } }) });
		fake.setResponder(answerWith({ prompt_tokens: 5, completion_tokens: 20, total_tokens: 25 }));
		const r1 = await proxy.stream(msgBody(), auth('alice'));
		assert.equal(r1.status, 200);
		// a stream carries the headers in its head, before the answer is known
		assert.equal(r1.headers.get('anthropic-ratelimit-output-tokens-limit'), '30');
		assert.equal(r1.headers.get('anthropic-ratelimit-output-tokens-remaining'), '30');
		assert.equal(r1.headers.get('anthropic-ratelimit-output-tokens-reset'), windowEnd(86400));
		const r2 = await proxy.post('/v1/messages', msgBody(), auth('alice'));
		assert.equal(r2.status, 200);
		assert.equal(r2.headers.get('anthropic-ratelimit-output-tokens-remaining'), '10', 'the stream\'s 20 were charged');
		// tokens-*: the most restrictive of input and output
		assert.equal(r2.headers.get('anthropic-ratelimit-tokens-limit'), '30');
		assert.equal(r2.headers.get('anthropic-ratelimit-tokens-remaining'), '10');
		const r3 = await proxy.post('/v1/messages', msgBody(), auth('alice'));
		assert.equal(r3.status, 429);
		assert.match(r3.json.error.message, /30 output tokens for today/);
		const ra = Number(r3.headers.get('retry-after'));
		const toMidnight = 86400 - Math.floor(Date.now() / 1000) % 86400;
		assert.ok(Math.abs(ra - toMidnight) <= 2, `retry-after ${ra}, ${toMidnight} s to midnight UTC`);
		assert.equal(r3.headers.get('anthropic-ratelimit-output-tokens-remaining'), '0');
		await proxy.stop();
		proxy = null;
	});

	test('a reload keeps the counters of keys that stay, starts new ones, drops removed ones', async () => {
		fake.setResponder(answerWith());
		const cfg = keyed(fake.url, { alice: { limits: { requests_per_minute: 3 } }, carol: { limits: { requests_per_minute: 1 } } });
		proxy = await startProxy({ config: cfg });
		await roomInMinute(25);
		for (let i = 0; i < 2; i++) assert.equal((await proxy.post('/v1/messages', msgBody(), auth('alice'))).status, 200);
		assert.equal((await proxy.post('/v1/messages', msgBody(), auth('carol'))).status, 200);
		// alice's limit rises to 4, carol goes, bob comes
		await reload(proxy, keyed(fake.url, { alice: { limits: { requests_per_minute: 4 }, models: ['glm'] }, bob: { limits: { requests_per_minute: 2 } } }));
		const a = [];
		for (let i = 0; i < 3; i++) a.push(await proxy.post('/v1/messages', msgBody(), auth('alice')));
		assert.deepEqual(a.map((r) => r.status), [200, 200, 429], 'alice had used 2 of her 4');
		assert.equal(a[0].headers.get('anthropic-ratelimit-requests-limit'), '4');
		assert.equal(a[0].headers.get('anthropic-ratelimit-requests-remaining'), '1');
		const b = [];
		for (let i = 0; i < 3; i++) b.push((await proxy.post('/v1/messages', msgBody(), auth('bob'))).status);
		assert.deepEqual(b, [200, 200, 429], 'bob starts afresh');
		assert.equal((await proxy.post('/v1/messages', msgBody(), auth('carol'))).status, 401, 'carol is gone');
		await proxy.stop();
		proxy = null;
	});
});

describe('keys: models they may use', { timeout: 60000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		fake.setResponder(answerWith());
		proxy = await startProxy({ config: keyed(fake.url, {
			alice: { models: ['mini'] },
			bob: { models: ['mini', 'claude-sonnet-4'], default_model: 'mini' },
		}, { ak: 'the-shared-ak-0123456789' }) });
	});
	after(() => teardown(proxy, fake));

	test('a model outside the key\'s list is 403, or its default model', async () => {
		const denied = await proxy.post('/v1/messages', msgBody({ model: 'glm' }), auth('alice'));
		assert.equal(denied.status, 403);
		assert.equal(denied.json.error.type, 'permission_error');
		assert.match(denied.json.error.message, /key alice may not use glm/);
		const n = fake.requests.length;
		const viaAlias = await proxy.post('/v1/messages', msgBody({ model: 'claude-sonnet-4-5' }), auth('bob'));
		assert.equal(viaAlias.status, 200);
		assert.equal(fake.requests[n].json.model, 'remote-glm', 'bob may use glm through its alias');
		const fallback = await proxy.post('/v1/messages', msgBody({ model: 'plain' }), auth('bob'));
		assert.equal(fallback.status, 200);
		assert.equal(fake.requests[n + 1].json.model, 'remote-mini', 'a model bob may not use: his default');
		assert.equal(fallback.json.model, 'plain', 'the answer names the model asked for');
		const unknown = await proxy.post('/v1/messages', msgBody({ model: 'no-such-model' }), auth('bob'));
		assert.equal(unknown.status, 200, 'an unknown model: the default too');
		assert.equal((await proxy.post('/v1/messages', msgBody({ model: 'no-such-model' }), auth('alice'))).status, 404);
		const ak = await proxy.post('/v1/messages', msgBody({ model: 'glm' }), { 'x-api-key': 'the-shared-ak-0123456789' });
		assert.equal(ak.status, 200, 'the ak may use every model');
		assert.equal((await proxy.post('/v1/messages', msgBody(), { 'x-api-key': 'nobody' })).status, 401);
		await proxy.waitForLog(/ 200 model=glm .* key=ak route=-/);
	});
});
