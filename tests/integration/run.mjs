#!/usr/bin/env node
// Runs the integration suite with node's test runner (TAP on stdout), one
// file at a time, under an overall deadline; afterwards ends any daemon a
// crashed test file left behind (by pid, recorded by lib/proxy.mjs).
//
//   node tests/integration/run.mjs [files...]     (default: every *.test.mjs)
//
// Env: CLAUDE_PROXY_BIN (default <repo>/build/claude-proxy),
//      CP_TEST_DEADLINE_S (default 1500), CP_TEST_REPORTER (default tap).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const deadlineS = Number(process.env.CP_TEST_DEADLINE_S || 1500);
const reporter = process.env.CP_TEST_REPORTER || 'tap';

let files = process.argv.slice(2);
if (!files.length) {
	files = fs.readdirSync(here).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join(here, f));
}

const pidDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-test-pids-'));
const child = spawn(process.execPath, [
	'--test',
	`--test-reporter=${reporter}`,
	'--test-concurrency=1',
	'--test-force-exit',
	'--test-timeout=180000',
	...files,
], {
	stdio: 'inherit',
	env: { ...process.env, CP_TEST_PIDDIR: pidDir },
	detached: true,		// its own process group, so the deadline can end it whole
});

const timer = setTimeout(() => {
	console.error(`# integration tests: overall deadline of ${deadlineS} s passed, killing the run`);
	try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
}, deadlineS * 1000);

for (const sig of ['SIGINT', 'SIGTERM']) {
	process.on(sig, () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } });
}

child.on('exit', (code, signal) => {
	clearTimeout(timer);
	reapLeftovers();
	process.exit(code ?? (signal ? 1 : 0));
});

function reapLeftovers() {
	const binName = path.basename(process.env.CLAUDE_PROXY_BIN || 'claude-proxy');
	let n = 0;
	for (const f of fs.readdirSync(pidDir)) {
		const pid = Number(f);
		let cmd = '';
		try { cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
		// Only a process that is still ours (not a reused pid).
		if (!cmd.includes('claude-proxy') && !cmd.includes(binName)) continue;
		let children = [];
		try {
			children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
		} catch { /* none */ }
		for (const p of [pid, ...children]) {
			try { process.kill(p, 'SIGKILL'); n++; } catch { /* gone */ }
		}
	}
	fs.rmSync(pidDir, { recursive: true, force: true });
	if (n) console.error(`# integration tests: killed ${n} leftover daemon process(es)`);
}
