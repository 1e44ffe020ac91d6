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
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { startFakeUpstream, gate } from './lib/fake-upstream.mjs';
import { Proxy, startProxy, baseConfig, teardown, msgBody, pollUntil, runBinary, repoRoot } from './lib/proxy.mjs';
import { parseMetrics } from './lib/metrics.mjs';
import { KEYS, roomInMinute, auth, windowEnd, answerWith, reload } from './lib/team.mjs';

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
		await proxy.waitForLog(/keys with limits: 1, counted by this instance alone \(limits_backend local\)/);
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

describe('usage: the log, its rotation, the report, /metrics by key', { timeout: 120000 }, () => {
	let fake, proxy, logPath;
	before(async () => {
		fake = await startFakeUpstream();
		fake.setResponder(answerWith({ prompt_tokens: 30, completion_tokens: 4, total_tokens: 34,
			prompt_tokens_details: { cached_tokens: 10 } }, { delayMs: 20 }));
		proxy = new Proxy({ config: {}, workers: 4 });
		logPath = path.join(proxy.dir, 'usage.log');
		proxy.writeConfig(keyed(fake.url, { alice: {}, bob: { limits: { requests_per_minute: 100000 } } },
			{ usage_log: logPath }));
		await proxy.start();
	});
	after(() => teardown(proxy, fake));

	const lines = (p) => (fs.existsSync(p) ? fs.readFileSync(p, 'utf8').split('\n').filter(Boolean) : []);

	test('one JSON line per request, whole, under many workers writing at once', async () => {
		const SESSION = 'session-5e1b-77';
		const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2
			? proxy.post('/v1/messages', msgBody(), { ...auth('alice'), 'x-claude-code-session-id': SESSION })
			: proxy.stream(msgBody({ model: 'claude-haiku-4-5' }), auth('bob')))));
		assert.ok(rs.every((r) => r.status === 200), rs.map((r) => r.status).join(','));
		const ids = new Set(rs.map((r) => r.headers.get('request-id')));
		const got = await pollUntil(() => { const l = lines(logPath); return l.length >= 60 ? l : null; },
			{ what: '60 usage lines' });
		assert.equal(got.length, 60);
		const recs = got.map((l) => JSON.parse(l));
		assert.deepEqual(new Set(recs.map((r) => r.request_id)), ids, 'every request once');
		for (const r of recs) {
			assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
			assert.equal(r.status, 200);
			assert.equal(r.provider, 'fake');
			assert.equal(r.route, null);
			assert.equal(r.input_tokens, 20, 'uncached input');
			assert.equal(r.cache_read_input_tokens, 10);
			assert.equal(r.cache_creation_input_tokens, 0);
			assert.equal(r.output_tokens, 4);
			assert.ok(Number.isInteger(r.duration_ms) && r.duration_ms >= 0);
			if (r.key === 'alice') {
				assert.equal(r.model_requested, 'glm');
				assert.equal(r.model, 'glm');
				assert.equal(r.session_id, SESSION);
			} else {
				assert.equal(r.key, 'bob');
				assert.equal(r.model_requested, 'claude-haiku-4-5');
				assert.equal(r.model, 'mini');
				assert.equal(r.session_id, null);
			}
		}
		assert.ok(!fs.readFileSync(logPath, 'utf8').includes(KEYS.alice), 'names, never keys');
	});

	test('failed requests are logged too, with what the client asked', async () => {
		const before = lines(logPath).length;
		const r = await proxy.post('/v1/messages', msgBody({ model: 'nope' }), auth('alice'));
		assert.equal(r.status, 404);
		const bad = await proxy.post('/v1/messages', '{"model":', auth('alice'));
		assert.equal(bad.status, 400);
		const got = await pollUntil(() => { const l = lines(logPath); return l.length >= before + 2 ? l : null; },
			{ what: 'two more lines' });
		const recs = got.slice(before).map((l) => JSON.parse(l));
		const miss = recs.find((x) => x.status === 404);
		assert.equal(miss.model_requested, 'nope');
		assert.equal(miss.model, null);
		assert.equal(miss.output_tokens, 0);
		assert.equal(recs.find((x) => x.status === 400).model_requested, null);
	});

	test('/metrics counts by key and model', async () => {
		const m = parseMetrics((await proxy.get('/metrics', auth('alice'))).text);
		assert.equal(m.types.claude_proxy_key_requests_total, 'counter');
		assert.equal(m.get('claude_proxy_key_requests_total', { key: 'alice', model: 'glm' }), 30);
		assert.equal(m.get('claude_proxy_key_requests_total', { key: 'bob', model: 'mini' }), 30);
		assert.equal(m.get('claude_proxy_key_requests_total', { key: 'alice', model: '-' }), 2);
		assert.equal(m.get('claude_proxy_key_errors_total', { key: 'alice', model: '-' }), 2);
		assert.equal(m.get('claude_proxy_key_errors_total', { key: 'alice', model: 'glm' }), 0);
		assert.equal(m.get('claude_proxy_key_tokens_total', { key: 'alice', model: 'glm', type: 'input' }), 600);
		assert.equal(m.get('claude_proxy_key_tokens_total', { key: 'bob', model: 'mini', type: 'output' }), 120);
		assert.equal(m.get('claude_proxy_key_tokens_total', { key: 'bob', model: 'mini', type: 'cache_read' }), 300);
		assert.equal(m.get('claude_proxy_key_tokens_total', { key: 'bob', model: 'mini', type: 'cache_creation' }), 0);
		assert.equal(m.get('claude_proxy_key_server_tool_calls_total', { key: 'bob', model: 'mini' }), 0);
	});

	test('logrotate moves the log away and reloads: new lines go to a fresh file, none is lost', async () => {
		// the packaged rotation, pointed at this test's file and daemon
		const conf = path.join(proxy.dir, 'logrotate.conf');
		const packaged = fs.readFileSync(path.join(repoRoot, 'packaging', 'logrotate', 'claude-proxy'), 'utf8');
		fs.writeFileSync(conf, packaged
			.replace('/var/log/claude-proxy/*.log', logPath)
			.replace(/^\s*su .*$/m, '')
			.replace('systemctl reload claude-proxy.service', `kill -HUP ${proxy.pid}`));
		const before = lines(logPath).length;
		// a request in flight across the rotation finishes into the old file
		const g = gate('rotation');
		fake.setResponder(answerWith(undefined, { after: g.promise }));
		const upstreamBefore = fake.requests.length;
		const inflight = proxy.post('/v1/messages', msgBody(), auth('alice'));
		await pollUntil(() => fake.requests.length > upstreamBefore, { what: 'the request upstream' });
		const oldWorkers = proxy.workers();
		const from = proxy.stderr.length;
		const r = spawnSync('logrotate', ['-f', '-s', path.join(proxy.dir, 'logrotate.state'), conf], { encoding: 'utf8' });
		assert.equal(r.status, 0, r.stderr);
		await proxy.waitForLog(/configuration reloaded/, 10000, from);
		const rotated = fs.readdirSync(proxy.dir).filter((f) => f.startsWith('usage.log-'));
		assert.equal(rotated.length, 1, fs.readdirSync(proxy.dir).join(' '));
		g.open();
		fake.setResponder(answerWith());
		assert.equal((await inflight).status, 200);
		await pollUntil(() => { const w = proxy.workers(); return w.every((p) => !oldWorkers.includes(p)); },
			{ timeoutMs: 10000, what: 'the old generation to go' });
		for (let i = 0; i < 5; i++) assert.equal((await proxy.post('/v1/messages', msgBody(), auth('bob'))).status, 200);
		const fresh = await pollUntil(() => { const l = lines(logPath); return l.length >= 5 ? l : null; },
			{ what: 'five lines in the fresh file' });
		assert.equal(fresh.length, 5);
		assert.ok(fresh.every((l) => JSON.parse(l).key === 'bob'));
		const old = lines(path.join(proxy.dir, rotated[0]));
		assert.equal(old.length, before + 1, 'the request in flight finished into the old file');
	});

	test('--usage-report sums a day per key', async () => {
		const today = new Date().toISOString().slice(0, 10);
		const all = fs.readdirSync(proxy.dir).filter((f) => f.startsWith('usage.log'))
			.map((f) => fs.readFileSync(path.join(proxy.dir, f), 'utf8')).join('');
		const joined = path.join(proxy.dir, 'joined.log');
		fs.writeFileSync(joined, all + 'not a record\n' +
			'{"time":"1999-01-01T00:00:00.000Z","key":"alice","status":200,"input_tokens":5}\n');
		const r = await runBinary(['--usage-report', 'today', joined]);
		assert.equal(r.code, 0, r.stderr);
		const rows = Object.fromEntries(r.stdout.split('\n').filter((l) => l && !l.startsWith('#'))
			.map((l) => l.trim().split(/\s+/)).map((w) => [w[0], w.slice(1)]));
		assert.deepEqual(rows.key, ['requests', 'errors', 'input', 'output', 'cache_read', 'cache_write', 'server_tools']);
		assert.deepEqual(rows.alice.slice(0, 2), ['33', '2'], r.stdout);
		assert.deepEqual(rows.bob, ['35', '0', '655', '155', '300', '0', '0'], r.stdout);
		assert.equal(rows.TOTAL[0], '68');
		assert.match(r.stdout, new RegExp(`# usage on ${today} \\(UTC\\)`));
		assert.match(r.stdout, /# 1 lines were not usage records/);
		const other = await runBinary(['--usage-report', '1999-01-01', joined]);
		assert.match(other.stdout, /alice\s+1\s+0\s+5\s/);
		const viaConfig = await runBinary(['-c', proxy.configPath, '--usage-report', today]);
		assert.equal(viaConfig.code, 0, viaConfig.stderr);
		assert.match(viaConfig.stdout, /bob\s+5\s+0\s/, 'the configuration\'s usage_log');
		const bad = await runBinary(['--usage-report', '2024-13-45', joined]);
		assert.equal(bad.code, 1);
		assert.match(bad.stderr, /is not a day/);
	});
});

describe('routes: the model chosen by what a request needs', { timeout: 60000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		fake.setResponder(answerWith());
		const cfg = keyed(fake.url, { alice: {}, bob: {} }, {
			routes: [
				{ name: 'background', match: { model: 'claude-*haiku*', no_tools: true }, model: 'plain' },
				{ name: 'thinking', match: { thinking: true }, model: 'reason' },
				{ name: 'long-context', match: { min_input_tokens: 2000 }, model: 'long' },
				{ name: 'vision', match: { images: true }, model: 'vision' },
				{ name: 'web', match: { server_tools: true }, model: 'web' },
				{ name: 'bob', match: { key: 'bob' }, model: 'mini' },
			],
		});
		cfg.providers[0].models.push({ id: 'reason', reasoning: true }, { id: 'long' }, { id: 'vision' }, { id: 'web' });
		proxy = await startProxy({ config: cfg });
	});
	after(() => teardown(proxy, fake));

	const TOOL = { name: 'Bash', description: 'run', input_schema: { type: 'object', properties: {} } };
	const IMAGE = { type: 'image', source: { type: 'base64', media_type: 'image/png',
		data: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==' } };

	async function served(body, who = 'alice') {
		const n = fake.requests.length;
		const r = await proxy.post('/v1/messages', body, auth(who));
		assert.equal(r.status, 200, r.text);
		const line = await proxy.waitForLog(new RegExp(`${r.headers.get('request-id')} .* route=(\\S+)`));
		return { model: fake.requests[n].json.model, route: line[1], answer: r.json };
	}

	test('each condition picks its route, in order', async () => {
		for (let i = 0; i < 2; i++) {
			const bg = await served(msgBody({ model: 'claude-haiku-4-5' }));
			assert.deepEqual([bg.model, bg.route], ['plain', 'background'], 'haiku without tools');
		}
		const bgTools = await served(msgBody({ model: 'claude-haiku-4-5', tools: [TOOL] }));
		assert.deepEqual([bgTools.model, bgTools.route], ['remote-mini', '-'], 'haiku with tools: by its name');
		const think = await served(msgBody({ model: 'claude-sonnet-4-5', thinking: { type: 'enabled', budget_tokens: 2048 } }));
		assert.deepEqual([think.model, think.route], ['reason', 'thinking']);
		assert.equal(think.answer.model, 'claude-sonnet-4-5', 'the answer names the model asked for');
		const adaptive = await served(msgBody({ thinking: { type: 'adaptive' }, tools: [TOOL] }));
		assert.deepEqual([adaptive.model, adaptive.route], ['reason', 'thinking']);
		const long = await served(msgBody({ messages: [{ role: 'user', content: 'word '.repeat(2000) }] }));
		assert.deepEqual([long.model, long.route], ['long', 'long-context']);
		const short = await served(msgBody({ messages: [{ role: 'user', content: 'word '.repeat(100) }] }));
		assert.deepEqual([short.model, short.route], ['remote-glm', '-']);
		const eyes = await served(msgBody({ messages: [{ role: 'user', content: [IMAGE, { type: 'text', text: 'what?' }] }] }));
		assert.deepEqual([eyes.model, eyes.route], ['vision', 'vision']);
		const web = await served(msgBody({ tools: [TOOL, { type: 'web_search_20250305', name: 'web_search' }] }));
		assert.deepEqual([web.model, web.route], ['web', 'web']);
		const bob = await served(msgBody({ model: 'claude-opus-4' }), 'bob');
		assert.deepEqual([bob.model, bob.route], ['remote-mini', 'bob']);
	});

	test('route decisions are counted in /metrics', async () => {
		const m = parseMetrics((await proxy.get('/metrics', auth('alice'))).text);
		assert.equal(m.types.claude_proxy_route_requests_total, 'counter');
		assert.equal(m.get('claude_proxy_route_requests_total', { route: 'background', model: 'plain' }), 2);
		assert.equal(m.get('claude_proxy_route_requests_total', { route: 'thinking', model: 'reason' }), 2);
		assert.equal(m.get('claude_proxy_route_requests_total', { route: 'bob', model: 'mini' }), 1);
		assert.equal(m.get('claude_proxy_route_requests_total', { route: 'web', model: 'web' }), 1);
	});

	test('-t refuses a route to a model that does not exist', async () => {
		const cfg = keyed(fake.url, { alice: {} }, { routes: [{ name: 'r', model: 'claude-sonnet-4-5' }] });
		const p = new Proxy({ config: cfg });
		const r = await runBinary(['-t', '-c', p.configPath]);
		p.cleanup();
		assert.equal(r.code, 78, r.stderr);	// EX_CONFIG
		assert.match(r.stderr, /routes\[0\]\.model: no model has the id "claude-sonnet-4-5"/);
	});
});
