// Key limits shared through Redis (issue 13): two claude-proxy instances
// enforce one limit; Redis stopped in the middle of a run fails open or
// closed as configured and is logged once a minute, not per request; when
// it is back, counting resumes. The test starts its own redis-server on a
// free port, without persistence, and skips (saying so) where there is
// none; tests/run.sh installs it.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

import { startFakeUpstream } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, teardown, msgBody, pollUntil, mkTmpDir } from './lib/proxy.mjs';
import { KEYS, auth, roomInMinute, answerWith } from './lib/team.mjs';

const redisBin = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();

async function freePort() {
	const s = net.createServer();
	await new Promise((r) => s.listen(0, '127.0.0.1', r));
	const { port } = s.address();
	await new Promise((r) => s.close(r));
	return port;
}

class Redis {
	constructor(port) {
		this.port = port;
		this.dir = mkTmpDir('cp-redis-');
	}

	async start() {
		this.proc = spawn(redisBin, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '',
			'--appendonly', 'no', '--dir', this.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
		this.exited = new Promise((r) => this.proc.on('exit', r));
		let out = '';
		await new Promise((resolve, reject) => {
			const t = setTimeout(() => reject(new Error(`redis-server not ready: ${out}`)), 10000);
			this.proc.stdout.on('data', (d) => {
				out += d;
				if (/Ready to accept connections/.test(out)) { clearTimeout(t); resolve(); }
			});
			this.proc.on('exit', () => { clearTimeout(t); reject(new Error(`redis-server exited: ${out}`)); });
		});
		return this;
	}

	async stop() {
		if (!this.proc || this.proc.exitCode !== null) return;
		this.proc.kill('SIGKILL');
		await this.exited;
	}
}

const T = { timeout: 120000 };

describe('limits shared through Redis', { timeout: 300000, skip: redisBin ? false : 'SKIP: redis-server is not installed' }, () => {
	let fake, redis, a, b;
	before(async () => {
		fake = await startFakeUpstream();
		fake.setResponder(answerWith(undefined, { delayMs: 50 }));
		redis = await new Redis(await freePort()).start();
		const cfg = (failure) => baseConfig(fake.url, {
			keys: [
				{ name: 'alice', key: KEYS.alice, limits: { requests_per_minute: 6 } },
				{ name: 'bob', key: KEYS.bob, limits: { concurrent_requests: 1 } },
			],
			limits_backend: `redis://127.0.0.1:${redis.port}/3`,
			limits_redis_failure: failure,
			limits_redis_timeout_ms: 200,
		});
		a = await startProxy({ config: cfg('open') });
		b = await startProxy({ config: cfg('closed') });
	});
	after(() => teardown(a, b, fake, () => redis?.stop()));

	test('two instances share one requests_per_minute, exactly', T, async () => {
		await a.waitForLog(/keys with limits: 2, counted in Redis at 127\.0\.0\.1:\d+\/3, shared with every instance using it; while it cannot be reached, requests are served uncounted/);
		await b.waitForLog(/while it cannot be reached, requests are refused \(503\)/);
		await roomInMinute(25);
		const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b)
			.post('/v1/messages', msgBody(), auth('alice'))));
		assert.equal(rs.filter((r) => r.status === 200).length, 6, rs.map((r) => r.status).join(','));
		assert.equal(rs.filter((r) => r.status === 429).length, 10);
		const remaining = rs.filter((r) => r.status === 200)
			.map((r) => Number(r.headers.get('anthropic-ratelimit-requests-remaining'))).sort();
		assert.deepEqual(remaining, [0, 1, 2, 3, 4, 5], 'one count across both');
		for (const r of rs.filter((x) => x.status === 429)) {
			assert.equal(r.json.error.type, 'rate_limit_error');
			assert.ok(Number(r.headers.get('retry-after')) >= 1);
		}
	});

	test('a concurrency place taken on one instance is taken on the other', T, async () => {
		const g = {};
		g.promise = new Promise((r) => { g.open = r; });
		fake.setResponder(answerWith(undefined, { after: g.promise }));
		const n = fake.requests.length;
		const held = a.post('/v1/messages', msgBody(), auth('bob'));
		await pollUntil(() => fake.requests.length > n, { what: 'the held request upstream' });
		const other = await b.post('/v1/messages', msgBody(), auth('bob'));
		assert.equal(other.status, 429);
		assert.match(other.json.error.message, /1 concurrent requests/);
		g.open();
		assert.equal((await held).status, 200);
		fake.setResponder(answerWith());
		assert.equal((await b.post('/v1/messages', msgBody(), auth('bob'))).status, 200, 'the lease was released');
	});

	test('Redis stopped mid-run: open serves, closed refuses, logged once a minute; back: counting resumes', T, async () => {
		const fromA = a.stderr.length, fromB = b.stderr.length;
		await redis.stop();
		const ra = [], rb = [];
		for (let i = 0; i < 6; i++) {
			ra.push(await a.post('/v1/messages', msgBody(), auth('bob')));
			rb.push(await b.post('/v1/messages', msgBody(), auth('bob')));
		}
		assert.deepEqual(ra.map((r) => r.status), [200, 200, 200, 200, 200, 200], 'fail open');
		assert.ok(ra.every((r) => r.headers.get('anthropic-ratelimit-requests-limit') === null));
		assert.deepEqual(rb.map((r) => r.status), [503, 503, 503, 503, 503, 503], 'fail closed');
		assert.match(rb[0].json.error.message, /rate limits of key bob cannot be checked/);
		// a key without limits never needs Redis
		fake.setResponder(answerWith());
		const warnA = a.stderr.slice(fromA).match(/limits: Redis at 127\.0\.0\.1:\d+\/3: .*serving requests without counting/g) ?? [];
		const warnB = b.stderr.slice(fromB).match(/limits: Redis at 127\.0\.0\.1:\d+\/3: .*refusing requests/g) ?? [];
		// both minutes' worth at most: a minute may turn during the run
		assert.ok(warnA.length >= 1 && warnA.length <= 2, a.stderr.slice(fromA));
		assert.ok(warnB.length >= 1 && warnB.length <= 2, b.stderr.slice(fromB));

		redis = await new Redis(redis.port).start();
		const back = await pollUntil(async () => {
			const r = await b.post('/v1/messages', msgBody(), auth('bob'));
			return r.status === 200 ? r : null;
		}, { timeoutMs: 10000, intervalMs: 300, what: 'counting to resume' });
		assert.equal(back.status, 200);
		await pollUntil(async () => (await a.post('/v1/messages', msgBody(), auth('alice')))
			.headers.get('anthropic-ratelimit-requests-limit') === '6',
		{ timeoutMs: 10000, intervalMs: 300, what: 'headers again on the instance that failed open' });
	});
});
