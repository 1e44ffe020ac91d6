// The hand-written HTTP/1.1 server, spoken to over raw sockets (issue 2: HTTP/1.1).

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { startFakeUpstream, completion, textOf } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, RawConn, rawRequest, msgBody, safeJSON, teardown } from './lib/proxy.mjs';

const T = { timeout: 15000 };
const MAX_BODY = 1024 * 1024;

function envelopeOf(r) {
	const j = safeJSON(r.text);
	assert.ok(j && j.type === 'error' && j.error && typeof j.error.type === 'string'
		&& typeof j.error.message === 'string', `not an error envelope: ${r.status} ${r.text}`);
	assert.ok(r.headers['request-id'], 'error response without request-id');
	return j;
}

describe('HTTP/1.1 server', { timeout: 180000 }, () => {
	let fake, proxy;
	const conns = [];
	async function open() {
		const c = await RawConn.open(proxy.port);
		conns.push(c);
		return c;
	}

	before(async () => {
		fake = await startFakeUpstream();
		proxy = await startProxy({
			config: baseConfig(fake.url, {
				header_timeout_seconds: 1,
				body_timeout_seconds: 2,
				keepalive_timeout_seconds: 10,
				max_body_bytes: MAX_BODY,
			}),
		});
	});
	after(() => teardown(() => { for (const c of conns) c.destroy(); }, proxy, fake));
	beforeEach(() => {
		fake.reset();
		for (const c of conns.splice(0)) c.destroy();
	});

	test('keep-alive: two requests on one connection', T, async () => {
		const c = await open();
		await c.write(rawRequest('GET', '/'));
		const a = await c.readResponse();
		assert.equal(a.status, 200);
		assert.equal(a.json.health, 'ok');
		assert.notEqual((a.headers.connection ?? '').toLowerCase(), 'close');
		await c.write(rawRequest('GET', '/v1/models'));
		const b = await c.readResponse();
		assert.equal(b.status, 200);
		assert.equal(b.json.data[0].id, 'glm');
		assert.ok(!c.ended, 'server closed a keep-alive connection');
	});

	test('keep-alive across POST /v1/messages', T, async () => {
		fake.json(completion({ content: 'one' }));
		fake.json(completion({ content: 'two' }));
		const c = await open();
		const body = JSON.stringify(msgBody());
		await c.write(rawRequest('POST', '/v1/messages', { headers: { 'content-type': 'application/json' }, body }));
		const a = await c.readResponse();
		assert.equal(a.status, 200, a.text);
		await c.write(rawRequest('POST', '/v1/messages', { headers: { 'content-type': 'application/json' }, body }));
		const b = await c.readResponse();
		assert.equal(b.status, 200, b.text);
		assert.deepEqual([a.json.content[0].text, b.json.content[0].text], ['one', 'two']);
	});

	test('Connection: close is honoured', T, async () => {
		const c = await open();
		await c.write(rawRequest('GET', '/', { headers: { connection: 'close' } }));
		const r = await c.readResponse();
		assert.equal(r.status, 200);
		assert.equal((r.headers.connection ?? '').toLowerCase(), 'close');
		assert.ok(await c.closesWithin(3000), 'server kept the connection open after Connection: close');
	});

	test('HTTP/1.0 request gets an answer and the connection is closed', T, async () => {
		const c = await open();
		await c.write('GET / HTTP/1.0\r\n\r\n');
		const r = await c.readResponse();
		assert.equal(r.status, 200);
		assert.equal(r.json?.health, 'ok', `body: ${r.text}`);
		assert.ok(!/chunked/i.test(r.headers['transfer-encoding'] ?? ''), 'chunked is not HTTP/1.0');
		assert.ok(await c.closesWithin(3000), 'HTTP/1.0 without keep-alive must be closed');
	});

	test('Expect: 100-continue gets 100 before the body is sent', T, async () => {
		fake.json(completion({ content: 'continued' }));
		const c = await open();
		const body = JSON.stringify(msgBody());
		await c.write([
			'POST /v1/messages HTTP/1.1', 'Host: x', 'Content-Type: application/json',
			`Content-Length: ${Buffer.byteLength(body)}`, 'Expect: 100-continue', '', '',
		].join('\r\n'));
		const interim = await c.readHead(3000);
		assert.equal(interim.status, 100, 'expected 100 Continue before sending the body');
		await c.write(body);
		const r = await c.readResponse();
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].text, 'continued');
		assert.equal(fake.requests.length, 1);
	});

	test('Expect: 100-continue with an oversized Content-Length gets 413, no 100', T, async () => {
		const c = await open();
		await c.write([
			'POST /v1/messages HTTP/1.1', 'Host: x', 'Content-Type: application/json',
			`Content-Length: ${MAX_BODY + 1}`, 'Expect: 100-continue', '', '',
		].join('\r\n'));
		const r = await c.readResponse({ timeoutMs: 3000 });
		assert.equal(r.status, 413);
		assert.equal(envelopeOf(r).error.type, 'request_too_large');
		assert.equal(fake.requests.length, 0);
	});

	test('chunked request body is decoded', T, async () => {
		fake.json(completion({ content: 'chunks ok' }));
		const c = await open();
		const body = JSON.stringify(msgBody({ messages: [{ role: 'user', content: 'split-across-chunks-marker' }] }));
		const pieces = [body.slice(0, 7), body.slice(7, 30), body.slice(30)];
		let wire = 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
		pieces.forEach((p, i) => {
			wire += Buffer.byteLength(p).toString(16) + (i === 1 ? ';ext=1' : '') + '\r\n' + p + '\r\n';
		});
		wire += '0\r\n\r\n';
		await c.write(wire);
		const r = await c.readResponse();
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].text, 'chunks ok');
		const up = fake.requests[0].json;
		assert.ok(up.messages.some((m) => textOf(m.content).includes('split-across-chunks-marker')));
	});

	test('chunked request body arriving in separate writes', T, async () => {
		fake.json(completion({ content: 'slow chunks ok' }));
		const c = await open();
		const body = JSON.stringify(msgBody());
		await c.write('POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
		for (const p of [body.slice(0, 10), body.slice(10)]) {
			await c.write(Buffer.byteLength(p).toString(16) + '\r\n');
			await c.write(p + '\r\n');
		}
		await c.write('0\r\n\r\n');
		const r = await c.readResponse();
		assert.equal(r.status, 200, r.text);
		assert.equal(fake.requests.length, 1);
	});

	test('pipelined requests are answered in order', T, async () => {
		fake.json(completion({ content: 'piped' }));
		const c = await open();
		const body = JSON.stringify(msgBody());
		await c.write(
			rawRequest('GET', '/') +
			rawRequest('POST', '/v1/messages', { headers: { 'content-type': 'application/json' }, body }) +
			rawRequest('GET', '/v1/models/mini'));
		const a = await c.readResponse();
		const b = await c.readResponse();
		const d = await c.readResponse();
		assert.equal(a.status, 200);
		assert.equal(a.json.health, 'ok');
		assert.equal(b.status, 200, b.text);
		assert.equal(b.json.content[0].text, 'piped');
		assert.equal(d.status, 200);
		assert.equal(d.json.id, 'mini');
	});

	test('bad request line is 400 and the connection closes', T, async () => {
		for (const line of ['GARBAGE\r\n\r\n', 'GET / HTTX/1.1\r\nHost: x\r\n\r\n', 'GET\t/\tHTTP/1.1\r\n\r\n',
			'G@T / HTTP/1.1\r\nHost: x\r\n\r\n']) {
			const c = await open();
			await c.write(line);
			const r = await c.readResponse();
			assert.equal(r.status, 400, `for ${JSON.stringify(line)}`);
			envelopeOf(r);
			assert.ok(await c.closesWithin(3000), `connection left open after 400 for ${JSON.stringify(line)}`);
		}
	});

	test('malformed header line is 400', T, async () => {
		const c = await open();
		await c.write('GET / HTTP/1.1\r\nHost: x\r\nthis line has no colon\r\n\r\n');
		const r = await c.readResponse();
		assert.equal(r.status, 400);
		envelopeOf(r);
	});

	test('header section over 64 KiB is 431', T, async () => {
		const c = await open();
		const big = 'a'.repeat(1000);
		let head = 'GET / HTTP/1.1\r\nHost: x\r\n';
		for (let i = 0; i < 70; i++) head += `X-Filler-${i}: ${big}\r\n`;
		await c.write(head + '\r\n');
		const r = await c.readResponse();
		assert.equal(r.status, 431);
		envelopeOf(r);
	});

	test('Content-Length over max_body_bytes is 413 before the body is sent', T, async () => {
		const c = await open();
		await c.write(`POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`);
		// Not a byte of body: the answer must come from the headers alone.
		const r = await c.readResponse({ timeoutMs: 3000 });
		assert.equal(r.status, 413);
		assert.equal(envelopeOf(r).error.type, 'request_too_large');
		assert.equal(fake.requests.length, 0);
	});

	test('a body of exactly max_body_bytes is accepted', T, async () => {
		fake.json(completion({ content: 'at the limit' }));
		const c = await open();
		let body = JSON.stringify(msgBody());
		body = body.slice(0, -1) + ' '.repeat(MAX_BODY - body.length) + '}';
		assert.equal(Buffer.byteLength(body), MAX_BODY);
		await c.write(rawRequest('POST', '/v1/messages', { headers: { 'content-type': 'application/json' }, body }));
		const r = await c.readResponse();
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.content[0].text, 'at the limit');
	});

	test('chunked body over max_body_bytes is 413', T, async () => {
		const c = await open();
		await c.write('POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
		const piece = 'x'.repeat(256 * 1024);
		for (let i = 0; i < 5 && !c.ended && c.buf.length === 0; i++) {
			await c.write(piece.length.toString(16) + '\r\n' + piece + '\r\n');
		}
		const r = await c.readResponse({ timeoutMs: 5000 });
		assert.equal(r.status, 413);
		assert.equal(fake.requests.length, 0);
	});

	test('header deadline: a trickling client gets 408 and is closed', T, async () => {
		const c = await open();
		const start = Date.now();
		await c.write('GET / HTTP/1.1\r\n');
		// One header byte every 200 ms: each recv succeeds, the phase must not.
		const trickle = setInterval(() => { if (!c.ended) c.write('X'); }, 200);
		try {
			const r = await c.readResponse({ timeoutMs: 6000 });
			assert.equal(r.status, 408);
			envelopeOf(r);
			const took = Date.now() - start;
			assert.ok(took < 4000, `408 came after ${took} ms with header_timeout_seconds 1`);
		} finally {
			clearInterval(trickle);
		}
		assert.ok(await c.closesWithin(3000), 'connection left open after 408');
	});

	test('body deadline: an incomplete body gets 408', T, async () => {
		const c = await open();
		await c.write('POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":');
		const r = await c.readResponse({ timeoutMs: 8000 });
		assert.equal(r.status, 408);
		assert.equal(fake.requests.length, 0);
		assert.ok(await c.closesWithin(3000));
	});

	test('Content-Length together with Transfer-Encoding is 400', T, async () => {
		const c = await open();
		await c.write('POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
		const r = await c.readResponse();
		assert.equal(r.status, 400);
		envelopeOf(r);
		assert.ok(await c.closesWithin(3000), 'a smuggling attempt must close the connection');
		assert.equal(fake.requests.length, 0);
	});

	test('two different Content-Lengths are 400', T, async () => {
		const c = await open();
		await c.write('POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\n{}{}');
		const r = await c.readResponse();
		assert.equal(r.status, 400);
		envelopeOf(r);
		assert.equal(fake.requests.length, 0);
	});

	test('non-numeric Content-Length is 400', T, async () => {
		const c = await open();
		await c.write('POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n{}');
		const r = await c.readResponse();
		assert.equal(r.status, 400);
	});

	test('Transfer-Encoding: gzip is 501', T, async () => {
		const c = await open();
		await c.write('POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n');
		const r = await c.readResponse();
		assert.equal(r.status, 501);
		envelopeOf(r);
	});

	test('invalid JSON body is 400 invalid_request_error', T, async () => {
		const c = await open();
		await c.write(rawRequest('POST', '/v1/messages', { headers: { 'content-type': 'application/json' },
			body: '{"model": "glm", "messages": [' }));
		const r = await c.readResponse();
		assert.equal(r.status, 400);
		assert.equal(envelopeOf(r).error.type, 'invalid_request_error');
		assert.equal(fake.requests.length, 0);
		// A well-framed request with a bad body keeps the connection usable.
		await c.write(rawRequest('GET', '/'));
		const ok = await c.readResponse();
		assert.equal(ok.status, 200);
	});

	test('JSON body that is not an object / lacks messages is 400', T, async () => {
		for (const body of ['[1,2,3]', '"hello"', JSON.stringify({ model: 'glm', max_tokens: 10 }),
			JSON.stringify({ model: 'glm', max_tokens: 10, messages: 'hello' })]) {
			const c = await open();
			await c.write(rawRequest('POST', '/v1/messages', { headers: { 'content-type': 'application/json' }, body }));
			const r = await c.readResponse();
			assert.equal(r.status, 400, `body ${body}: ${r.text}`);
			assert.equal(envelopeOf(r).error.type, 'invalid_request_error');
		}
		assert.equal(fake.requests.length, 0);
	});

	test('error responses keep keep-alive where the framing allowed it (404)', T, async () => {
		const c = await open();
		await c.write(rawRequest('GET', '/nope'));
		const a = await c.readResponse();
		assert.equal(a.status, 404);
		await c.write(rawRequest('GET', '/'));
		const b = await c.readResponse();
		assert.equal(b.status, 200);
	});
});
