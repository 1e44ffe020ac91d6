// Configured secrets never reach a client or a log line (issue 10: items 1,
// 3, 4), whatever form an upstream echoes them in; and the upstream's
// failures are logged with their reason (item 19).
//
// The keys here are deliberately not "sk-..." shaped: a passphrase with a
// quote and a slash (JSON and URLs escape both), a file: key, an ak. The
// heuristic net alone would let all three through.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startFakeUpstream, chunk, completion, gate } from './lib/fake-upstream.mjs';
import {
	startProxy, baseConfig, mkTmpDir, msgBody, errorEnvelope, teardown, RawConn, pollUntil,
} from './lib/proxy.mjs';
import { openStream } from './lib/hardening.mjs';

const T = { timeout: 20000 };

const PASS = 'correct horse "battery" staple/42';
const FILEKEY = 'unguessable file key 0451';
const AK = 'open sesame please';
// words of the keys that no other text in these tests contains
const FRAGMENTS = ['battery', 'staple', 'unguessable', 'sesame'];

function assertNoSecret(text, what) {
	for (const f of FRAGMENTS) {
		assert.ok(!text.includes(f), `${what} carries "${f}" of a configured secret:\n${text.slice(0, 2000)}`);
	}
}

describe('configured secrets never reach a client', { timeout: 120000 }, () => {
	let fake, proxy, dir, keyFile;
	const auth = { 'x-api-key': AK };
	before(async () => {
		fake = await startFakeUpstream();
		dir = mkTmpDir('cp-secrets-');
		keyFile = path.join(dir, 'key');
		fs.writeFileSync(keyFile, FILEKEY + '\n', { mode: 0o600 });
		const cfg = baseConfig(fake.url, { ak: AK });
		cfg.providers[0].api_key = PASS;
		cfg.providers.push({ name: 'filed', base_url: fake.url, api_key: `file:${keyFile}`,
			models: [{ id: 'filed-model' }] });
		proxy = await startProxy({ config: cfg, verbose: true });
	});
	after(async () => {
		await teardown(proxy, fake);
		fs.rmSync(dir, { recursive: true, force: true });
	});
	beforeEach(() => fake.reset());

	test('a 401 that quotes the passphrase key (JSON-escaped) is masked', T, async () => {
		fake.json({ error: { message: `Incorrect API key provided: ${PASS}. You can find your API key at https://example.com.`,
			type: 'invalid_request_error', code: 'invalid_api_key' } }, { status: 401 });
		const r = await proxy.post('/v1/messages', msgBody(), auth);
		assert.equal(r.status, 502, r.text);
		const e = errorEnvelope(r);
		assert.match(e.error.message, /Incorrect API key provided: \*\*\*\. You can find/);
		assertNoSecret(r.text, 'the 502');
	});

	test('a 400 text body with the key verbatim and percent-encoded is masked', T, async () => {
		fake.enqueue({ status: 400, headers: { 'content-type': 'text/plain' },
			body: `bad key ${PASS} for https://up.example/v1?key=${encodeURIComponent(PASS)}&x=1` });
		const r = await proxy.post('/v1/messages', msgBody(), auth);
		assert.equal(r.status, 400, r.text);
		assert.match(errorEnvelope(r).error.message, /bad key \*\*\* for https:\/\/up\.example\/v1\?key=\*\*\*&x=1/);
		assertNoSecret(r.text, 'the 400');
	});

	test('a file: key and the ak quoted in a 429 are masked, the status kept', T, async () => {
		fake.json({ error: { message: `key ${FILEKEY} (client ${AK}) is over its quota` } }, { status: 429 });
		const r = await proxy.post('/v1/messages', msgBody({ model: 'filed-model' }), auth);
		assert.equal(r.status, 429, r.text);
		assert.match(errorEnvelope(r).error.message, /key \*\*\* \(client \*\*\*\) is over its quota/);
		assertNoSecret(r.text, 'the 429');
	});

	/** SIGHUP, then wait until the old generation has gone: an idle old
	 * worker may still take a connection just after the reload line. */
	async function reload() {
		const old = proxy.workers();
		const from = proxy.stderr.length;
		proxy.signal('SIGHUP');
		await proxy.waitForLog(/configuration reloaded/, 10000, from);
		await pollUntil(() => !proxy.workers().some((w) => old.includes(w)), { timeoutMs: 10000, what: 'the old workers to exit' });
	}

	test('after a reload the new file: key is known (and masked) too', T, async () => {
		const NEWKEY = 'rotated unguessable key 2';
		fs.writeFileSync(keyFile, NEWKEY + '\n', { mode: 0o600 });
		await reload();
		fake.json({ error: { message: `key ${NEWKEY} is over its quota` } }, { status: 429 });
		const r = await proxy.post('/v1/messages', msgBody({ model: 'filed-model' }), auth);
		assert.equal(r.status, 429, r.text);
		assert.match(errorEnvelope(r).error.message, /key \*\*\* is over its quota/);
		assert.ok(!r.text.includes('rotated'), r.text);
		fs.writeFileSync(keyFile, FILEKEY + '\n', { mode: 0o600 });
		await reload();
	});

	test('an error inside a 2xx answer is masked', T, async () => {
		fake.json({ error: { message: `upstream said ${PASS}`, code: 401 } });
		const r = await proxy.post('/v1/messages', msgBody(), auth);
		assert.equal(r.status, 502, r.text);
		assertNoSecret(r.text, 'the answer');
	});

	test('a key echoed into a plain answer\'s text and thinking is masked', T, async () => {
		fake.json(completion({ content: `Error 401: invalid key ${PASS} (client ${AK})`, reasoning: `the key ${FILEKEY}` }));
		const r = await proxy.post('/v1/messages', msgBody(), auth);
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content.find((b) => b.type === 'text').text, 'Error 401: invalid key *** (client ***)');
		assert.equal(r.json.content.find((b) => b.type === 'thinking').thinking, 'the key ***');
		assertNoSecret(r.text, 'the answer');
	});

	test('a key split across stream chunks is masked; the text before it is not held', T, async () => {
		const g = gate();
		fake.stream([
			chunk({ role: 'assistant', content: 'invalid key corr' }), g,
			chunk({ content: PASS.slice(4, 20) }), chunk({ content: `${PASS.slice(20)}, retry` }),
			chunk({ reasoning_content: `thinking of ${AK}` }),
			chunk({}, { finish: 'stop' }),
		]);
		const o = await openStream(proxy.port, msgBody(), { headers: auth });
		assert.equal(o.status, 200);
		// before the gate opens: "invalid key " is out, "corr" waits
		const d = await o.s.until((e) => e.event === 'content_block_delta', 5000);
		assert.equal(d.data.delta.text, 'invalid key ');
		g.open();
		const events = [d, ...await o.s.rest(10000)];
		const text = events.filter((e) => e.data?.delta?.type === 'text_delta').map((e) => e.data.delta.text).join('');
		const thinking = events.filter((e) => e.data?.delta?.type === 'thinking_delta').map((e) => e.data.delta.thinking).join('');
		assert.equal(text, 'invalid key ***, retry');
		assert.equal(thinking, 'thinking of ***');
		assertNoSecret(o.s.raw, 'the stream');
	});

	test('a key echoed into a tool call\'s arguments is masked, plain and streamed, split or not', T, async () => {
		const tools = [{ name: 'Bash', description: 'run', input_schema: { type: 'object',
			properties: { command: { type: 'string' } } } }];
		const args = JSON.stringify({ command: `curl -H 'x-api-key: ${AK}' -d '${PASS}'` });
		const call = { id: 'call_k', type: 'function', function: { name: 'Bash', arguments: args } };
		fake.json(completion({ content: null, tool_calls: [call], finish: 'tool_calls' }));
		const r = await proxy.post('/v1/messages', msgBody({ tools }), auth);
		assert.equal(r.status, 200, r.text);
		const tu = r.json.content.find((b) => b.type === 'tool_use');
		assert.deepEqual(tu.input, { command: "curl -H 'x-api-key: ***' -d '***'" });
		assertNoSecret(r.text, 'the answer');
		// an upstream that sends the arguments as an object, not a string
		fake.json(completion({ content: null, finish: 'tool_calls',
			tool_calls: [{ ...call, function: { name: 'Bash', arguments: JSON.parse(args) } }] }));
		const ro = await proxy.post('/v1/messages', msgBody({ tools }), auth);
		assert.equal(ro.status, 200, ro.text);
		assert.deepEqual(ro.json.content.find((b) => b.type === 'tool_use').input,
			{ command: "curl -H 'x-api-key: ***' -d '***'" });
		assertNoSecret(ro.text, 'the answer with object arguments');
		// streamed: the arguments cut inside each key, over several chunks
		const cutA = args.indexOf('sesame') + 2, cutP = args.indexOf('battery') + 3;
		fake.stream([
			chunk({ role: 'assistant', content: '' }),
			chunk({ tool_calls: [{ index: 0, id: 'call_k', type: 'function', function: { name: 'Bash', arguments: args.slice(0, cutA) } }] }),
			chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(cutA, cutP) } }] }),
			chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(cutP) } }] }),
			chunk({}, { finish: 'tool_calls' }),
		]);
		const o = await openStream(proxy.port, msgBody({ tools }), { headers: auth });
		assert.equal(o.status, 200);
		const events = await o.s.rest(10000);
		const json = events.filter((e) => e.data?.delta?.type === 'input_json_delta').map((e) => e.data.delta.partial_json).join('');
		assert.deepEqual(JSON.parse(json), { command: "curl -H 'x-api-key: ***' -d '***'" });
		assertNoSecret(o.s.raw, 'the stream');
	});

	test('an SSE error event after the stream began is masked', T, async () => {
		fake.stream([
			chunk({ role: 'assistant', content: 'Hel' }),
			{ error: { message: `invalid key ${PASS} / ${AK}`, type: 'invalid_request_error' } },
		], { end: 'eof' });
		const r = await proxy.stream(msgBody(), auth);
		assert.equal(r.status, 200);
		const err = r.events.find((e) => e.event === 'error');
		assert.ok(err, `no error event: ${r.raw}`);
		assert.match(err.data.error.message, /invalid key \*\*\* \/ \*\*\*/);
		assertNoSecret(r.raw, 'the stream');
	});
});

describe('configured secrets never reach a log line', { timeout: 120000 }, () => {
	let fake, proxy;
	const auth = { 'x-api-key': AK };
	before(async () => {
		fake = await startFakeUpstream();
		const cfg = baseConfig(fake.url, { ak: AK, log_body_max_chars: 4096, log_stream_text_preview_chars: 64 });
		cfg.providers[0].api_key = PASS;
		proxy = await startProxy({ config: cfg, verbose: true });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	/** The log once r's access line is in: its worker wrote everything
	 * else of r (bodies, stream summary) before that line. */
	async function logged(r) {
		await proxy.waitForLog(new RegExp(`${r.headers.get('request-id')} "`), 5000);
		return proxy.stderr;
	}

	test('bodies: the key JSON-escaped in an answer, the ak in a request', T, async () => {
		const from = proxy.stderr.length;
		fake.json({ id: 'x', object: 'chat.completion', model: 'm', choices: [{ index: 0,
			message: { role: 'assistant', content: `the key is ${PASS}` }, finish_reason: 'stop' }] });
		const r = await proxy.post('/v1/messages', msgBody({ messages: [{ role: 'user', content: `my ak is ${AK}` }] }), auth);
		assert.equal(r.status, 200, r.text);
		const log = (await logged(r)).slice(from);
		assert.match(log, /upstream response: .*the key is \*\*\*/, 'the answer body was not logged');
		assert.match(log, /request: .*my ak is \*\*\*/, 'the request body was not logged');
		assertNoSecret(log, 'the body log');
	});

	test('the stream summary preview masks the key, cut or not', T, async () => {
		const from = proxy.stderr.length;
		// 60 characters, then the key across the 64-character preview cut
		const text = `${'x'.repeat(60)}${PASS} and more`;
		fake.stream([chunk({ role: 'assistant', content: text.slice(0, 70) }), chunk({ content: text.slice(70) }),
			chunk({}, { finish: 'stop' })]);
		const r = await proxy.stream(msgBody(), auth);
		assert.equal(r.status, 200);
		const log = (await logged(r)).slice(from);
		// cut at 64 characters, the rest counted
		assert.match(log, /stream: .*preview="x{60}\*\*\* \.\.\.\(\d+ more bytes\)"/, `no masked preview in:\n${log}`);
		assertNoSecret(log, 'the stream summary');
		assert.ok(!log.includes('correct horse'), 'the key\'s beginning was logged');
	});

	test('the access line masks key-like query values, keeps the names', T, async () => {
		const from = proxy.stderr.length;
		const q = 'ak=qwerty-1&KEY=zz9&limit=2&api_key=p1&x-api-key=p2&apikey=p3&token=p4&access_token=p5&after_id=glm';
		const r = await proxy.get(`/v1/models?${q}`, auth);
		assert.equal(r.status, 200, r.text);
		const log = (await logged(r)).slice(from);
		const line = log.split('\n').find((l) => l.includes('"GET /v1/models?'));
		assert.ok(line, `no access line in:\n${log}`);
		assert.ok(line.includes('?ak=***&KEY=***&limit=2&api_key=***&x-api-key=***&apikey=***&token=***&access_token=***&after_id=glm'),
			line);
		for (const v of ['qwerty', 'zz9', 'p1', 'p2', 'p3', 'p4', 'p5']) assert.ok(!line.includes(`=${v}`), line);
	});

	test('a key sent as the model is masked in the 404 and the access line', T, async () => {
		const from = proxy.stderr.length;
		const r = await proxy.post('/v1/messages', msgBody({ model: PASS }), auth);
		assert.equal(r.status, 404, r.text);
		assert.match(errorEnvelope(r).error.message, /^model: \*\*\* not found/);
		assertNoSecret(r.text, 'the 404');
		const log = (await logged(r)).slice(from);
		assert.match(log, /"POST \/v1\/messages" 404 model=\*\*\* /);
		assertNoSecret(log, 'the access line');
	});

	test('the ak in a query string and the path is masked too', T, async () => {
		const from = proxy.stderr.length;
		const r = await proxy.get(`/v1/models/${encodeURIComponent(AK)}?q=${encodeURIComponent(AK)}`, auth);
		const log = (await logged(r)).slice(from);
		assert.match(log, /"GET \/v1\/models\/\*\*\*\?q=\*\*\*" 404/);
		assertNoSecret(log, 'the access line');
	});
});

// Item 19: the operator learns why an upstream failed, not only the client.
describe('upstream failures are logged with their reason', { timeout: 120000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		const cfg = baseConfig(fake.url, { upstream_timeout_seconds: 1, log_body_max_chars: 0 });
		cfg.providers[0].api_key = PASS;
		cfg.providers.unshift({ name: 'slow', base_url: `${fake.url}/slow/v1`, api_key: 'k-slow-0000',
			models: [{ id: 'glm', remote_id: 'slow-glm' }] });
		cfg.providers.push({ name: 'nodns', base_url: 'http://nonexistent.invalid', api_key: 'k-nodns-000',
			models: [{ id: 'm-dns' }] });
		proxy = await startProxy({ config: cfg });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	const rid = (r) => r.headers.get('request-id');

	test('a host that does not resolve: one warning with the request id and curl\'s words', T, async () => {
		const r = await proxy.post('/v1/messages', msgBody({ model: 'm-dns' }));
		assert.equal(r.status, 502, r.text);
		await proxy.waitForLog(new RegExp(`${rid(r)} provider nodns failed: Could not resolve host: nonexistent\\.invalid$`, 'm'));
	});

	test('a 401: the status and the upstream\'s words, the key masked', T, async () => {
		fake.setResponder((rec) => rec.url.startsWith('/slow/') ? { status: 500, body: { error: { message: 'slow is down' } } }
			: { status: 401, body: { error: { message: `Incorrect API key provided: ${PASS}.` } } });
		const r = await proxy.post('/v1/messages', msgBody());
		assert.equal(r.status, 502, r.text);
		const m = await proxy.waitForLog(new RegExp(`^.*${rid(r)} provider fake failed: HTTP 401: .*$`, 'm'));
		assert.match(m[0], /HTTP 401: Incorrect API key provided: \*\*\*\.$/);
		await proxy.waitForLog(new RegExp(`${rid(r)} provider slow failed: HTTP 500: slow is down; trying the next one$`, 'm'));
		assertNoSecret(proxy.stderr, 'the log');
	});

	test('a timeout before falling back reads "timed out", nothing glued to it', T, async () => {
		fake.setResponder((rec) => rec.url.startsWith('/slow/') ? { hang: true } : { status: 200, body: completion({ content: 'late' }) });
		const r = await proxy.post('/v1/messages', msgBody());
		assert.equal(r.status, 200, r.text);
		await proxy.waitForLog(new RegExp(`${rid(r)} provider slow failed: timed out; trying the next one$`, 'm'));
		assert.ok(!/timed out\d/.test(proxy.stderr), 'a number glued to the reason');
	});

	test('garbage in a stream after it began: the chunk, masked, in the warning', T, async () => {
		fake.setResponder((rec) => rec.url.startsWith('/slow/') ? { status: 500, body: 'down' }
			: { stream: true, chunks: [chunk({ role: 'assistant', content: 'Hi' }), `data: {not json ${PASS}\n\n`], end: 'eof' });
		const r = await proxy.stream(msgBody());
		assert.equal(r.status, 200);
		assert.ok(r.events.some((e) => e.event === 'error'), r.raw);
		const m = await proxy.waitForLog(new RegExp(`^.*${rid(r)} provider fake failed: .*$`, 'm'));
		assert.match(m[0], /unreadable stream chunk: \{not json \*\*\*/);
		assertNoSecret(proxy.stderr, 'the log');
	});
});

// Item 19: a client that left is 499 (as nginx logs it), never 0.
describe('a client that leaves before its answer is complete is 499', { timeout: 120000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		proxy = await startProxy({ config: baseConfig(fake.url, { log_body_max_chars: 0 }) });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	async function metric499() {
		const r = await proxy.get('/metrics');
		const m = /claude_proxy_requests_total\{endpoint="\/v1\/messages",status="499"\} (\d+)/.exec(r.text);
		assert.ok(!/status="0"/.test(r.text), r.text);
		return m ? Number(m[1]) : 0;
	}

	test('left while the upstream was thinking: 499 in the access line and /metrics', T, async () => {
		const before = await metric499();
		const h = fake.enqueue({ hang: true });
		const c = await RawConn.open(proxy.port);
		const body = JSON.stringify(msgBody());
		await c.write(`POST /v1/messages?zz-left-early HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`
			+ `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
		await h.request;
		c.destroy();
		await proxy.waitForLog(/"POST \/v1\/messages\?zz-left-early" 499 model=glm /);
		// the scoreboard counts it just after the access line
		await pollUntil(async () => (await metric499()) === before + 1, { what: 'status="499" to count one more' });
	});

	test('left in the middle of a stream: 499', T, async () => {
		const before = await metric499();
		const g = gate();
		fake.stream([chunk({ role: 'assistant', content: 'first words' }), g, chunk({ content: 'never read' })], { end: 'hang' });
		const o = await openStream(proxy.port, msgBody());
		assert.equal(o.status, 200);
		await o.s.until((e) => e.event === 'content_block_delta', 5000);
		o.req.destroy();
		const m = await proxy.waitForLog(new RegExp(`^.*${o.headers.get('request-id')} "POST /v1/messages" (\\d+) .*$`, 'm'));
		assert.equal(m[1], '499', m[0]);
		// the scoreboard counts it just after the access line
		await pollUntil(async () => (await metric499()) === before + 1, { what: 'status="499" to count one more' });
		g.open();
	});
});

// Under 8 bytes a key cannot be told from words: not masked, said at start.
describe('a key shorter than 8 bytes', { timeout: 60000 }, () => {
	let fake, proxy;
	before(async () => {
		fake = await startFakeUpstream();
		const cfg = baseConfig(fake.url, { ak: 'abc1234' });
		cfg.providers[0].api_key = 'EMPTY';
		proxy = await startProxy({ config: cfg });
	});
	after(() => teardown(proxy, fake));

	test('a short ak is warned about at start; short keys are words, not masked', T, async () => {
		assert.match(proxy.stderr, /ak is shorter than 8 characters: .*not masked/);
		fake.json({ error: { message: 'EMPTY is not a valid key' } }, { status: 400 });
		const r = await proxy.post('/v1/messages', msgBody(), { 'x-api-key': 'abc1234' });
		assert.equal(r.status, 400, r.text);
		assert.match(errorEnvelope(r).error.message, /: EMPTY is not a valid key$/);
	});
});
