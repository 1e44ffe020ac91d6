// Claude Code for the tests: the executables of the releases the suite
// installs (tests/package.json: the current one, and 2.1.197 through an npm
// alias) and a bounded headless run of one.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const testsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CLAUDE_VERSIONS = [
	{ name: 'suite', dir: path.join(testsDir, 'node_modules', '@anthropic-ai', 'claude-code'),
		bin: path.join(testsDir, 'node_modules', '.bin', 'claude') },
	{ name: '2.1.197', dir: path.join(testsDir, 'node_modules', 'claude-code-2.1.197') },
];

/** The claude executable of one release (default: the suite's): its
 * package's bin (the native binary once the install script ran), else the
 * platform package's binary, nested when the release is not the top-level
 * one; null when not installed. */
export function findClaude(v = CLAUDE_VERSIONS[0]) {
	const platform = `claude-code-${process.platform}-${process.arch}`;
	const candidates = [
		v.bin,
		path.join(v.dir, 'bin', 'claude.exe'),
		path.join(v.dir, 'node_modules', '@anthropic-ai', platform, 'claude'),
		v.name === 'suite' ? path.join(testsDir, 'node_modules', '@anthropic-ai', platform, 'claude') : null,
	].filter(Boolean);
	for (const c of candidates) {
		try {
			fs.accessSync(c, fs.constants.X_OK);
			const st = fs.statSync(fs.realpathSync(c));
			if (st.size > 1024 * 1024) return c;	// not the placeholder stub
		} catch { /* next */ }
	}
	return null;
}

/** Runs it in env.HOME, killed after timeoutMs: { code, signal, stdout, stderr }. */
export function runClaude(bin, args, env, timeoutMs) {
	return new Promise((resolve) => {
		const p = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: env.HOME });
		let stdout = '', stderr = '';
		p.stdout.on('data', (d) => { stdout += d; });
		p.stderr.on('data', (d) => { stderr += d; });
		const t = setTimeout(() => { p.kill('SIGKILL'); }, timeoutMs);
		p.on('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal, stdout, stderr }); });
	});
}

/** `claude -p PROMPT --output-format json` against the proxy at url with the
 * inbound key, in a throw-away home, telemetry and updates off; Bash limited
 * to printf. */
export function runClaudePrompt(bin, prompt, { home, url, key, model = 'claude-sonnet-4-5', maxTurns = 4, timeoutMs = 150000 }) {
	return runClaude(bin, ['-p', prompt, '--model', model, '--output-format', 'json',
		'--allowedTools', 'Bash(printf:*)', '--max-turns', String(maxTurns)], {
		PATH: process.env.PATH, HOME: home, TMPDIR: home, ANTHROPIC_BASE_URL: url,
		ANTHROPIC_AUTH_TOKEN: key, DISABLE_TELEMETRY: '1', DISABLE_AUTOUPDATER: '1',
		DISABLE_ERROR_REPORTING: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', CLAUDE_CODE_DISABLE_TERMINAL_TITLE: '1',
	}, timeoutMs);
}
