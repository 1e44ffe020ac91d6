// The daemon as a Unix service (issue 4): systemd notifications, -D/-P,
// -u USER, reloads that would need a restart, secrets out of the file.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

import { startFakeUpstream, completion, closedPort } from './lib/fake-upstream.mjs';
import {
	Proxy, baseConfig, runBinary, mkTmpDir, msgBody, pollUntil, teardown, safeJSON, repoRoot, proxyBin,
} from './lib/proxy.mjs';
import { NotifySocket, python3Available } from './lib/notify.mjs';

const T = { timeout: 30000 };
const isRoot = process.getuid?.() === 0;
const rootArgs = isRoot ? ['--allow-root'] : [];

// ---------------------------------------------------------------------------
// helpers

/** /proc/PID/stat: { state, ppid, pgrp, session } or null when gone. */
function procStat(pid) {
	let s;
	try { s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return null; }
	const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
	return { state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]) };
}

/** Running (a zombie nobody reaps counts as gone). */
function alive(pid) {
	const st = procStat(pid);
	return st !== null && st.state !== 'Z' && st.state !== 'X';
}

function children(pid) {
	const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
	return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

function psUser(pid) {
	return spawnSync('ps', ['-o', 'user=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
}

function procStatusIds(pid) {
	const t = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	const get = (k) => (t.match(new RegExp(`^${k}:\\s*(.*)$`, 'm'))?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
	return { uid: get('Uid'), gid: get('Gid'), groups: get('Groups') };
}

function cmdline(pid) {
	try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(); } catch { return ''; }
}

function connectRefused(port, host = '127.0.0.1') {
	return new Promise((resolve) => {
		const s = net.connect(port, host);
		s.once('connect', () => { s.destroy(); resolve(false); });
		s.once('error', (e) => resolve(e.code === 'ECONNREFUSED'));
	});
}

/** One request on a fresh connection to 127.0.0.1:port; { status, text, json }. */
function httpReq(port, method, p, body, headers = {}, timeoutMs = 10000) {
	const h = { connection: 'close', ...headers };
	let payload;
	if (body !== undefined) {
		payload = JSON.stringify(body);
		h['content-type'] = 'application/json';
		h['content-length'] = Buffer.byteLength(payload);
	}
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: h, agent: false }, (res) => {
			const parts = [];
			res.on('data', (d) => parts.push(d));
			res.on('error', reject);
			res.on('end', () => {
				const text = Buffer.concat(parts).toString('utf8');
				resolve({ status: res.statusCode, headers: res.headers, text, json: safeJSON(text) });
			});
		});
		req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${p}: no answer within ${timeoutMs} ms`)));
		req.on('error', reject);
		req.end(payload);
	});
}

/** Kill a daemon we did not spawn directly (by pid), and its workers. */
function killTree(pid) {
	if (!pid || !alive(pid)) return;
	const kids = children(pid);
	if (!cmdline(pid).includes('claude-proxy')) return;	// not ours (pid reused)
	for (const p of [pid, ...kids]) {
		try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
	}
}

const STATUS_RE = /(\d+) workers? \((\d+) busy, (\d+) idle\), (\d+) requests? served/;

// ---------------------------------------------------------------------------

describe('systemd notifications (NOTIFY_SOCKET)', { timeout: 120000, skip: !python3Available() && 'python3 not available' }, () => {
	let fake, notify, proxy;
	const others = [];
	before(async () => {
		fake = await startFakeUpstream();
		notify = await NotifySocket.open();
		proxy = new Proxy({ config: baseConfig(fake.url), workers: 2, env: { NOTIFY_SOCKET: notify.address } });
		await proxy.start();
	});
	after(() => teardown(() => proxy?.kill(), ...others.map((o) => () => o.kill()), fake,
		() => notify?.close()));
	beforeEach(() => fake.reset());

	test('READY=1 with MAINPID once the daemon serves, then STATUS with workers and requests', T, async () => {
		const ready = await notify.waitFor((m) => m.fields.READY === '1', 5000, 'READY=1');
		assert.equal(Number(ready.fields.MAINPID), proxy.pid, `MAINPID in ${JSON.stringify(ready.raw)}`);
		// By the time READY=1 is sent, a request is answered.
		const r = await proxy.get('/');
		assert.equal(r.status, 200);
		// Nothing before READY=1 announces a reload or a stop.
		for (const m of notify.messages.slice(0, ready.index)) {
			assert.ok(!('STOPPING' in m.fields) && !('RELOADING' in m.fields), `before READY: ${m.raw}`);
		}
		// A STATUS line exists (the first is sent at start) and has the documented shape.
		const st = await notify.waitFor((m) => 'STATUS' in m.fields, 7000, 'a STATUS= line');
		assert.match(st.fields.STATUS, STATUS_RE, `STATUS= ${st.fields.STATUS}`);
	});

	test('STATUS= reflects requests served within ~7 s (sent every 5 s)', { timeout: 20000 }, async () => {
		const from = notify.messages.length;
		fake.json(completion({ content: 'counted' }));
		const m = await proxy.post('/v1/messages', msgBody());
		assert.equal(m.status, 200, m.text);
		assert.equal((await proxy.get('/')).status, 200);
		const st = await notify.waitFor((x) => {
			const mm = x.fields.STATUS?.match(STATUS_RE);
			return mm && Number(mm[4]) >= 2;
		}, 7500, 'a STATUS= line with >= 2 requests served', from);
		const mm = st.fields.STATUS.match(STATUS_RE);
		const workers = proxy.workers().length;
		assert.equal(Number(mm[1]), workers, `STATUS says ${mm[1]} workers, pgrep finds ${workers}: ${st.fields.STATUS}`);
		assert.equal(Number(mm[2]) + Number(mm[3]), Number(mm[1]), `busy + idle != workers: ${st.fields.STATUS}`);
	});

	test('SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1; the reload takes effect', T, async () => {
		const cfg = baseConfig(fake.url);
		cfg.providers[0].models.push({ id: 'after-notify-reload' });
		proxy.writeConfig(cfg);
		const from = notify.messages.length;
		proxy.signal('SIGHUP');
		const rl = await notify.waitFor((m) => m.fields.RELOADING === '1', 5000, 'RELOADING=1', from);
		assert.ok('MONOTONIC_USEC' in rl.fields, `RELOADING=1 without MONOTONIC_USEC: ${JSON.stringify(rl.raw)}`);
		const usec = Number(rl.fields.MONOTONIC_USEC);
		assert.ok(Number.isInteger(usec) && usec > 0, `MONOTONIC_USEC=${rl.fields.MONOTONIC_USEC}`);
		// CLOCK_MONOTONIC, as systemd requires: close to the helper's clock at arrival.
		const skewMs = Math.abs(rl.monoUsec - usec) / 1000;
		assert.ok(skewMs < 3000, `MONOTONIC_USEC ${usec} is ${skewMs} ms away from CLOCK_MONOTONIC (${rl.monoUsec})`);
		const rd = await notify.waitFor((m) => m.fields.READY === '1', 10000, 'READY=1 after RELOADING=1', rl.index + 1);
		assert.ok(rd.index > rl.index);
		await pollUntil(async () => (await proxy.get('/v1/models')).json?.data?.some((x) => x.id === 'after-notify-reload'),
			{ timeoutMs: 10000, what: 'the reloaded model list' });
	});

	test('SIGHUP with a bad config: RELOADING=1, then READY=1 anyway, failure in STATUS=', T, async () => {
		const bad = baseConfig(fake.url);
		bad.port = 'not-a-port';
		proxy.writeConfig(bad);
		const from = notify.messages.length;
		const logFrom = proxy.stderr.length;
		proxy.signal('SIGHUP');
		const rl = await notify.waitFor((m) => m.fields.RELOADING === '1', 5000, 'RELOADING=1', from);
		const rd = await notify.waitFor((m) => m.fields.READY === '1', 5000, 'READY=1 after a failed reload', rl.index + 1);
		assert.match(rd.fields.STATUS ?? notify.messages.slice(rl.index).map((m) => m.fields.STATUS ?? '').join('\n'),
			/fail/i, 'a failed reload is not reported in STATUS=');
		await proxy.waitForLog(/port/, 5000, logFrom);
		const r = await proxy.get('/v1/models');
		assert.equal(r.status, 200);
		assert.ok(r.json.data.some((x) => x.id === 'after-notify-reload'), 'the running configuration was lost');
		proxy.writeConfig(baseConfig(fake.url));
	});

	test('a failed reload stays in STATUS= until a reload succeeds (issue 10)', { timeout: 30000 }, async () => {
		const bad = baseConfig(fake.url);
		bad.workers = 'many';
		proxy.writeConfig(bad);
		let from = notify.messages.length;
		proxy.signal('SIGHUP');
		const failed = await notify.waitFor((m) => /reload failed: .*workers/.test(m.fields.STATUS ?? ''), 5000,
			'STATUS= naming the failed reload', from);
		assert.equal(failed.fields.READY, '1', `the failure comes with READY=1: ${JSON.stringify(failed.raw)}`);
		// the periodic STATUS= (every 5 s) keeps saying so, with the counts
		const later = await notify.waitFor((m) => 'STATUS' in m.fields && !('READY' in m.fields), 7500,
			'the next periodic STATUS=', failed.index + 1);
		assert.match(later.fields.STATUS, /^reload failed: .*workers.*; /, `periodic STATUS= ${later.fields.STATUS}`);
		assert.match(later.fields.STATUS, STATUS_RE);
		// a good reload clears it
		proxy.writeConfig(baseConfig(fake.url));
		from = notify.messages.length;
		proxy.signal('SIGHUP');
		const ok = await notify.waitFor((m) => m.fields.READY === '1', 10000, 'READY=1 after the good reload', from);
		assert.doesNotMatch(ok.fields.STATUS ?? '', /fail/, `STATUS= after a good reload: ${ok.fields.STATUS}`);
		const next = await notify.waitFor((m) => 'STATUS' in m.fields && !('READY' in m.fields), 7500,
			'a periodic STATUS= after the good reload', ok.index + 1);
		assert.doesNotMatch(next.fields.STATUS, /fail/);
	});

	test('SIGTERM: STOPPING=1, exit 0', T, async () => {
		const from = notify.messages.length;
		const ex = proxy.stop();
		const st = await notify.waitFor((m) => m.fields.STOPPING === '1', 10000, 'STOPPING=1', from);
		assert.ok(st);
		assert.deepEqual(await ex, { code: 0, signal: null });
		proxy = null;
	});

	test('an abstract socket name ("@name") works too', T, async () => {
		const ab = await NotifySocket.open({ abstract: true });
		try {
			const p = new Proxy({ config: baseConfig(fake.url), workers: 1, env: { NOTIFY_SOCKET: ab.address } });
			others.push(p);
			await p.start();
			const ready = await ab.waitFor((m) => m.fields.READY === '1', 5000, 'READY=1 on the abstract socket');
			assert.equal(Number(ready.fields.MAINPID), p.pid);
			const from = ab.messages.length;
			const ex = p.stop();
			await ab.waitFor((m) => m.fields.STOPPING === '1', 10000, 'STOPPING=1 on the abstract socket', from);
			assert.deepEqual(await ex, { code: 0, signal: null });
			assert.ok(!/notify/i.test(p.stderr), `a notify failure was logged:\n${p.stderr}`);
		} finally {
			await ab.close();
		}
	});
});

// ---------------------------------------------------------------------------

describe('-D / --daemon with -P pidfile', { timeout: 120000 }, () => {
	let fake, dir, port, pidfile, pid, workers = [];
	before(async () => {
		fake = await startFakeUpstream();
		dir = mkTmpDir('cp-daemon-');
		pidfile = path.join(dir, 'claude-proxy.pid');
		port = await closedPort();
		fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(baseConfig(fake.url)), { mode: 0o600 });
	});
	after(async () => {
		killTree(pid);
		for (const w of workers) { try { if (alive(w)) process.kill(w, 'SIGKILL'); } catch { /* gone */ } }
		await teardown(fake);
		fs.rmSync(dir, { recursive: true, force: true });
	});

	test('the command returns 0 at once; the daemon runs detached and serves', T, async () => {
		const t0 = Date.now();
		// A relative -c: reloads must still find it after chdir("/").
		const r = await runBinary(['-D', '-P', pidfile, '-c', 'config.json', '-p', String(port), '-l', '127.0.0.1',
			'-w', '2', ...rootArgs], { cwd: dir, timeoutMs: 5000 });
		const took = Date.now() - t0;
		assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
		assert.ok(took < 5000, `took ${took} ms`);
		pid = await pollUntil(() => {
			const t = fs.existsSync(pidfile) ? fs.readFileSync(pidfile, 'utf8').trim() : '';
			return /^\d+$/.test(t) ? Number(t) : null;
		}, { timeoutMs: 5000, what: 'the pidfile to hold a pid' });
		assert.ok(alive(pid), `pid ${pid} from the pidfile is not running`);
		assert.match(cmdline(pid), /claude-proxy/);
		const st = procStat(pid);
		assert.notEqual(st.ppid, process.pid, 'the daemon is still a child of the test');
		assert.notEqual(st.session, procStat(process.pid).session, 'no new session (setsid)');
		assert.equal(fs.readlinkSync(`/proc/${pid}/cwd`), '/', 'did not chdir to /');
		for (const fd of [0, 1, 2]) {
			assert.equal(fs.readlinkSync(`/proc/${pid}/fd/${fd}`), '/dev/null', `fd ${fd} not /dev/null`);
		}
		const res = await pollUntil(async () => {
			const x = await httpReq(port, 'GET', '/');
			return x.status === 200 ? x : null;
		}, { timeoutMs: 5000, what: 'GET / on the daemon' });
		assert.equal(res.json?.health, 'ok');
		fake.json(completion({ content: 'from the daemon' }));
		const m = await httpReq(port, 'POST', '/v1/messages', msgBody());
		assert.equal(m.status, 200, m.text);
		assert.equal(m.json.content[0].text, 'from the daemon');
		// at least the 2 of -w: a request that came while the second was
		// still starting left no idle one, and spare_workers (1) forked
		// a third, as it should
		workers = await pollUntil(() => { const w = children(pid); return w.length >= 2 ? w : null; },
			{ what: 'the daemon\'s 2 workers' });
	});

	test('SIGHUP reloads the relative config path after chdir("/")', T, async () => {
		assert.ok(pid && alive(pid), 'no daemon (previous test failed)');
		const cfg = baseConfig(fake.url);
		cfg.providers[0].models.push({ id: 'added-in-daemon-mode' });
		fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg), { mode: 0o600 });
		process.kill(pid, 'SIGHUP');
		await pollUntil(async () => (await httpReq(port, 'GET', '/v1/models')).json?.data?.some((x) => x.id === 'added-in-daemon-mode'),
			{ timeoutMs: 10000, what: 'the model added by the reload' });
		assert.ok(alive(pid));
		workers = children(pid);
	});

	test('a second instance with the same pidfile exits 1: "already running" and the pid', T, async () => {
		assert.ok(pid && alive(pid), 'no daemon (previous test failed)');
		const r = await runBinary(['-P', pidfile, '-c', path.join(dir, 'config.json'), '-p', '0', '-l', '127.0.0.1',
			...rootArgs], { timeoutMs: 5000 });
		assert.equal(r.code, 1, `exit ${r.code}: ${r.stdout}${r.stderr}`);
		assert.match(r.stderr, /already running/);
		assert.ok(r.stderr.includes(String(pid)), `the message does not name pid ${pid}: ${r.stderr}`);
		assert.equal(fs.readFileSync(pidfile, 'utf8').trim(), String(pid), 'the second instance touched the pidfile');
		assert.ok(alive(pid));
	});

	test('SIGTERM to the pid stops it, its workers and removes the pidfile', T, async () => {
		assert.ok(pid && alive(pid), 'no daemon (previous test failed)');
		const ws = children(pid);
		process.kill(pid, 'SIGTERM');
		await pollUntil(() => !alive(pid), { timeoutMs: 10000, what: `pid ${pid} to exit` });
		for (const w of ws) await pollUntil(() => !alive(w), { timeoutMs: 5000, what: `worker ${w} to exit` });
		await pollUntil(() => !fs.existsSync(pidfile), { timeoutMs: 2000, what: 'the pidfile to be removed' });
		assert.ok(await connectRefused(port), 'the port still accepts connections');
	});
});

// ---------------------------------------------------------------------------

describe('-u USER and root', { timeout: 120000, skip: !isRoot && 'needs root' }, () => {
	let fake, dir;
	const started = [];
	before(async () => {
		fake = await startFakeUpstream();
		dir = mkTmpDir('cp-user-');
	});
	after(async () => {
		await teardown(...started.map((p) => () => p.kill()), fake);
		fs.rmSync(dir, { recursive: true, force: true });
	});

	function cfgFile(name = 'c.json') {
		const p = path.join(dir, name);
		fs.writeFileSync(p, JSON.stringify(baseConfig(fake.url)), { mode: 0o600 });
		return p;
	}

	test('-u nobody: master and workers run as nobody (no root ids, no groups) and serve', T, async () => {
		const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
		const uid = Number(nobody.stdout.trim());
		const gid = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
		const p = new Proxy({ config: baseConfig(fake.url), workers: 2, args: ['-u', 'nobody'] });
		p.args = p.args.filter((a) => a !== '--allow-root');
		started.push(p);
		await p.start();
		assert.match(p.stderr, /user nobody/);
		const ws = await pollUntil(() => { const w = p.workers(); return w.length === 2 ? w : null; }, { what: '2 workers' });
		for (const x of [p.pid, ...ws]) {
			assert.equal(psUser(x), 'nobody', `pid ${x} (${cmdline(x)}) runs as ${psUser(x)}`);
			const ids = procStatusIds(x);
			assert.deepEqual(ids.uid, [uid, uid, uid, uid], `uids of ${x}`);
			assert.deepEqual(ids.gid, [gid, gid, gid, gid], `gids of ${x}`);
			assert.ok(ids.groups.every((g) => g === gid), `supplementary groups of ${x}: ${ids.groups}`);
		}
		assert.equal((await p.get('/')).status, 200);
		fake.json(completion({ content: 'as nobody' }));
		const m = await p.post('/v1/messages', msgBody());
		assert.equal(m.status, 200, m.text);
		assert.equal(m.json.content[0].text, 'as nobody');
		assert.deepEqual(await p.stop(), { code: 0, signal: null });
	});

	test('-u nosuchuser: exit 1 naming the user', T, async () => {
		const r = await runBinary(['-c', cfgFile(), '-p', '0', '-l', '127.0.0.1', '-u', 'nosuchuser-cp'], { timeoutMs: 5000 });
		assert.equal(r.code, 1, r.stdout + r.stderr);
		assert.match(r.stderr, /nosuchuser-cp/);
	});

	test('-u root is refused', T, async () => {
		const r = await runBinary(['-c', cfgFile(), '-p', '0', '-l', '127.0.0.1', '-u', 'root'], { timeoutMs: 5000 });
		assert.equal(r.code, 1, r.stdout + r.stderr);
		assert.match(r.stderr, /root/);
	});

	test('-D -u nobody -P FILE (the manual\'s example): serves as nobody; SIGTERM removes or empties the pidfile', T, async () => {
		// Like /run: a directory only root may write to.
		const run = path.join(dir, 'run');
		fs.mkdirSync(run, { mode: 0o755 });
		fs.chmodSync(dir, 0o755);
		const cfg = path.join(dir, 'daemon-user.json');
		fs.writeFileSync(cfg, JSON.stringify(baseConfig(fake.url)), { mode: 0o644 });
		const pidfile = path.join(run, 'claude-proxy.pid');
		const port = await closedPort();
		let pid;
		try {
			const r = await runBinary(['-D', '-u', 'nobody', '-P', pidfile, '-c', cfg, '-p', String(port),
				'-l', '127.0.0.1', '-w', '1'], { timeoutMs: 5000 });
			assert.equal(r.code, 0, r.stderr);
			pid = await pollUntil(() => {
				const t = fs.existsSync(pidfile) ? fs.readFileSync(pidfile, 'utf8').trim() : '';
				return /^\d+$/.test(t) ? Number(t) : null;
			}, { timeoutMs: 5000, what: 'the pidfile' });
			assert.equal(psUser(pid), 'nobody');
			const g = await pollUntil(async () => (await httpReq(port, 'GET', '/')).status === 200, { what: 'GET /' });
			assert.ok(g);
			process.kill(pid, 'SIGTERM');
			await pollUntil(() => !alive(pid), { timeoutMs: 10000, what: `pid ${pid} to exit` });
			// claude-proxy(8), -P: removed when the daemon stops, or emptied
			// when the user it switched to may not remove it (as here)
			assert.ok(!fs.existsSync(pidfile) || fs.readFileSync(pidfile, 'utf8') === '',
			    'a pidfile naming the stopped daemon was left behind after SIGTERM');
		} finally {
			killTree(pid);
		}
	});

	test('as root without -u or --allow-root: exit 1 with a message about root', T, async () => {
		const r = await runBinary(['-c', cfgFile(), '-p', '0', '-l', '127.0.0.1'], { timeoutMs: 5000 });
		assert.equal(r.code, 1, r.stdout + r.stderr);
		assert.match(r.stderr, /root/);
		assert.ok(!/listening on/.test(r.stderr), 'it started listening anyway');
	});
});

// ---------------------------------------------------------------------------

describe('SIGHUP that changes host or port', { timeout: 120000 }, () => {
	let fake, proxy, newPort;
	before(async () => {
		fake = await startFakeUpstream();
		newPort = await closedPort();
		const port = await closedPort();
		// host and port from the file (not the command line, which would win).
		proxy = new Proxy({ config: baseConfig(fake.url, { host: '127.0.0.1', port }), workers: 2 });
		proxy.args = proxy.args.filter((a, i, all) => !(['-p', '-l'].includes(a) || ['-p', '-l'].includes(all[i - 1])));
		await proxy.start();
		assert.equal(proxy.port, port);
	});
	after(() => teardown(proxy, fake));

	test('a new port: logged as needing a restart, old port still serves, a new model in the same reload works', T, async () => {
		const oldPort = proxy.port;
		const cfg = baseConfig(fake.url, { host: '127.0.0.1', port: newPort });
		cfg.providers[0].models.push({ id: 'with-port-change', remote_id: 'remote-wpc' });
		proxy.writeConfig(cfg);
		const from = proxy.stderr.length;
		proxy.signal('SIGHUP');
		const m = await proxy.waitForLog(/^.*restart.*$/m, 5000, from);
		assert.ok(m[0].includes(String(newPort)), `the warning does not name the new port: ${m[0]}`);
		assert.ok(m[0].includes(String(oldPort)), `the warning does not name the port still in use: ${m[0]}`);
		await pollUntil(async () => (await proxy.get('/v1/models')).json?.data?.some((x) => x.id === 'with-port-change'),
			{ timeoutMs: 10000, what: 'the model added in the same reload' });
		assert.equal((await proxy.get('/')).status, 200);
		assert.ok(await connectRefused(newPort), `something listens on the new port ${newPort}`);
		fake.json(completion({ content: 'routed' }));
		const r = await proxy.post('/v1/messages', msgBody({ model: 'with-port-change' }));
		assert.equal(r.status, 200, r.text);
		assert.equal(fake.lastRequest.json.model, 'remote-wpc');
		assert.equal(proxy.exit, null);
	});

	test('a new host: logged as needing a restart, still serving on 127.0.0.1', T, async () => {
		const cfg = baseConfig(fake.url, { host: '0.0.0.0', port: newPort });
		cfg.providers[0].models.push({ id: 'with-host-change' });
		proxy.writeConfig(cfg);
		const from = proxy.stderr.length;
		proxy.signal('SIGHUP');
		const m = await proxy.waitForLog(/^.*restart.*$/m, 5000, from);
		assert.ok(m[0].includes('0.0.0.0'), `the warning does not name the new host: ${m[0]}`);
		await pollUntil(async () => (await proxy.get('/v1/models')).json?.data?.some((x) => x.id === 'with-host-change'),
			{ timeoutMs: 10000, what: 'the model added in the same reload' });
		assert.equal((await proxy.get('/')).status, 200);
	});

	test('a reload that changes neither says nothing about a restart', T, async () => {
		const cfg = baseConfig(fake.url, { host: '127.0.0.1', port: proxy.port });
		proxy.writeConfig(cfg);
		const from = proxy.stderr.length;
		proxy.signal('SIGHUP');
		await proxy.waitForLog(/configuration reloaded|reloaded/, 5000, from);
		assert.ok(!/restart/.test(proxy.stderr.slice(from)), proxy.stderr.slice(from));
	});
});

describe('SIGHUP port warning with "port": 0 in the file', { timeout: 60000 }, () => {
	let fake, proxy;
	before(async () => { fake = await startFakeUpstream(); });
	after(() => teardown(proxy, fake));

	test('the warning names the port really listened on, not 0', T, async () => {
		proxy = new Proxy({ config: baseConfig(fake.url, { host: '127.0.0.1', port: 0 }), workers: 1 });
		proxy.args = proxy.args.filter((a, i, all) => !(['-p', '-l'].includes(a) || ['-p', '-l'].includes(all[i - 1])));
		await proxy.start();
		const newPort = await closedPort();
		proxy.writeConfig(baseConfig(fake.url, { host: '127.0.0.1', port: newPort }));
		const from = proxy.stderr.length;
		proxy.signal('SIGHUP');
		const m = await proxy.waitForLog(/^.*restart.*$/m, 5000, from);
		assert.ok(m[0].includes(`:${proxy.port}`), `the warning does not name the bound port ${proxy.port}: ${m[0]}`);
		assert.equal((await proxy.get('/')).status, 200);
	});
});

// ---------------------------------------------------------------------------

describe('secrets: literal keys, env:NAME and file:/path', { timeout: 120000 }, () => {
	let fake;
	const started = [];
	before(async () => { fake = await startFakeUpstream(); });
	after(() => teardown(...started.map((p) => () => p.kill()), fake));
	beforeEach(() => fake.reset());

	async function startWithMode(config, mode, opts = {}) {
		const p = new Proxy({ config, workers: 1, ...opts });
		started.push(p);
		fs.chmodSync(p.configPath, mode);
		return p.start();
	}
	const WARN = /readable by (group or )?others/;

	test('a literal key in a config file readable by others: warned at start (0644)', T, async () => {
		const cfg = baseConfig(fake.url);
		cfg.providers[0].api_key = 'sk-LITERAL-0644-3c9d';
		const p = await startWithMode(cfg, 0o644);
		const line = p.stderr.split('\n').find((l) => WARN.test(l));
		assert.ok(line, `no warning:\n${p.stderr}`);
		assert.ok(line.includes(p.configPath), `the warning does not name the file: ${line}`);
		assert.ok(!p.stderr.includes('sk-LITERAL-0644-3c9d'), 'the key itself was logged');
		assert.equal((await p.get('/')).status, 200);
	});

	test('a literal inbound key ("ak") is warned about too (0640)', T, async () => {
		const p = await startWithMode(baseConfig(fake.url, { ak: 'AK-LITERAL-0640-77e1' }), 0o640);
		assert.match(p.stderr, WARN);
		assert.ok(!p.stderr.includes('AK-LITERAL-0640-77e1'), 'the key itself was logged');
	});

	test('the same file with mode 0600: no warning', T, async () => {
		const cfg = baseConfig(fake.url);
		cfg.providers[0].api_key = 'sk-LITERAL-0600-1a2b';
		const p = await startWithMode(cfg, 0o600);
		assert.equal((await p.get('/')).status, 200);
		assert.ok(!WARN.test(p.stderr), p.stderr);
	});

	test('env: and file: keys work end to end, 0644 is fine without literals, keys never logged at -v', T, async () => {
		const AK = 'AK-FROM-ENV-5e8f2a91';
		const K1 = 'sk-FROM-FILE-one-0b7c3d';
		const K2 = 'sk-FROM-FILE-two-9a4e6f';
		const p = new Proxy({
			config: baseConfig(fake.url, { ak: 'env:CP_TEST_INBOUND_AK' }), workers: 1, verbose: true,
			env: { CP_TEST_INBOUND_AK: AK },
		});
		started.push(p);
		const keyFile = path.join(p.dir, 'upstream.key');
		fs.writeFileSync(keyFile, `${K1}\n`, { mode: 0o600 });
		const cfg = baseConfig(fake.url, { ak: 'env:CP_TEST_INBOUND_AK' });
		cfg.providers[0].api_key = `file:${keyFile}`;
		p.writeConfig(cfg);
		fs.chmodSync(p.configPath, 0o644);
		await p.start();
		assert.ok(!WARN.test(p.stderr), `warned about a file without literal keys:\n${p.stderr}`);

		const noKey = await p.post('/v1/messages', msgBody());
		assert.equal(noKey.status, 401);
		const wrong = await p.post('/v1/messages', msgBody(), { authorization: 'Bearer env:CP_TEST_INBOUND_AK' });
		assert.equal(wrong.status, 401, 'the literal "env:NAME" string was accepted as the key');
		fake.json(completion({ content: 'env+file' }));
		const ok = await p.post('/v1/messages', msgBody(), { authorization: `Bearer ${AK}` });
		assert.equal(ok.status, 200, ok.text);
		assert.equal(fake.lastRequest.headers.authorization, `Bearer ${K1}`);
		fake.json(completion({ content: 'x-api-key' }));
		const ok2 = await p.post('/v1/messages', msgBody(), { 'x-api-key': AK });
		assert.equal(ok2.status, 200, ok2.text);

		// A changed file: key is read again on SIGHUP.
		fs.writeFileSync(keyFile, `${K2}\n`);
		p.signal('SIGHUP');
		fake.setResponder(() => ({ status: 200, body: completion({ content: 'after key change' }) }));
		await pollUntil(async () => {
			const r = await p.post('/v1/messages', msgBody(), { authorization: `Bearer ${AK}` });
			return r.status === 200 && fake.lastRequest.headers.authorization === `Bearer ${K2}`;
		}, { timeoutMs: 10000, what: 'the new file: key upstream' });

		const marker = 'zz-secrets-marker';
		await p.get(`/${marker}`);
		await p.waitForLog(new RegExp(marker), 5000);
		assert.ok(p.stderr.includes('/v1/messages'), 'no access log at -v: this test would prove nothing');
		for (const k of [AK, K1, K2]) {
			assert.ok(!p.stderr.includes(k), `${k} found in the log`);
			assert.ok(!p.stderr.includes(k.slice(6)), `part of ${k} found in the log`);
		}
	});

	test('file: inbound key and env: upstream key (the other way round)', T, async () => {
		const AK = 'AK-FROM-FILE-c41d07';
		const UP = 'sk-FROM-ENV-e5f6a7';
		const p = new Proxy({ config: baseConfig(fake.url), workers: 1, verbose: true, env: { CP_TEST_UP_KEY: UP } });
		started.push(p);
		const akFile = path.join(p.dir, 'ak');
		fs.writeFileSync(akFile, `${AK}\r\n`, { mode: 0o600 });
		const cfg = baseConfig(fake.url, { ak: `file:${akFile}` });
		cfg.providers[0].api_key = 'env:CP_TEST_UP_KEY';
		p.writeConfig(cfg);
		await p.start();
		assert.equal((await p.get('/v1/models')).status, 401);
		assert.equal((await p.get('/v1/models', { 'x-api-key': AK })).status, 200);
		fake.json(completion({ content: 'ok' }));
		const r = await p.post('/v1/messages', msgBody(), { authorization: `Bearer ${AK}` });
		assert.equal(r.status, 200, r.text);
		assert.equal(fake.lastRequest.headers.authorization, `Bearer ${UP}`);
		assert.ok(!p.stderr.includes(AK) && !p.stderr.includes(UP), 'a key was logged');
	});

	test('an unset env: variable or an unreadable file: refuses to start, exit 78 (EX_CONFIG), naming it', T, async () => {
		const dir = mkTmpDir('cp-secret-');
		try {
			const c1 = path.join(dir, 'c1.json');
			const cfg = baseConfig(fake.url);
			cfg.providers[0].api_key = 'env:CP_TEST_SURELY_UNSET_VAR';
			fs.writeFileSync(c1, JSON.stringify(cfg), { mode: 0o600 });
			const r1 = await runBinary(['-c', c1, '-p', '0', '-l', '127.0.0.1', ...rootArgs],
				{ env: { CP_TEST_SURELY_UNSET_VAR: undefined }, timeoutMs: 5000 });
			assert.equal(r1.code, 78, r1.stderr);
			assert.match(r1.stderr, /CP_TEST_SURELY_UNSET_VAR/);
			assert.match(r1.stderr, /providers\[0\]\.api_key/);
			const c2 = path.join(dir, 'c2.json');
			cfg.providers[0].api_key = `file:${path.join(dir, 'missing.key')}`;
			fs.writeFileSync(c2, JSON.stringify(cfg), { mode: 0o600 });
			const r2 = await runBinary(['-c', c2, '-p', '0', '-l', '127.0.0.1', ...rootArgs], { timeoutMs: 5000 });
			assert.equal(r2.code, 78, r2.stderr);
			assert.match(r2.stderr, /missing\.key/);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});

// ---------------------------------------------------------------------------
// The README's Quick start, as printed (issue 10: as root it used to refuse)

describe('README Quick start', { timeout: 60000 }, () => {
	test('its run command, as printed, serves (as root too, then as nobody)', T, async () => {
		const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
		const section = readme.slice(readme.indexOf('## Quick start'));
		const block = section.match(/```sh\n([\s\S]*?)```/)[1].trim().split('\n');
		assert.equal(block.length, 2, `the Quick start block:\n${block.join('\n')}`);
		// line 2: install && build && run; the run part is the last one
		const run = block[1].split(' && ').at(-1);
		assert.match(run, /build\/claude-proxy -c config\.json\.example/);
		// this build's binary, and a free port instead of 8888
		const cmd = `${block[0]}\n${run.replace('build/claude-proxy', proxyBin)} -p 0`;
		const p = spawn('/bin/sh', ['-c', cmd], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
		let err = '';
		p.stderr.on('data', (d) => { err += d; });
		const exited = new Promise((r) => p.on('exit', (code) => r(code)));
		try {
			const port = await pollUntil(() => err.match(/listening on 127\.0\.0\.1:(\d+)/)?.[1]
				?? (p.exitCode !== null ? Promise.reject(new Error(`exited ${p.exitCode}: ${err}`)) : null),
			{ timeoutMs: 10000, what: 'the Quick start daemon to listen' });
			const r = await fetch(`http://127.0.0.1:${port}/`);
			assert.equal(r.status, 200);
			assert.equal((await r.json()).health, 'ok');
			const r2 = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { 'x-api-key': 'change-me' } });
			assert.equal(r2.status, 200, 'the key the Quick start sets is not the one required');
			const [daemon] = children(p.pid);
			assert.ok(daemon, 'no daemon under the shell');
			if (isRoot) assert.equal(psUser(daemon), 'nobody', 'as root the Quick start daemon must not serve as root');
		} finally {
			for (const d of children(p.pid)) process.kill(d, 'SIGTERM');
			const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 10000))]);
			if (code === null) p.kill('SIGKILL');
		}
	});
});
