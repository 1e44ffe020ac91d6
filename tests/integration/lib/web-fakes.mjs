// Fake web search backends (Tavily, SearXNG, Brave) and a scripted HTTP
// server for fetch targets, all on 127.0.0.1 with free ports. Shared by
// web.test.mjs (the modules through tests/cp-webtool) and
// web-tools.test.mjs (the server-tool loop through the daemon).

import http from 'node:http';
import { once } from 'node:events';

/** A scripted HTTP server: handler(req, res, body); records every request. */
export async function startServer(handler) {
	const requests = [];
	const sockets = new Set();
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			const body = Buffer.concat(chunks).toString('utf8');
			requests.push({ method: req.method, url: req.url, headers: req.headers, body });
			handler(req, res, body);
		});
	});
	server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	const port = server.address().port;
	return {
		port,
		url: `http://127.0.0.1:${port}`,
		requests,
		close() {
			for (const s of sockets) s.destroy();
			return new Promise((r) => server.close(r));
		},
	};
}

export function json(res, status, obj, headers = {}) {
	const text = typeof obj === 'string' ? obj : JSON.stringify(obj);
	res.writeHead(status, { 'content-type': 'application/json', ...headers });
	res.end(text);
}

export const tavilyAnswer = {
	query: 'claude shannon',
	results: [
		{ url: 'https://en.wikipedia.org/wiki/Claude_Shannon', title: 'Claude Shannon - Wikipedia', content: 'American mathematician', score: 0.9 },
		{ url: 'https://docs.example.com/shannon', title: 'Docs', content: 'docs page', score: 0.8, published_date: '2025-04-30' },
		{ url: 'https://example.com/blog/post-1', title: 'Blog post', content: 'blog', score: 0.7 },
		{ url: 'https://example.com/news/1', title: 'News', content: 'news', score: 0.6 },
		{ url: 'https://badexample.com/', title: 'Not example.com', content: 'x', score: 0.5 },
		{ url: 'https://evil.example.com/', title: 'Evil', content: 'x', score: 0.4 },
		{ url: 'https://a.org/1', title: 'A1', content: '1', score: 0.3 },
		{ url: 'https://a.org/2', title: 'A2', content: '2', score: 0.2 },
	],
	response_time: 0.5,
};

export const searxAnswer = {
	query: 'q',
	results: [
		{ url: 'https://searx.example.org/1', title: 'First', content: 'one', engine: 'ddg', publishedDate: '2024-01-02T00:00:00' },
		{ url: 'https://searx.example.org/2', title: 'Second', content: 'two', engine: 'ddg', publishedDate: null },
	],
};

export const braveAnswer = {
	type: 'search',
	web: {
		type: 'search',
		results: [
			{ title: 'Brave one', url: 'https://brave.example.net/1', description: 'The <strong>first</strong> result', age: 'August 20, 2024', page_age: '2024-08-20T00:00:00' },
			{ title: 'Brave two', url: 'https://brave.example.net/2', description: 'second', page_age: '2024-01-01T00:00:00' },
		],
	},
};

/**
 * The three backends. Tavily answers by its mode ('ok', 'slow' (5 s),
 * '429', '500', 'html', 'cut', 'reset') or, when set, by answer (an
 * object, or a function of the parsed request body), after delayMs (once)
 * when that is set; SearXNG and Brave
 * give their canned answers. reset() forgets requests and restores 'ok'.
 */
export async function startSearchBackends() {
	const b = { mode: 'ok', answer: null, delayMs: 0 };
	b.tavily = await startServer((req, res, body) => {
		if (b.delayMs > 0) {
			const ms = b.delayMs;
			b.delayMs = 0;
			return setTimeout(() => json(res, 200, b.answer ?? tavilyAnswer), ms).unref();
		}
		if (b.mode === 'slow') return setTimeout(() => json(res, 200, tavilyAnswer), 5000).unref();
		if (b.mode === '429') return json(res, 429, { detail: { error: 'rate limited' } }, { 'retry-after': '3' });
		if (b.mode === '500') return json(res, 500, { detail: { error: 'boom' } });
		if (b.mode === 'html') { res.writeHead(200, { 'content-type': 'text/html' }); return res.end('<html>maintenance</html>'); }
		if (b.mode === 'cut') { res.writeHead(200, { 'content-type': 'application/json' }); return res.end('{"results":[{"url":"https://a'); }
		if (b.mode === 'reset') return req.socket.destroy();
		if (typeof b.answer === 'function') return json(res, 200, b.answer(JSON.parse(body || '{}')));
		json(res, 200, b.answer ?? tavilyAnswer);
	});
	b.searx = await startServer((req, res) => json(res, 200, searxAnswer));
	b.brave = await startServer((req, res) => json(res, 200, braveAnswer));
	b.reset = () => {
		b.mode = 'ok';
		b.answer = null;
		b.delayMs = 0;
		b.tavily.requests.length = b.searx.requests.length = b.brave.requests.length = 0;
	};
	b.close = async () => { await b.tavily.close(); await b.searx.close(); await b.brave.close(); };
	return b;
}
