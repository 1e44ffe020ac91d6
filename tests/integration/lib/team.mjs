// Helpers of the team gateway's tests (team.test.mjs, team-redis.test.mjs):
// client keys, UTC-minute windows, a scripted answer with a given usage,
// and a reload that waits for the old generation to go.

import { chunk, usageChunk, completion } from './fake-upstream.mjs';
import { delay, pollUntil } from './proxy.mjs';

export const KEYS = {
	alice: 'alice-key-0123456789',
	bob: 'bob-key-0123456789',
	carol: 'carol-key-0123456789',
	dave: 'dave-key-0123456789',
};

/** Wait until at least `needS` seconds of the current UTC minute are left. */
export async function roomInMinute(needS = 20) {
	const left = 60 - new Date().getUTCSeconds() - new Date().getUTCMilliseconds() / 1000;
	if (left < needS) await delay(left * 1000 + 250);
}

export function auth(name) {
	return { authorization: `Bearer ${KEYS[name]}` };
}

/** The RFC 3339 end of the current UTC minute (or day). */
export function windowEnd(unitS, now = Date.now()) {
	const end = Math.floor(now / 1000 / unitS) * unitS + unitS;
	return new Date(end * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A responder: a text answer (plain or streamed) with this usage, after
 * delayMs or once `after` (a promise) resolves. */
export function answerWith(usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
	{ delayMs = 0, after = null } = {}) {
	return (rec) => {
		const spec = rec.json?.stream
			? { stream: true, chunks: [chunk({ role: 'assistant', content: '' }), chunk({ content: 'hi' }),
				chunk({}, { finish: 'stop' }), usageChunk(usage.prompt_tokens, usage.completion_tokens,
				usage.prompt_tokens_details ? { prompt_tokens_details: usage.prompt_tokens_details } : {})] }
			: { status: 200, body: completion({ content: 'hi', usage }) };
		if (after) return { gate: { promise: after }, then: spec };
		return delayMs ? { gate: { promise: delay(delayMs) }, then: spec } : spec;
	};
}

/** SIGHUP with a new configuration; resolves once the old generation of
 * workers has gone, so every connection meets the new one. */
export async function reload(proxy, config) {
	const old = await pollUntil(() => { const w = proxy.workers(); return w.length ? w : null; },
		{ what: 'workers' });
	const from = proxy.stderr.length;
	proxy.writeConfig(config);
	proxy.signal('SIGHUP');
	await proxy.waitForLog(/configuration reloaded|reload failed/, 10000, from);
	if (/reload failed/.test(proxy.stderr.slice(from))) throw new Error(proxy.stderr.slice(from));
	await pollUntil(() => { const w = proxy.workers(); return w.length && w.every((p) => !old.includes(p)); },
		{ timeoutMs: 10000, what: 'the old generation to go' });
}

