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

import { startFakeUpstream, chunk } from './lib/fake-upstream.mjs';
import {
	startProxy, baseConfig, mkTmpDir, msgBody, errorEnvelope, teardown,
} from './lib/proxy.mjs';

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
	let fake, proxy, dir;
	const auth = { 'x-api-key': AK };
	before(async () => {
		fake = await startFakeUpstream();
		dir = mkTmpDir('cp-secrets-');
		const keyFile = path.join(dir, 'key');
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

	test('an error inside a 2xx answer is masked', T, async () => {
		fake.json({ error: { message: `upstream said ${PASS}`, code: 401 } });
		const r = await proxy.post('/v1/messages', msgBody(), auth);
		assert.equal(r.status, 502, r.text);
		assertNoSecret(r.text, 'the answer');
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
