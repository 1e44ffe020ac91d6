// Claude Code itself, headless, through the daemon to the fake upstream
// (issue 3: Real clients). The fake answers by request content: the main
// turn with tools gets a Bash tool call; once the tool output comes back it
// gets the final text; a turn that asks for a web search goes through
// WebSearch and the proxy's web_search loop against a fake Tavily; anything
// else Claude Code asks (titles, quota checks, haiku side requests) gets a
// short text.
//
// Each test runs twice: with the Claude Code of the suite and with 2.1.197,
// an older release still widely installed, which reacts differently to a
// stream that fails half-way (issue 10, item 7).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { startFakeUpstream, chunk, usageChunk, completion, textOf } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, mkTmpDir, teardown, parseSSE, checkStreamGrammar, pollUntil } from './lib/proxy.mjs';
import { startSearchBackends } from './lib/web-fakes.mjs';
import { CLAUDE_VERSIONS, findClaude, runClaude } from './lib/claude-code.mjs';

const AK = 'cc-inbound-key-31337';
const MARKER = 'cp-integration-marker-7781';
const TOOL_OUTPUT = 'hello-from-tool';
const TOOL_COMMAND = "printf '%s-%s\\n' hello from-tool";
const FINAL = 'FINAL-ANSWER: the tool printed hello-from-tool';
const RUN_TIMEOUT_MS = 120000;
const CUT_MARKER = 'cp-integration-cut-4410';
const CUT_TEXT = 'Half an answer, and then the upstream';
const GOOD = 'GOOD-ANSWER: the retry went through';

/** Claude Code releases under test: the suite's own and an older one still
 * widely installed (tests/package.json installs it under an npm alias). */
const VERSIONS = CLAUDE_VERSIONS;



function hasToolResult(messages) {
	return messages.some((m) => m.role === 'tool');
}

function answer(rec, text, toolCall) {
	const body = rec.json ?? {};
	if (!body.stream) {
		return { status: 200, body: completion({ content: text, tool_calls: toolCall ? [toolCall] : undefined,
			finish: toolCall ? 'tool_calls' : 'stop' }) };
	}
	const chunks = [chunk({ role: 'assistant', content: '' })];
	if (text) {
		const half = Math.ceil(text.length / 2);
		chunks.push(chunk({ content: text.slice(0, half) }), chunk({ content: text.slice(half) }));
	}
	if (toolCall) {
		const args = toolCall.function.arguments;
		chunks.push(chunk({ tool_calls: [{ index: 0, id: toolCall.id, type: 'function',
			function: { name: toolCall.function.name, arguments: '' } }] }));
		chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 12) } }] }));
		chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(12) } }] }));
	}
	chunks.push(chunk({}, { finish: toolCall ? 'tool_calls' : 'stop' }), usageChunk(200, 20));
	return { stream: true, chunks };
}

// Web search (issue 11): the main turn calls Claude Code's WebSearch tool
// (the suite's release loads it with ToolSearch first: it is deferred);
// WebSearch sends its own request with the web_search server tool, which
// the proxy runs: the model calls web_search, the fake Tavily answers, the
// model summarises citing [1]; the summary goes back to the main turn.
const WS_MARKER = 'cp-websearch-marker-9034';
const WS_QUERY = 'claude shannon birthday';
const WS_TITLE = 'Claude Shannon - a biography';
const WS_URL = 'https://shannon.example.org/bio';
const WS_FINAL = 'WS-FINAL: Shannon was born on April 30, 1916';

function webSearchTurn(rec) {
	const body = rec.json ?? {};
	const messages = body.messages ?? [];
	const names = (body.tools ?? []).map((t) => t.function?.name);
	if (names.length === 1 && names[0] === 'web_search') {
		// WebSearch's own request, run by the proxy's loop
		if (!hasToolResult(messages)) {
			return answer(rec, null, { id: 'call_ws_search', type: 'function',
				function: { name: 'web_search', arguments: JSON.stringify({ query: WS_QUERY }) } });
		}
		return answer(rec, 'Claude Shannon was born on April 30, 1916 [1].');
	}
	if (!names.includes('WebSearch')) {
		return answer(rec, 'Loading the tool.', { id: 'call_ws_load', type: 'function',
			function: { name: 'ToolSearch', arguments: JSON.stringify({ query: 'select:WebSearch', max_results: 5 }) } });
	}
	if (!JSON.stringify(messages).includes('call_ws_main')) {
		return answer(rec, 'Searching.', { id: 'call_ws_main', type: 'function',
			function: { name: 'WebSearch', arguments: JSON.stringify({ query: WS_QUERY }) } });
	}
	return answer(rec, WS_FINAL);
}

// Tool search (ENABLE_TOOL_SEARCH=true): the model loads WebFetch with
// ToolSearch, then answers once the tool result is back.
const TS_MARKER = 'cp-toolsearch-marker-5521';
const TS_FINAL = 'TS-FINAL: WebFetch is loaded';

function responder(rec) {
	const body = rec.json ?? {};
	const messages = body.messages ?? [];
	const all = JSON.stringify(messages);
	const isMain = all.includes(MARKER) && (body.tools ?? []).some((t) => t.function?.name === 'Bash');
	if (all.includes(WS_MARKER) || all.includes(WS_QUERY)) return webSearchTurn(rec);
	if (all.includes(TS_MARKER) && (body.tools ?? []).some((t) => t.function?.name === 'ToolSearch')) {
		if (hasToolResult(messages)) return answer(rec, TS_FINAL);
		return answer(rec, 'Loading the tool.', {
			id: 'call_ts_1', type: 'function',
			function: { name: 'ToolSearch', arguments: JSON.stringify({ query: 'select:WebFetch', max_results: 5 }) },
		});
	}
	if (isMain && !hasToolResult(messages)) {
		return answer(rec, 'I will run it.', {
			id: 'call_cc_1', type: 'function',
			// The output (hello-from-tool) differs from the command text, so a
			// denied or echoed command cannot pass for a tool that ran.
			function: { name: 'Bash', arguments: JSON.stringify({ command: TOOL_COMMAND, description: 'Print a greeting' }) },
		});
	}
	if (isMain) return answer(rec, FINAL);
	return answer(rec, 'ok');
}

/** The upstream for one release's tests: the tool turn above, and a turn
 * whose first streamed answer breaks after its text has begun (CUT_MARKER);
 * every later attempt at that turn, streamed or not, gets GOOD. */
function makeResponder() {
	const cutTurns = [];
	const fn = (rec) => {
		const body = rec.json ?? {};
		const all = JSON.stringify(body.messages ?? []);
		const isCutTurn = all.includes(CUT_MARKER) && (body.tools ?? []).length > 0;
		if (!isCutTurn) return responder(rec);
		cutTurns.push(rec);
		if (cutTurns.length === 1 && body.stream) {
			return { stream: true, end: 'cut', chunks: [
				chunk({ role: 'assistant', content: '' }),
				chunk({ content: CUT_TEXT }),
			] };
		}
		return answer(rec, GOOD);
	};
	fn.cutTurns = cutTurns;
	return fn;
}

/** An HTTP hop between Claude Code and the proxy that keeps every response
 * body, so a test sees exactly what the proxy sent (and whether the body
 * ended properly, with the chunked terminator). */
async function startRecorder(target) {
	const exchanges = [];
	const server = http.createServer((req, res) => {
		const ex = { method: req.method, url: req.url, status: 0, body: '', ended: false };
		exchanges.push(ex);
		const up = http.request(new URL(req.url, target), { method: req.method, headers: req.headers }, (ur) => {
			ex.status = ur.statusCode;
			res.writeHead(ur.statusCode, ur.headers);
			ur.setEncoding('utf8');
			ur.on('data', (d) => { ex.body += d; res.write(d); });
			ur.on('end', () => { ex.ended = true; res.end(); });
			ur.on('error', () => res.destroy());
		});
		up.on('error', () => res.destroy());
		req.pipe(up);
	});
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	return {
		exchanges,
		url: `http://127.0.0.1:${server.address().port}`,
		close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
	};
}

function claudeEnv(home, baseUrl, extra = {}) {
	return {
		PATH: process.env.PATH,
		HOME: home,
		TMPDIR: home,
		ANTHROPIC_BASE_URL: baseUrl,
		ANTHROPIC_AUTH_TOKEN: AK,
		DISABLE_TELEMETRY: '1',
		DISABLE_AUTOUPDATER: '1',
		DISABLE_ERROR_REPORTING: '1',
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
		CLAUDE_CODE_DISABLE_TERMINAL_TITLE: '1',
		...extra,
	};
}

function describeUpstream(fake) {
	return `upstream saw ${fake.requests.length} request(s): ${fake.requests.map((q) =>
		`${q.json?.model} stream=${!!q.json?.stream} tools=${q.json?.tools?.length ?? 0} msgs=${q.json?.messages?.length}`).join('; ')}`;
}

function saveDebug(tag, fake, r) {
	if (!process.env.CP_TEST_DEBUG_DIR) return;
	fs.writeFileSync(path.join(process.env.CP_TEST_DEBUG_DIR, `claude-code-${tag}-upstream.json`),
		JSON.stringify(fake.requests.map((q) => ({ url: q.url, headers: q.headers, json: q.json })), null, 1));
	fs.writeFileSync(path.join(process.env.CP_TEST_DEBUG_DIR, `claude-code-${tag}-output.txt`), r.stdout + '\n---\n' + r.stderr);
}

for (const version of VERSIONS) {
	const claudeBin = findClaude(version);

	describe(`Claude Code (${version.name}) headless through the proxy`, { timeout: 300000 }, () => {
		let fake, proxy, recorder, home, web;
		const respond = makeResponder();
		before(async () => {
			fake = await startFakeUpstream();
			fake.setResponder(respond);
			web = await startSearchBackends();
			web.answer = { results: [{ url: WS_URL, title: WS_TITLE, content: 'Born April 30, 1916 in Petoskey' }] };
			const cfg = baseConfig(fake.url, { ak: AK,
				web_search: { backend: 'tavily', base_url: web.tavily.url, api_key: 'tvly-cc-test-key-0123456' } });
			// Every model name Claude Code uses routes to one model.
			cfg.providers[0].models = [
				{ id: 'glm', remote_id: 'remote-glm', aliases: ['claude-*'], max_tokens: 8192 },
			];
			proxy = await startProxy({ config: cfg });
			recorder = await startRecorder(proxy.url);
			home = mkTmpDir('cp-cc-home-');
		});
		after(() => teardown(proxy, fake, recorder, web, () => { if (home) fs.rmSync(home, { recursive: true, force: true }); }));

		test('claude --version runs', { timeout: 30000 }, async () => {
			assert.ok(claudeBin, `claude ${version.name} executable not installed (npm ci --prefix tests)`);
			const r = await runClaude(claudeBin, ['--version'], { ...process.env, HOME: home }, 20000);
			assert.equal(r.code, 0, r.stderr);
			assert.match(r.stdout, /\d+\.\d+\.\d+ \(Claude Code\)/);
			if (version.name !== 'suite') assert.ok(r.stdout.startsWith(version.name), r.stdout);
		});

		test('claude -p: tool call runs Bash, result goes back upstream, final answer returned', { timeout: RUN_TIMEOUT_MS + 30000 }, async () => {
			assert.ok(claudeBin, `claude ${version.name} executable not installed (npm ci --prefix tests)`);
			const start = fake.requests.length;
			const prompt = `Run the shell command \`${TOOL_COMMAND}\` and tell me what it printed. (${MARKER})`;
			const r = await runClaude(claudeBin, [
				'-p', prompt,
				'--model', 'claude-sonnet-4-5',
				'--output-format', 'json',
				'--allowedTools', 'Bash(printf:*)',
				'--max-turns', '4',
			], claudeEnv(home, proxy.url), RUN_TIMEOUT_MS);
			const diag = () => `exit ${r.code} ${r.signal ?? ''}\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr.slice(0, 3000)}\n${describeUpstream(fake)}`;
			saveDebug(`${version.name}-tool`, fake, r);
			assert.equal(r.code, 0, diag());

			// What Claude Code printed: one JSON object with the final answer.
			let out;
			assert.doesNotThrow(() => { out = JSON.parse(r.stdout); }, diag());
			assert.equal(out.is_error, false, diag());
			assert.equal(out.result, FINAL, diag());

			// The upstream: a main turn with tools, then one carrying the tool result.
			const mine = fake.requests.slice(start);
			const main = mine.filter((q) => JSON.stringify(q.json?.messages ?? []).includes(MARKER)
				&& (q.json?.tools ?? []).some((t) => t.function?.name === 'Bash'));
			assert.ok(main.length >= 2, diag());
			const withResult = main.find((q) => hasToolResult(q.json.messages));
			assert.ok(withResult, `no upstream request carried the tool result\n${diag()}`);
			const toolMsg = withResult.json.messages.find((m) => m.role === 'tool');
			assert.equal(toolMsg.tool_call_id, 'call_cc_1');
			assert.ok(textOf(toolMsg.content).includes(TOOL_OUTPUT), `tool did not really run: ${JSON.stringify(toolMsg)}`);
			assert.ok(!/permission|denied|not allowed/i.test(textOf(toolMsg.content)), `tool was refused: ${JSON.stringify(toolMsg)}`);
			const asst = withResult.json.messages.find((m) => m.role === 'assistant' && m.tool_calls);
			assert.equal(asst.tool_calls[0].function.name, 'Bash');
			assert.equal(JSON.parse(asst.tool_calls[0].function.arguments).command, TOOL_COMMAND);
			for (const q of mine) {
				assert.equal(q.headers.authorization, 'Bearer sk-fake-upstream-key');
				assert.equal(q.json?.model, 'remote-glm');
				// Claude Code's attribution line stays with the proxy, and its
				// long JSON user id goes upstream in a short stable form
				assert.ok(!JSON.stringify(q.json?.messages ?? []).includes('x-anthropic-billing-header'), 'attribution line forwarded');
				if (q.json?.user !== undefined) assert.match(q.json.user, /^cp_[0-9a-f]{32}$/);
			}
			// No system message after a user/assistant message (Claude Code sends
			// role:system messages mid-conversation these days).
			for (const q of main) {
				const msgs = q.json.messages;
				const firstOther = msgs.findIndex((m) => m.role !== 'system');
				msgs.forEach((m, i) => { if (m.role === 'system') assert.ok(i < firstOther, 'system message after the conversation began'); });
			}
		});

		test('claude -p: WebSearch runs through the proxy\'s web_search loop, and the answer uses it', { timeout: RUN_TIMEOUT_MS + 30000 }, async () => {
			assert.ok(claudeBin, `claude ${version.name} executable not installed (npm ci --prefix tests)`);
			const from = fake.requests.length;
			const seen = recorder.exchanges.length;
			const r = await runClaude(claudeBin, [
				'-p', `Search the web: when was Claude Shannon born? (${WS_MARKER})`,
				'--model', 'claude-sonnet-4-5',
				'--output-format', 'json',
				'--allowedTools', 'WebSearch',
				'--max-turns', '5',
			], claudeEnv(home, recorder.url), RUN_TIMEOUT_MS);
			const mine = fake.requests.slice(from);
			const diag = () => `exit ${r.code}\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr.slice(0, 2000)}\n${describeUpstream(fake)}`;
			saveDebug(`${version.name}-websearch`, fake, r);
			assert.equal(r.code, 0, diag());
			const out = JSON.parse(r.stdout);
			assert.equal(out.is_error, false, diag());
			assert.equal(out.result, WS_FINAL, diag());
			// the proxy ran the search: Tavily got the model's query
			assert.ok(web.tavily.requests.some((q) => JSON.parse(q.body).query === WS_QUERY), diag());
			// WebSearch's request: web_search offered as a function, forced
			// in its first round, then the results in a tool message
			const loop = mine.filter((q) => (q.json?.tools ?? []).map((t) => t.function?.name).join() === 'web_search');
			assert.equal(loop.length, 2, diag());
			// the loop streamed: WebSearch's request got its blocks as they
			// happened, in one message (the proxy's stream, as recorded)
			assert.ok(loop.every((q) => q.json.stream === true), diag());
			const wsStream = recorder.exchanges.slice(seen).find((x) => x.body.includes('"web_search_tool_result"'));
			assert.ok(wsStream, diag());
			const wsEvents = parseSSE(wsStream.body);
			const g = checkStreamGrammar(wsEvents);
			assert.deepEqual(g.blocks.map((b) => b.type), ['server_tool_use', 'web_search_tool_result', 'text', 'text'], diag());
			assert.deepEqual(g.blocks[0].input, { query: WS_QUERY });
			assert.equal(g.blocks[2].citations[0].url, WS_URL);
			assert.ok(wsEvents.some((e) => e.data?.delta?.type === 'citations_delta'));
			assert.deepEqual(g.usage.server_tool_use, { web_search_requests: 1, web_fetch_requests: 0 });
			assert.deepEqual(loop[0].json.tool_choice, { type: 'function', function: { name: 'web_search' } });
			const results = loop[1].json.messages.find((m) => m.role === 'tool');
			assert.match(results.content, new RegExp(`\\[1\\] ${WS_TITLE}\\nURL: ${WS_URL.replace(/\./g, '\\.')}`));
			// Claude Code reports the search to the main turn: the link and the summary
			const main = mine.find((q) => JSON.stringify(q.json?.messages ?? []).includes('call_ws_main')
				&& q.json.messages.some((m) => m.role === 'tool' && m.tool_call_id === 'call_ws_main'));
			assert.ok(main, diag());
			const report = textOf(main.json.messages.find((m) => m.tool_call_id === 'call_ws_main').content);
			assert.ok(report.includes(WS_URL) && report.includes(WS_TITLE), `WebSearch's report: ${report}`);
			assert.ok(report.includes('April 30, 1916'), `WebSearch's report: ${report}`);
		});

		test('claude -p with tool search: a tool ToolSearch loads goes upstream, the reference reads as text', { timeout: RUN_TIMEOUT_MS + 30000 }, async () => {
			assert.ok(claudeBin, `claude ${version.name} executable not installed (npm ci --prefix tests)`);
			const from = fake.requests.length;
			const r = await runClaude(claudeBin, [
				'-p', `Load the WebFetch tool, then say you are done. (${TS_MARKER})`,
				'--model', 'claude-sonnet-4-5',
				'--output-format', 'json',
				'--max-turns', '4',
			], claudeEnv(home, proxy.url, { ENABLE_TOOL_SEARCH: 'true' }), RUN_TIMEOUT_MS);
			const reqs = fake.requests.slice(from).filter((q) => JSON.stringify(q.json?.messages ?? []).includes(TS_MARKER));
			const names = (q) => (q.json.tools ?? []).map((t) => t.function?.name);
			const diag = () => `exit ${r.code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}\n` +
				`upstream: ${reqs.map((q) => `tools=${names(q).join(',')} msgs=${q.json.messages.length}`).join('; ')}`;
			assert.equal(r.code, 0, diag());
			assert.equal(JSON.parse(r.stdout).result, TS_FINAL, diag());
			const before = reqs.find((q) => !hasToolResult(q.json.messages));
			const after = reqs.find((q) => hasToolResult(q.json.messages));
			assert.ok(before && after, diag());
			assert.ok(names(before).includes('ToolSearch'), diag());
			// Claude Code marks deferred tools with defer_loading; none is in the
			// model's context before tool search loads it
			assert.ok(!names(before).includes('WebFetch'), diag());
			assert.ok(!names(before).includes('DeferredToolPlaceholder'), diag());
			assert.ok(names(after).includes('WebFetch'), diag());
			const toolMsg = after.json.messages.find((m) => m.role === 'tool');
			assert.equal(toolMsg.tool_call_id, 'call_ts_1');
			assert.match(textOf(toolMsg.content), /Tool WebFetch loaded; it can now be called\./);
		});

		// Issue 10, item 7: a stream that breaks after its text began ends
		// as Anthropic's do, with event: error and the block left open.
		// 2.1.197 then retries the turn without streaming; given a
		// content_block_stop before the error it failed the turn instead.
		test('claude -p: an upstream stream cut after its text began -> error event, block left open, the turn is retried and succeeds', { timeout: RUN_TIMEOUT_MS + 30000 }, async () => {
			assert.ok(claudeBin, `claude ${version.name} executable not installed (npm ci --prefix tests)`);
			const seen = recorder.exchanges.length;
			const r = await runClaude(claudeBin, [
				'-p', `Say something nice. (${CUT_MARKER})`,
				'--model', 'claude-sonnet-4-5',
				'--output-format', 'json',
				'--max-turns', '2',
			], claudeEnv(home, recorder.url), RUN_TIMEOUT_MS);
			const broken = recorder.exchanges.slice(seen).filter((x) => x.body.includes(CUT_TEXT) && x.body.includes('event: error'));
			const diag = () => `exit ${r.code} ${r.signal ?? ''}\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr.slice(0, 3000)}\n` +
				`${describeUpstream(fake)}\nthe broken stream as the proxy sent it:\n${broken[0]?.body ?? '(none)'}`;
			saveDebug(`${version.name}-cut`, fake, r);

			// What Claude Code made of it: the retried turn's good answer.
			assert.ok(respond.cutTurns.length >= 2, `the turn was not retried\n${diag()}`);
			assert.equal(r.code, 0, diag());
			let out;
			assert.doesNotThrow(() => { out = JSON.parse(r.stdout); }, diag());
			assert.equal(out.is_error, false, diag());
			assert.equal(out.result, GOOD, diag());

			// What the proxy sent for the broken attempt: the text so far and
			// one error event, the text block still open, the body properly
			// ended (chunked terminator after the error event).
			assert.equal(broken.length, 1, diag());
			const evs = parseSSE(broken[0].body).filter((e) => e.event !== 'ping');
			assert.deepEqual(evs.map((e) => e.event), ['message_start', 'content_block_start', 'content_block_delta', 'error'], diag());
			const g = checkStreamGrammar(evs, { expectComplete: false });
			assert.equal(g.blocks[0].text, CUT_TEXT);
			assert.equal(g.error.type, 'error');
			assert.equal(typeof g.error.error.type, 'string');
			assert.ok(broken[0].ended, 'the stream was not ended with the chunked terminator');
		});
	});
}

// The team gateway (issue 13): two people's keys, each routed to its own
// model by a route on the key, whatever model names Claude Code asks for.
describe('Claude Code with two keys routed to different models', { timeout: 300000 }, () => {
	const claudeBin = findClaude(VERSIONS[0]);
	const ALICE = 'cc-alice-key-0123456789';
	const BOB = 'cc-bob-key-0123456789';
	let fake, proxy, home, usageLog;
	before(async () => {
		fake = await startFakeUpstream();
		fake.setResponder((rec) => answer(rec, 'TEAM-OK'));
		home = mkTmpDir('cp-cc-team-home-');
		usageLog = path.join(home, 'usage.log');
		const cfg = baseConfig(fake.url, {
			keys: [{ name: 'alice', key: ALICE }, { name: 'bob', key: BOB }],
			routes: [
				{ name: 'alice-model', match: { key: 'alice' }, model: 'glm' },
				{ name: 'bob-model', match: { key: 'bob' }, model: 'mini' },
			],
			usage_log: usageLog,
		});
		cfg.providers[0].models = [
			{ id: 'glm', remote_id: 'remote-glm', aliases: ['claude-*'], max_tokens: 8192 },
			{ id: 'mini', remote_id: 'remote-mini', max_tokens: 4096 },
		];
		proxy = await startProxy({ config: cfg });
	});
	after(() => teardown(proxy, fake, () => { if (home) fs.rmSync(home, { recursive: true, force: true }); }));

	async function run(key) {
		const from = fake.requests.length;
		const r = await runClaude(claudeBin, ['-p', 'Say hello.', '--model', 'claude-sonnet-4-5',
			'--output-format', 'json', '--max-turns', '2'], {
			PATH: process.env.PATH, HOME: home, TMPDIR: home,
			ANTHROPIC_BASE_URL: proxy.url, ANTHROPIC_AUTH_TOKEN: key,
			DISABLE_TELEMETRY: '1', DISABLE_AUTOUPDATER: '1', DISABLE_ERROR_REPORTING: '1',
			CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', CLAUDE_CODE_DISABLE_TERMINAL_TITLE: '1',
		}, RUN_TIMEOUT_MS);
		return { r, upstream: fake.requests.slice(from) };
	}

	test('each key\'s requests reach its own model', { timeout: 2 * RUN_TIMEOUT_MS + 30000 }, async () => {
		assert.ok(claudeBin, 'claude executable not installed (npm ci --prefix tests)');
		const a = await run(ALICE);
		assert.equal(a.r.code, 0, `${a.r.stdout.slice(0, 2000)}\n${a.r.stderr.slice(0, 2000)}`);
		assert.equal(JSON.parse(a.r.stdout).result, 'TEAM-OK');
		const b = await run(BOB);
		assert.equal(b.r.code, 0, `${b.r.stdout.slice(0, 2000)}\n${b.r.stderr.slice(0, 2000)}`);
		assert.equal(JSON.parse(b.r.stdout).result, 'TEAM-OK');
		assert.ok(a.upstream.length >= 1 && b.upstream.length >= 1);
		assert.deepEqual([...new Set(a.upstream.map((q) => q.json?.model))], ['remote-glm'], 'alice: glm only');
		assert.deepEqual([...new Set(b.upstream.map((q) => q.json?.model))], ['remote-mini'], 'bob: mini only');
		// the usage log says who used what, by name
		const recs = await pollUntil(() => {
			const l = fs.existsSync(usageLog) ? fs.readFileSync(usageLog, 'utf8').split('\n').filter(Boolean) : [];
			return l.length >= a.upstream.length + b.upstream.length ? l.map((x) => JSON.parse(x)) : null;
		}, { what: 'the usage lines' });
		for (const rec of recs) {
			assert.equal(rec.model, rec.key === 'alice' ? 'glm' : 'mini', JSON.stringify(rec));
			assert.equal(rec.route, `${rec.key}-model`);
			assert.match(rec.model_requested, /^claude-/);
		}
		assert.ok(recs.some((x) => x.key === 'alice') && recs.some((x) => x.key === 'bob'));
		assert.ok(recs.some((x) => typeof x.session_id === 'string' && x.session_id.length > 0),
			'Claude Code\'s session id is recorded');
	});
});

// Issue 12: Gemini through its OpenAI-compatible endpoint signs tool calls
// (extra_content.google.thought_signature) and refuses the next turn, with
// its own 400, unless the signature comes back on the call. The fake plays
// Gemini: a Bash call signed on the first (and only) call, streamed as
// Gemini streams (no index, the call whole); the turn that carries the tool
// result succeeds only if the signature returned through Claude Code.
const GEM_MARKER = 'cp-gemini-marker-6620';
const GEM_SIG = 'EpwCAdHtim9+TbN5/0qQc3Zx1y2w+Rk7==';
const GEM_FINAL = 'GEM-FINAL: the signed call came back';

function geminiResponder(rec) {
	const body = rec.json ?? {};
	const messages = body.messages ?? [];
	const isMain = JSON.stringify(messages).includes(GEM_MARKER) &&
		(body.tools ?? []).some((t) => t.function?.name === 'Bash');
	if (!isMain) return answer(rec, 'ok');
	for (const m of messages) {
		if (m.role === 'assistant' && m.tool_calls &&
		    m.tool_calls[0].extra_content?.google?.thought_signature !== GEM_SIG) {
			return { status: 400, body: [{ error: { code: 400, status: 'INVALID_ARGUMENT',
				message: 'Function call is missing a thought_signature in functionCall parts.' } }] };
		}
	}
	if (hasToolResult(messages)) return answer(rec, GEM_FINAL);
	const call = { id: 'function-call-4242', type: 'function',
		function: { name: 'Bash', arguments: JSON.stringify({ command: TOOL_COMMAND, description: 'Print a greeting' }) },
		extra_content: { google: { thought_signature: GEM_SIG } } };
	if (!body.stream) {
		return { status: 200, body: completion({ content: 'Running it.', tool_calls: [call], finish: 'tool_calls' }) };
	}
	return { stream: true, chunks: [
		chunk({ role: 'assistant', content: 'Running it.' }),
		chunk({ role: 'assistant', tool_calls: [call] }),
		chunk({ role: 'assistant' }, { finish: 'tool_calls' }), usageChunk(200, 20),
	] };
}

describe('Claude Code (suite) through a Gemini-shaped upstream: thought signatures', { timeout: 300000 }, () => {
	const claudeBin = findClaude(VERSIONS[0]);
	let fake, proxy, home;
	before(async () => {
		fake = await startFakeUpstream();
		fake.setResponder(geminiResponder);
		const cfg = baseConfig(fake.url, { ak: AK });
		cfg.providers = [{ name: 'gemini', base_url: fake.url, api_key: 'gem-fake-key', schema: 'gemini',
			models: [{ id: 'gem', remote_id: 'gemini-3-pro-preview', aliases: ['claude-*'], max_tokens: 8192 }] }];
		proxy = await startProxy({ config: cfg });
		home = mkTmpDir('cp-cc-gem-');
	});
	after(() => teardown(proxy, fake, () => { if (home) fs.rmSync(home, { recursive: true, force: true }); }));

	test('claude -p: a signed Bash call runs, and the turn with its result is accepted', { timeout: RUN_TIMEOUT_MS + 30000 }, async () => {
		assert.ok(claudeBin, 'claude executable not installed (npm ci --prefix tests)');
		const r = await runClaude(claudeBin, [
			'-p', `Run the shell command \`${TOOL_COMMAND}\` and tell me what it printed. (${GEM_MARKER})`,
			'--model', 'claude-sonnet-4-5', '--output-format', 'json',
			'--allowedTools', 'Bash(printf:*)', '--max-turns', '4',
		], claudeEnv(home, proxy.url), RUN_TIMEOUT_MS);
		const diag = () => `exit ${r.code}\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr.slice(0, 2000)}\n${describeUpstream(fake)}`;
		saveDebug('gemini', fake, r);
		assert.equal(r.code, 0, diag());
		assert.equal(JSON.parse(r.stdout).result, GEM_FINAL, diag());
		const withResult = fake.requests.find((q) => JSON.stringify(q.json?.messages ?? []).includes(GEM_MARKER) &&
			hasToolResult(q.json.messages));
		assert.ok(withResult, diag());
		const asst = withResult.json.messages.find((m) => m.role === 'assistant' && m.tool_calls);
		assert.equal(asst.tool_calls[0].id, 'function-call-4242');
		assert.equal(asst.tool_calls[0].extra_content.google.thought_signature, GEM_SIG);
		const toolMsg = withResult.json.messages.find((m) => m.role === 'tool');
		assert.equal(toolMsg.tool_call_id, 'function-call-4242');
		assert.ok(textOf(toolMsg.content).includes(TOOL_OUTPUT), JSON.stringify(toolMsg));
	});
});
