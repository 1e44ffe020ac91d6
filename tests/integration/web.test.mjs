// The web tools' leaf modules (issue 11, phase 1): websearch against fake
// Tavily, SearXNG and Brave servers, and webfetch against fetch targets,
// all on 127.0.0.1. The daemon does not run them yet (that is phase 2's
// server-tool loop), so tests/cp-webtool, built next to the daemon, calls
// them with a configuration and prints JSON. Ordinary fetches run with
// web_fetch.allow_private_addresses (every server here is on loopback);
// the SSRF cases run without it and must be refused without the target
// ever seeing a request.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import dns from 'node:dns/promises';
import os from 'node:os';

import { proxyBin, baseConfig, mkTmpDir, startProxy, teardown } from './lib/proxy.mjs';
import { closedPort } from './lib/fake-upstream.mjs';
import { startServer, json, startSearchBackends } from './lib/web-fakes.mjs';
import { SLACK_MS } from './lib/hardening.mjs';

const webtool = process.env.CP_WEBTOOL || path.join(path.dirname(proxyBin), 'tests', 'cp-webtool');
const TAVILY_KEY = 'tvly-test-key-must-not-leak-0123';
const BRAVE_KEY = 'BSA-test-key-must-not-leak-4567';
const SEARX_KEY = 'searx-test-key-must-not-leak-89';
const T = { timeout: 60000 };

let tmp;
function writeConfig(extra) {
	const file = path.join(tmp, `config-${Math.random().toString(36).slice(2)}.json`);
	fs.writeFileSync(file, JSON.stringify({ ...baseConfig('http://127.0.0.1:9'), ...extra }), { mode: 0o600 });
	return file;
}

/**
 * Runs cp-webtool; resolves to { out (parsed JSON), raw, stderr, ms }.
 * hangUpAfterMs: close its standard input then (with -w: a client gone).
 */
function runTool(config, args, { hangUpAfterMs } = {}) {
	return new Promise((resolve, reject) => {
		const start = Date.now();
		const child = spawn(webtool, [...args.slice(0, -2), config, ...args.slice(-2)], { stdio: ['pipe', 'pipe', 'pipe'] });
		let stdout = '', stderr = '';
		child.stdout.on('data', (d) => { stdout += d; });
		child.stderr.on('data', (d) => { stderr += d; });
		if (hangUpAfterMs != null) setTimeout(() => child.stdin.end(), hangUpAfterMs);
		const killer = setTimeout(() => child.kill('SIGKILL'), 50000);
		child.on('error', reject);
		child.on('close', (code) => {
			clearTimeout(killer);
			const ms = Date.now() - start;
			if (code !== 0) return reject(new Error(`cp-webtool exited ${code}: ${stderr}`));
			try {
				resolve({ out: JSON.parse(stdout), raw: stdout, stderr, ms });
			} catch (e) {
				reject(new Error(`cp-webtool printed no JSON: ${stdout} ${stderr}`));
			}
		});
	});
}

before(() => {
	assert.ok(fs.existsSync(webtool), `${webtool} is built (meson builds tests/cp-webtool)`);
	tmp = mkTmpDir('cp-web-');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('web search backends', { timeout: 240000 }, () => {
	let backends, tavily, searx, brave;

	before(async () => {
		backends = await startSearchBackends();
		({ tavily, searx, brave } = backends);
	});
	after(() => backends.close());
	beforeEach(() => backends.reset());

	function tavilyConfig(extra = {}) {
		return writeConfig({ web_search: { backend: 'tavily', base_url: tavily.url, api_key: TAVILY_KEY, timeout_seconds: 1, ...extra } });
	}

	test('tavily: POST /search with a bearer key, results mapped, max_results honoured', T, async () => {
		const { out, raw, stderr } = await runTool(tavilyConfig(), ['-n', '3', 'search', 'claude shannon']);
		assert.equal(out.ok, true, raw);
		assert.equal(out.backend, 'tavily');
		assert.equal(out.results.length, 3, 'cut to the tool\'s max_results');
		assert.deepEqual(out.results[0], {
			url: 'https://en.wikipedia.org/wiki/Claude_Shannon', title: 'Claude Shannon - Wikipedia',
			page_age: null, content: 'American mathematician',
		});
		assert.equal(out.results[1].page_age, '2025-04-30');
		const r = tavily.requests[0];
		assert.equal(r.method, 'POST');
		assert.equal(r.url, '/search');
		assert.equal(r.headers.authorization, `Bearer ${TAVILY_KEY}`);
		const body = JSON.parse(r.body);
		assert.equal(body.query, 'claude shannon');
		assert.equal(body.max_results, 3);
		assert.ok(!raw.includes(TAVILY_KEY) && !stderr.includes(TAVILY_KEY), 'the key stays in the request header');
	});

	test('tavily: web_search.max_results when the tool names none', T, async () => {
		const { out } = await runTool(tavilyConfig({ max_results: 2 }), ['search', 'q']);
		assert.equal(out.results.length, 2);
		assert.equal(JSON.parse(tavily.requests[0].body).max_results, 2);
	});

	test('allowed_domains: the host, its subdomains and a path, whatever the backend returned', T, async () => {
		const { out, raw } = await runTool(tavilyConfig(), ['-a', 'example.com', '-a', 'a.org/2', 'search', 'q']);
		assert.equal(out.ok, true, raw);
		assert.deepEqual(out.results.map((x) => x.url), [
			'https://docs.example.com/shannon', 'https://example.com/blog/post-1', 'https://example.com/news/1',
			'https://evil.example.com/', 'https://a.org/2',
		]);
		const body = JSON.parse(tavily.requests[0].body);
		assert.deepEqual(body.include_domains, ['example.com', 'a.org'], 'domains go to Tavily too');
		assert.equal(body.max_results, 20, 'more asked for, so filtering leaves enough');
	});

	test('allowed_domains with a subdomain or a path restricts to it', T, async () => {
		const { out } = await runTool(tavilyConfig(), ['-a', 'example.com/blog', 'search', 'q']);
		assert.deepEqual(out.results.map((x) => x.url), ['https://example.com/blog/post-1']);
		const { out: o2 } = await runTool(tavilyConfig(), ['-a', 'docs.example.com', 'search', 'q']);
		assert.deepEqual(o2.results.map((x) => x.url), ['https://docs.example.com/shannon']);
	});

	test('blocked_domains removes the domain and its subdomains only', T, async () => {
		const { out } = await runTool(tavilyConfig(), ['-b', 'example.com', '-n', '10', 'search', 'q']);
		assert.deepEqual(out.results.map((x) => x.url), [
			'https://en.wikipedia.org/wiki/Claude_Shannon', 'https://badexample.com/', 'https://a.org/1', 'https://a.org/2',
		]);
		assert.deepEqual(JSON.parse(tavily.requests[0].body).exclude_domains, ['example.com']);
	});

	test('both lists, or a wildcard domain: invalid_tool_input without a backend call', T, async () => {
		let { out } = await runTool(tavilyConfig(), ['-a', 'a.org', '-b', 'b.org', 'search', 'q']);
		assert.equal(out.error, 'invalid_tool_input');
		({ out } = await runTool(tavilyConfig(), ['-a', '*.a.org', 'search', 'q']));
		assert.equal(out.error, 'invalid_tool_input');
		({ out } = await runTool(tavilyConfig(), ['search', 'x'.repeat(401)]));
		assert.equal(out.error, 'query_too_long');
		assert.equal(tavily.requests.length, 0);
	});

	test('searxng: GET /search?q=…&format=json, optional bearer key', T, async () => {
		const cfg = writeConfig({ web_search: { backend: 'searxng', base_url: `${searx.url}/`, api_key: SEARX_KEY } });
		const { out, raw } = await runTool(cfg, ['search', 'café & tea']);
		assert.equal(out.ok, true, raw);
		assert.deepEqual(out.results.map((x) => [x.url, x.title, x.content, x.page_age]), [
			['https://searx.example.org/1', 'First', 'one', '2024-01-02T00:00:00'],
			['https://searx.example.org/2', 'Second', 'two', null],
		]);
		const r = searx.requests[0];
		assert.equal(r.method, 'GET');
		const u = new URL(r.url, 'http://x');
		assert.equal(u.pathname, '/search');
		assert.equal(u.searchParams.get('q'), 'café & tea');
		assert.equal(u.searchParams.get('format'), 'json');
		assert.equal(r.headers.authorization, `Bearer ${SEARX_KEY}`);
		assert.ok(!raw.includes(SEARX_KEY));
	});

	test('brave: GET /res/v1/web/search with count, country and X-Subscription-Token', T, async () => {
		const cfg = writeConfig({ web_search: { backend: 'brave', base_url: brave.url, api_key: BRAVE_KEY } });
		const { out, raw } = await runTool(cfg, ['-c', 'DE', '-n', '4', 'search', 'shannon']);
		assert.equal(out.ok, true, raw);
		assert.deepEqual(out.results[0], {
			url: 'https://brave.example.net/1', title: 'Brave one', page_age: 'August 20, 2024', content: 'The first result',
		});
		assert.equal(out.results[1].page_age, '2024-01-01T00:00:00');
		const r = brave.requests[0];
		const u = new URL(r.url, 'http://x');
		assert.equal(u.pathname, '/res/v1/web/search');
		assert.equal(u.searchParams.get('q'), 'shannon');
		assert.equal(u.searchParams.get('count'), '4');
		assert.equal(u.searchParams.get('country'), 'de');
		assert.equal(r.headers['x-subscription-token'], BRAVE_KEY);
		assert.equal(r.headers.authorization, undefined);
		assert.ok(!raw.includes(BRAVE_KEY));
	});

	test('backend 429: too_many_requests', T, async () => {
		backends.mode = '429';
		const { out } = await runTool(tavilyConfig(), ['search', 'q']);
		assert.equal(out.ok, false);
		assert.equal(out.error, 'too_many_requests');
		assert.equal(out.status, 429);
	});

	for (const [m, what] of [['500', 'a 500'], ['html', 'an HTML page'], ['cut', 'cut JSON'], ['reset', 'a reset connection']]) {
		test(`backend answering ${what}: unavailable`, T, async () => {
			backends.mode = m;
			const { out, raw } = await runTool(tavilyConfig(), ['search', 'q']);
			assert.equal(out.ok, false, raw);
			assert.equal(out.error, 'unavailable');
			assert.deepEqual(out.results, []);
			assert.ok(!raw.includes(TAVILY_KEY));
		});
	}

	test('backend down: unavailable at once', T, async () => {
		const port = await closedPort();
		const cfg = writeConfig({ web_search: { backend: 'tavily', base_url: `http://127.0.0.1:${port}`, api_key: TAVILY_KEY, timeout_seconds: 10 } });
		const { out, ms } = await runTool(cfg, ['search', 'q']);
		assert.equal(out.error, 'unavailable');
		assert.match(out.detail, /^tavily: /);
		assert.ok(ms < 5000, `took ${ms} ms`);
	});

	test('backend slow: unavailable after timeout_seconds, the tick running meanwhile', T, async () => {
		backends.mode = 'slow';
		const { out, ms } = await runTool(tavilyConfig(), ['search', 'q']);
		assert.equal(out.error, 'unavailable');
		assert.match(out.detail, /no answer in 1 s/);
		assert.ok(ms >= 900 && ms < 1000 + SLACK_MS + 1000, `took ${ms} ms`);
		assert.ok(out.ticks >= 3, `ticks every 250 ms while waiting (pings): ${out.ticks}`);
	});

	test('a client that hangs up aborts the backend call at once', T, async () => {
		backends.mode = 'slow';
		const cfg = tavilyConfig({ timeout_seconds: 30 });
		const { out, ms } = await runTool(cfg, ['-w', 'search', 'q'], { hangUpAfterMs: 300 });
		assert.equal(out.error, 'aborted');
		assert.ok(ms < 300 + SLACK_MS + 1000, `took ${ms} ms`);
	});
});

describe('web fetch', { timeout: 240000 }, () => {
	let site, other, big;
	let otherHits = 0;
	let bigSent = 0;
	const MB = 1024 * 1024;

	before(async () => {
		other = await startServer((req, res) => { otherHits++; res.writeHead(200, { 'content-type': 'text/plain' }); res.end('private data'); });
		site = await startServer((req, res) => {
			const u = new URL(req.url, 'http://x');
			const p = u.pathname;
			if (p === '/page') {
				res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
				return res.end('<!doctype html><html><head><title> A  page </title><script>evil()</script></head>'
					+ '<body><h1>Heading</h1><p>Some <b>bold</b> text &amp; more.</p><ul><li>one</li><li>two</li></ul></body></html>');
			}
			if (p === '/text') { res.writeHead(200, { 'content-type': 'text/plain' }); return res.end('plain\ntext\n'); }
			if (p === '/json') { res.writeHead(200, { 'content-type': 'application/json' }); return res.end('{"a":[1,2]}'); }
			if (p === '/latin1') { res.writeHead(200, { 'content-type': 'text/plain; charset=iso-8859-1' }); return res.end(Buffer.from([0x63, 0x61, 0x66, 0xe9])); }
			if (p === '/pdf') { res.writeHead(200, { 'content-type': 'application/pdf' }); return res.end(Buffer.from('%PDF-1.4\n%\xe2\xe3\n', 'latin1')); }
			if (p === '/bigpdf') { res.writeHead(200, { 'content-type': 'application/pdf' }); return res.end(Buffer.alloc(3 * MB, 0x41)); }
			if (p === '/png') { res.writeHead(200, { 'content-type': 'image/png' }); return res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47])); }
			if (p === '/missing') { res.writeHead(404, { 'content-type': 'text/html' }); return res.end('not found'); }
			if (p === '/busy') { res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '5' }); return res.end('slow down'); }
			if (p === '/slow') { return setTimeout(() => { res.writeHead(200); res.end('late'); }, 5000).unref(); }
			if (p.startsWith('/hop/')) {
				const n = Number(p.slice(5));
				res.writeHead(302, { location: n > 0 ? `/hop/${n - 1}` : '/text' });
				return res.end();
			}
			if (p === '/to') { res.writeHead(301, { location: u.searchParams.get('u') }); return res.end(); }
			res.writeHead(500); res.end();
		});
		// 100 MB, written as fast as the reader takes it
		big = await startServer((req, res) => {
			res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(100 * MB) });
			const chunk = Buffer.alloc(64 * 1024, 0x61);
			let sent = 0;
			const pump = () => {
				while (sent < 100 * MB) {
					sent += chunk.length;
					bigSent = sent;
					if (!res.write(chunk)) return res.once('drain', pump);
				}
				res.end();
			};
			res.on('close', () => { bigSent = sent; });
			pump();
		});
	});
	after(async () => { await site.close(); await other.close(); await big.close(); });

	function fetchConfig(extra = {}) {
		return writeConfig({ web_fetch: { enabled: true, allow_private_addresses: true, timeout_seconds: 5, max_bytes: 1048576, ...extra } });
	}
	const ssrfConfig = (extra = {}) => fetchConfig({ allow_private_addresses: false, ...extra });

	test('HTML becomes readable text with its title', T, async () => {
		const { out, raw } = await runTool(fetchConfig(), ['fetch', `${site.url}/page`]);
		assert.equal(out.ok, true, raw);
		assert.equal(out.media_type, 'text/plain');
		assert.equal(out.title, 'A page');
		assert.equal(out.data, 'Heading\n\nSome bold text & more.\n\n- one\n- two');
		assert.equal(out.url, `${site.url}/page`);
		assert.equal(out.truncated, false);
		assert.match(out.retrieved_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
	});

	test('plain text and JSON pass as they are; another charset becomes UTF-8', T, async () => {
		let { out } = await runTool(fetchConfig(), ['fetch', `${site.url}/text`]);
		assert.equal(out.data, 'plain\ntext\n');
		assert.equal(out.title, null);
		({ out } = await runTool(fetchConfig(), ['fetch', `${site.url}/json`]));
		assert.equal(out.data, '{"a":[1,2]}');
		({ out } = await runTool(fetchConfig(), ['fetch', `${site.url}/latin1`]));
		assert.equal(out.data, 'café');
	});

	test('a PDF passes as a base64 document', T, async () => {
		const { out } = await runTool(fetchConfig(), ['fetch', `${site.url}/pdf`]);
		assert.equal(out.media_type, 'application/pdf');
		assert.equal(Buffer.from(out.data, 'base64').toString('latin1'), '%PDF-1.4\n%\xe2\xe3\n');
	});

	test('other content types: unsupported_content_type', T, async () => {
		const { out } = await runTool(fetchConfig(), ['fetch', `${site.url}/png`]);
		assert.equal(out.error, 'unsupported_content_type');
	});

	test('HTTP errors: url_not_accessible, and 429 too_many_requests', T, async () => {
		let { out } = await runTool(fetchConfig(), ['fetch', `${site.url}/missing`]);
		assert.equal(out.error, 'url_not_accessible');
		assert.equal(out.status, 404);
		({ out } = await runTool(fetchConfig(), ['fetch', `${site.url}/busy`]));
		assert.equal(out.error, 'too_many_requests');
	});

	test('redirects: five are followed, a sixth is url_not_accessible', T, async () => {
		let { out, raw } = await runTool(fetchConfig(), ['fetch', `${site.url}/hop/4`]);
		assert.equal(out.ok, true, raw);
		assert.equal(out.redirects, 5);
		assert.equal(out.final_url, `${site.url}/text`);
		assert.equal(out.url, `${site.url}/hop/4`);
		({ out } = await runTool(fetchConfig(), ['fetch', `${site.url}/hop/5`]));
		assert.equal(out.error, 'url_not_accessible');
		assert.match(out.detail, /more than 5 redirects/);
	});

	test('a redirect to another scheme or out of allowed_domains: url_not_allowed', T, async () => {
		let { out } = await runTool(fetchConfig(), ['fetch', `${site.url}/to?u=${encodeURIComponent('file:///etc/passwd')}`]);
		assert.equal(out.error, 'url_not_allowed');
		({ out } = await runTool(fetchConfig(), ['-a', '127.0.0.1', 'fetch', `${site.url}/to?u=${encodeURIComponent(`http://localhost:${other.port}/`)}`]));
		assert.equal(out.error, 'url_not_allowed');
		({ out } = await runTool(fetchConfig(), ['-b', 'localhost.localdomain', 'fetch', `${site.url}/text`]));
		assert.equal(out.ok, true, 'blocked_domains elsewhere: fetched');
		({ out } = await runTool(fetchConfig(), ['-a', 'example.com', 'fetch', `${site.url}/text`]));
		assert.equal(out.error, 'url_not_allowed', 'outside allowed_domains');
	});

	test('a 100 MB body is cut at max_bytes and the transfer stopped', T, async () => {
		bigSent = 0;
		const { out, raw } = await runTool(fetchConfig(), ['fetch', `${big.url}/`]);
		assert.equal(out.ok, true, raw.slice(0, 200));
		assert.equal(out.truncated, true);
		assert.equal(out.data.length, 1048576);
		await new Promise((r) => setTimeout(r, 200));
		assert.ok(bigSent < 50 * MB, `the server sent ${bigSent} bytes before the fetcher hung up`);
	});

	test('a PDF over max_bytes: content_too_large', T, async () => {
		const { out } = await runTool(fetchConfig(), ['fetch', `${site.url}/bigpdf`]);
		assert.equal(out.error, 'content_too_large');
	});

	test('a slow server: url_not_accessible after timeout_seconds', T, async () => {
		const { out, ms } = await runTool(fetchConfig({ timeout_seconds: 1 }), ['fetch', `${site.url}/slow`]);
		assert.equal(out.error, 'url_not_accessible');
		assert.ok(ms >= 900 && ms < 1000 + SLACK_MS + 1000, `took ${ms} ms`);
	});

	test('input checks: url_too_long, invalid_tool_input', T, async () => {
		let { out } = await runTool(fetchConfig(), ['fetch', `${site.url}/${'a'.repeat(250)}`]);
		assert.equal(out.error, 'url_too_long');
		({ out } = await runTool(fetchConfig(), ['fetch', 'file:///etc/passwd']));
		assert.equal(out.error, 'invalid_tool_input');
		({ out } = await runTool(fetchConfig(), ['fetch', 'gopher://127.0.0.1/']));
		assert.equal(out.error, 'invalid_tool_input');
	});

	describe('SSRF: without allow_private_addresses', () => {
		beforeEach(() => { otherHits = 0; other.requests.length = 0; });

		for (const [what, url] of [
			['127.0.0.1', (p) => `http://127.0.0.1:${p}/`],
			['a name resolving to 127.0.0.1 (localhost)', (p) => `http://localhost:${p}/`],
			['a v4-mapped IPv6 loopback', (p) => `http://[::ffff:127.0.0.1]:${p}/`],
			['a decimal IPv4 loopback', (p) => `http://2130706433:${p}/`],
			['127.1', (p) => `http://127.1:${p}/`],
			['0.0.0.0', (p) => `http://0.0.0.0:${p}/`],
		]) {
			test(`${what} is url_not_allowed, never connected to`, T, async () => {
				const { out, raw } = await runTool(ssrfConfig(), ['fetch', url(other.port)]);
				assert.equal(out.ok, false, raw);
				assert.equal(out.error, 'url_not_allowed', raw);
				assert.match(out.detail, /is (loopback|unspecified)$/, 'refused by the address check');
				assert.equal(otherHits, 0, 'the private server saw no request');
			});
		}

		// libcurl resolves "localhost" itself; a name the system resolver
		// maps to 127.0.0.1 (this host's name, usually) goes through DNS
		test('a host name the resolver maps to 127.0.0.1 is url_not_allowed', T, async (t) => {
			const name = os.hostname();
			const addrs = await dns.lookup(name, { all: true }).catch(() => []);
			if (!addrs.length || !addrs.every((a) => a.address.startsWith('127.') || a.address === '::1')) {
				t.skip(`${name} does not resolve to loopback only here`);
				return;
			}
			const { out, raw } = await runTool(ssrfConfig(), ['fetch', `http://${name}:${other.port}/`]);
			assert.equal(out.error, 'url_not_allowed', raw);
			assert.match(out.detail, /is loopback$/);
			assert.equal(otherHits, 0);
			const { out: allowed } = await runTool(fetchConfig(), ['fetch', `http://${name}:${other.port}/`]);
			assert.equal(allowed.ok, true, 'with allow_private_addresses the same URL is fetched');
			assert.equal(allowed.data, 'private data');
		});

		test('the cloud metadata address is url_not_allowed without a connection attempt', T, async () => {
			const { out, ms } = await runTool(ssrfConfig({ timeout_seconds: 10 }), ['fetch', 'http://169.254.169.254/latest/meta-data/']);
			assert.equal(out.error, 'url_not_allowed');
			assert.match(out.detail, /169\.254\.169\.254 is link-local/);
			assert.ok(ms < 3000, `refused before connecting: ${ms} ms`);
		});

		test('a redirect from an allowed server to a private address is refused', T, async () => {
			// -p lets the first server (and only it) be reached on loopback
			for (const target of [`http://127.0.0.1:${other.port}/`, `http://localhost:${other.port}/secret`]) {
				const { out, raw } = await runTool(ssrfConfig(), ['-p', String(site.port), 'fetch', `${site.url}/to?u=${encodeURIComponent(target)}`]);
				assert.equal(out.error, 'url_not_allowed', raw);
				assert.equal(out.redirects, 1);
			}
			assert.equal(otherHits, 0, 'the redirect target saw no request');
			const { out } = await runTool(ssrfConfig(), ['-p', String(site.port), 'fetch', `${site.url}/text`]);
			assert.equal(out.ok, true, 'the allowed server itself is fetched');
		});
	});
});

describe('the start-up log', { timeout: 60000 }, () => {
	test('says once that web search is off when no backend is configured', T, async () => {
		const proxy = await startProxy({ workers: 2, config: baseConfig('http://127.0.0.1:9') });
		try {
			await proxy.waitForLog(/web search is off/, 5000);
			assert.equal(proxy.stderr.match(/web search is off/g).length, 1, proxy.stderr);
			assert.match(proxy.stderr, /web search is off \(no web_search backend configured\); web fetch is off/);
		} finally {
			await teardown(proxy);
		}
	});

	test('names the backend, never its key', T, async () => {
		const proxy = await startProxy({
			workers: 1,
			config: {
				...baseConfig('http://127.0.0.1:9'),
				web_search: { backend: 'tavily', api_key: TAVILY_KEY },
				web_fetch: { enabled: true },
			},
		});
		try {
			await proxy.waitForLog(/web search backend: tavily; web fetch is on$/m, 5000);
			assert.ok(!proxy.stderr.includes(TAVILY_KEY), 'the key is not logged');
		} finally {
			await teardown(proxy);
		}
	});
});
