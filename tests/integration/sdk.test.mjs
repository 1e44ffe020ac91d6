// The official @anthropic-ai/sdk against the real daemon (issue 3: Real clients).

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

import { startFakeUpstream, chunk, usageChunk, textStreamChunks, completion, textOf } from './lib/fake-upstream.mjs';
import { startProxy, baseConfig, teardown } from './lib/proxy.mjs';

const T = { timeout: 20000 };
const AK = 'sdk-inbound-key-5a1b';

const weatherTool = {
	name: 'get_weather',
	description: 'Current weather for a city',
	input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function toolChunk(index, fields) {
	return chunk({ tool_calls: [{ index, ...fields }] });
}

describe('@anthropic-ai/sdk conformance', { timeout: 300000 }, () => {
	let fake, proxy, client;
	before(async () => {
		fake = await startFakeUpstream();
		const cfg = baseConfig(fake.url, { ak: AK });
		cfg.providers[0].models.push({ id: 'thinker', remote_id: 'remote-thinker', reasoning: true });
		proxy = await startProxy({ config: cfg });
		client = new Anthropic({ baseURL: proxy.url, apiKey: AK, maxRetries: 0, timeout: 15000 });
	});
	after(() => teardown(proxy, fake));
	beforeEach(() => fake.reset());

	test('messages.create: text and usage', T, async () => {
		fake.json(completion({ content: 'Hello from the fake upstream.',
			usage: { prompt_tokens: 15, completion_tokens: 6, total_tokens: 21 } }));
		const msg = await client.messages.create({
			model: 'glm', max_tokens: 100, system: 'Be brief.',
			messages: [{ role: 'user', content: 'Say hello' }],
		});
		assert.equal(msg.type, 'message');
		assert.equal(msg.role, 'assistant');
		assert.equal(msg.model, 'glm');
		assert.equal(msg.content.length, 1);
		assert.equal(msg.content[0].type, 'text');
		assert.equal(msg.content[0].text, 'Hello from the fake upstream.');
		assert.equal(msg.stop_reason, 'end_turn');
		assert.equal(msg.usage.input_tokens, 15);
		assert.equal(msg.usage.output_tokens, 6);
		const up = fake.requests[0].json;
		assert.equal(up.model, 'remote-glm');
		assert.equal(up.messages[0].role, 'system');
		assert.equal(textOf(up.messages[1].content), 'Say hello');
	});

	test('messages.create: tool_use with parsed input', T, async () => {
		fake.json(completion({
			content: null,
			tool_calls: [{ id: 'call_77', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
			finish: 'tool_calls',
		}));
		const msg = await client.messages.create({
			model: 'glm', max_tokens: 100, tools: [weatherTool], tool_choice: { type: 'any' },
			messages: [{ role: 'user', content: 'Weather in Oslo?' }],
		});
		assert.equal(msg.stop_reason, 'tool_use');
		const tu = msg.content.find((b) => b.type === 'tool_use');
		assert.ok(tu, JSON.stringify(msg.content));
		assert.equal(tu.id, 'call_77');
		assert.equal(tu.name, 'get_weather');
		assert.deepEqual(tu.input, { city: 'Oslo' });
		assert.equal(fake.requests[0].json.tool_choice, 'required');
	});

	test('messages.stream: finalMessage() with thinking, text, tool_use and usage', T, async () => {
		fake.stream([
			chunk({ role: 'assistant', content: null }),
			chunk({ reasoning_content: 'The user wants ' }),
			chunk({ reasoning_content: 'the weather.' }),
			chunk({ content: 'Calling ' }),
			chunk({ content: 'the tool.' }),
			toolChunk(0, { id: 'call_s1', type: 'function', function: { name: 'get_weather', arguments: '' } }),
			toolChunk(0, { function: { arguments: '{"city":' } }),
			toolChunk(0, { function: { arguments: ' "Lima"}' } }),
			chunk({}, { finish: 'tool_calls' }),
			usageChunk(120, 33),
		]);
		const texts = [];
		const stream = client.messages.stream({
			model: 'thinker', max_tokens: 2000, tools: [weatherTool],
			thinking: { type: 'enabled', budget_tokens: 1024 },
			messages: [{ role: 'user', content: 'Weather in Lima?' }],
		});
		stream.on('text', (t) => texts.push(t));
		const msg = await stream.finalMessage();
		assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'text', 'tool_use']);
		assert.equal(msg.content[0].thinking, 'The user wants the weather.');
		assert.equal(typeof msg.content[0].signature, 'string');
		assert.equal(msg.content[1].text, 'Calling the tool.');
		assert.equal(texts.join(''), 'Calling the tool.');
		assert.equal(msg.content[2].id, 'call_s1');
		assert.equal(msg.content[2].name, 'get_weather');
		assert.deepEqual(msg.content[2].input, { city: 'Lima' });
		assert.equal(msg.stop_reason, 'tool_use');
		assert.equal(msg.usage.output_tokens, 33);
		assert.equal(msg.model, 'thinker');
		assert.equal(fake.requests[0].json.stream, true);
	});

	test('messages.create({stream:true}) yields the raw events in order', T, async () => {
		fake.stream(textStreamChunks(['raw ', 'events']));
		const s = await client.messages.create({ model: 'glm', max_tokens: 50, stream: true,
			messages: [{ role: 'user', content: 'hi' }] });
		const types = [];
		let text = '';
		for await (const ev of s) {
			types.push(ev.type);
			if (ev.type === 'content_block_delta') text += ev.delta.text;
		}
		assert.equal(types[0], 'message_start');
		assert.equal(types.at(-1), 'message_stop');
		assert.equal(text, 'raw events');
	});

	test('a two-turn tool loop through messages.stream', T, async () => {
		fake.stream([
			chunk({ role: 'assistant', content: '' }),
			toolChunk(0, { id: 'call_loop', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }),
			chunk({}, { finish: 'tool_calls' }),
			usageChunk(50, 10),
		]);
		fake.stream(textStreamChunks(['It is ', 'sunny in Rome.'], { prompt: 80, completionTokens: 7 }));

		const messages = [{ role: 'user', content: 'Weather in Rome?' }];
		const first = await client.messages.stream({ model: 'glm', max_tokens: 500, tools: [weatherTool], messages }).finalMessage();
		assert.equal(first.stop_reason, 'tool_use');
		const call = first.content.find((b) => b.type === 'tool_use');
		assert.deepEqual(call.input, { city: 'Rome' });
		messages.push({ role: 'assistant', content: first.content });
		messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'SUNNY-24C' }] });
		const second = await client.messages.stream({ model: 'glm', max_tokens: 500, tools: [weatherTool], messages }).finalMessage();
		assert.equal(second.stop_reason, 'end_turn');
		assert.equal(second.content[0].text, 'It is sunny in Rome.');
		assert.equal(second.usage.output_tokens, 7);

		const up = fake.requests[1].json;
		const asst = up.messages.find((m) => m.role === 'assistant');
		assert.equal(asst.tool_calls[0].id, 'call_loop');
		assert.deepEqual(JSON.parse(asst.tool_calls[0].function.arguments), { city: 'Rome' });
		const tool = up.messages.find((m) => m.role === 'tool');
		assert.equal(tool.tool_call_id, 'call_loop');
		assert.ok(textOf(tool.content).includes('SUNNY-24C'));
	});

	test('models.list pages through every model; models.retrieve', T, async () => {
		const ids = [];
		for await (const m of client.models.list({ limit: 1 })) ids.push(m.id);
		assert.deepEqual(ids, ['glm', 'mini', 'plain', 'thinker']);
		const m = await client.models.retrieve('mini');
		assert.equal(m.id, 'mini');
		assert.equal(m.display_name, 'Mini');
		assert.equal(m.type, 'model');
	});

	test('messages.countTokens', T, async () => {
		const small = await client.messages.countTokens({ model: 'glm', messages: [{ role: 'user', content: 'hi' }] });
		const big = await client.messages.countTokens({ model: 'glm', tools: [weatherTool],
			messages: [{ role: 'user', content: 'hi '.repeat(300) }] });
		assert.ok(small.input_tokens > 0);
		assert.ok(big.input_tokens > small.input_tokens);
	});

	test('errors surface as the SDK classes: 429 RateLimitError', T, async () => {
		fake.json({ error: { message: 'too many', type: 'rate_limit_exceeded' } }, { status: 429, headers: { 'retry-after': '30' } });
		await assert.rejects(
			client.messages.create({ model: 'glm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
			(e) => {
				assert.ok(e instanceof Anthropic.RateLimitError, `got ${e.constructor.name}: ${e.message}`);
				assert.equal(e.status, 429);
				assert.equal(e.error?.error?.type, 'rate_limit_error');
				assert.ok(e.requestID, 'SDK saw no request-id');
				return true;
			});
	});

	test('errors: unknown model -> NotFoundError 404', T, async () => {
		await assert.rejects(
			client.messages.create({ model: 'no-such', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
			(e) => e instanceof Anthropic.NotFoundError && e.status === 404);
	});

	test('errors: wrong key -> AuthenticationError 401', T, async () => {
		const bad = new Anthropic({ baseURL: proxy.url, apiKey: 'wrong', maxRetries: 0 });
		await assert.rejects(
			bad.messages.create({ model: 'glm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
			(e) => e instanceof Anthropic.AuthenticationError && e.status === 401);
		assert.equal(fake.requests.length, 0);
	});

	test('errors: bearer auth token works (ANTHROPIC_AUTH_TOKEN style)', T, async () => {
		fake.json(completion({ content: 'bearer ok' }));
		const c = new Anthropic({ baseURL: proxy.url, apiKey: null, authToken: AK, maxRetries: 0 });
		const msg = await c.messages.create({ model: 'glm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
		assert.equal(msg.content[0].text, 'bearer ok');
	});

	test('errors: invalid request -> BadRequestError 400', T, async () => {
		await assert.rejects(
			client.messages.create({ model: 'glm', max_tokens: 10, messages: 'not-an-array' }),
			(e) => e instanceof Anthropic.BadRequestError && e.status === 400);
	});

	test('errors: stream refused before the first byte -> RateLimitError from the stream', T, async () => {
		fake.json({ error: { message: 'too many', type: 'rate_limit_exceeded' } }, { status: 429 });
		const stream = client.messages.stream({ model: 'glm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
		await assert.rejects(stream.finalMessage(), (e) => e instanceof Anthropic.RateLimitError && e.status === 429);
	});

	// The proxy ends a broken stream as Anthropic's API does: the error
	// event alone, the text block left open (issue 10, item 7). The SDK's
	// accumulator must still surface it as an APIError with the type, after
	// handing out the text that did arrive.
	test('errors: stream cut by the upstream -> the SDK stream rejects with the error event', T, async () => {
		fake.stream([chunk({ role: 'assistant', content: 'half an ans' })], { end: 'cut' });
		const stream = client.messages.stream({ model: 'glm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
		let text = '';
		stream.on('text', (t) => { text += t; });
		await assert.rejects(stream.finalMessage(), (e) => e instanceof Anthropic.APIError &&
			e.error?.type === 'error' && e.error?.error?.type === 'api_error' && /stream broken/.test(e.message));
		assert.equal(text, 'half an ans');
		assert.equal(stream.currentMessage?.content[0]?.text, 'half an ans');
	});

	test('the SDK retries a 429 honouring retry-after, then succeeds', T, async () => {
		fake.json({ error: { message: 'wait a sec' } }, { status: 429, headers: { 'retry-after': '1' } });
		fake.json(completion({ content: 'after retry' }));
		const c = new Anthropic({ baseURL: proxy.url, apiKey: AK, maxRetries: 1 });
		const start = Date.now();
		const msg = await c.messages.create({ model: 'glm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
		assert.equal(msg.content[0].text, 'after retry');
		assert.equal(fake.requests.length, 2);
		assert.ok(Date.now() - start >= 900, 'retry-after not honoured');
	});
});
