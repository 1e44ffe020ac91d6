// Scripting FakeUpstream (fake-upstream.mjs) as an upstream that speaks
// Anthropic's Messages API itself, for providers with api "anthropic": a
// message as the API answers it, and the exact bytes of its stream as the
// API writes them (a ping after message_start, each block started,
// delta'd in pieces and stopped, message_delta with the usage, message_stop).
// The tests compare the client's bytes with these, so they are strings.

/** A complete message, the body of a plain answer. */
export function anthMessage({ content = [{ type: 'text', text: 'Hello.' }], stop_reason = 'end_turn',
	stop_sequence = null, usage = { input_tokens: 21, cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
		output_tokens: 6 }, model = 'upstream-model', id = 'msg_upstream01' } = {}) {
	return { id, type: 'message', role: 'assistant', model, content, stop_reason, stop_sequence, usage };
}

/** One SSE event as Anthropic writes it; eol '\r\n' for an upstream that uses CRLF. */
export function anthEvent(type, fields = {}, eol = '\n') {
	return `event: ${type}${eol}data: ${JSON.stringify({ type, ...fields })}${eol}${eol}`;
}

function pieces(s) {
	const h = Math.ceil(s.length / 2);
	return s.length > 1 ? [s.slice(0, h), s.slice(h)] : [s];
}

/** The events (strings) of a whole streamed message. */
export function anthStreamEvents(msg = anthMessage(), { eol = '\n' } = {}) {
	const ev = (t, f) => anthEvent(t, f, eol);
	const out = [ev('message_start', { message: { ...msg, content: [], stop_reason: null, stop_sequence: null,
		usage: { ...msg.usage, output_tokens: 1 } } }), ev('ping')];
	msg.content.forEach((b, index) => {
		if (b.type === 'text') {
			out.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
			for (const p of pieces(b.text)) out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: p } }));
		} else if (b.type === 'thinking') {
			out.push(ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '' } }));
			for (const p of pieces(b.thinking)) {
				out.push(ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: p } }));
			}
			out.push(ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: b.signature } }));
		} else if (b.type === 'tool_use') {
			out.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } }));
			for (const p of pieces(JSON.stringify(b.input))) {
				out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: p } }));
			}
		}
		out.push(ev('content_block_stop', { index }));
	});
	out.push(ev('message_delta', { delta: { stop_reason: msg.stop_reason, stop_sequence: msg.stop_sequence },
		usage: { output_tokens: msg.usage.output_tokens } }));
	out.push(ev('message_stop'));
	return out;
}

/** Anthropic's error envelope, for a non-2xx answer or an event: error. */
export function anthError(type, message, request_id = 'req_upstream_0001') {
	return { type: 'error', error: { type, message }, request_id };
}
