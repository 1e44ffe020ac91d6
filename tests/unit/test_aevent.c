/*
 * test_aevent: the Anthropic message writer on its own and under the two
 * state machines: the bytes of each event, whole blocks for server tools,
 * a message continued across upstream rounds (one message_start, indexes
 * going on, one message_delta with the usage summed, the stream's end
 * only when the turn ends or fails), and the secret net's held tail when
 * a stream fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aevent.h"
#include "buf.h"
#include "models.h"
#include "resp_stream.h"
#include "secret.h"
#include "stream.h"
#include "tap.h"

struct sink {
	struct buf	 out;
	int		 lasts;		/* emits marked last */
	int		 after_last;	/* emits after one marked last */
};

static int
sink_emit(void *arg, const char *p, size_t len, int last)
{
	struct sink	*k = arg;

	if (k->lasts > 0)
		k->after_last++;
	k->lasts += last;
	return buf_append(&k->out, p, len);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static const char *
text(const struct sink *k)
{
	return k->out.data != NULL ? k->out.data : "";
}

/* ---- the events -------------------------------------------------------- */

static void
test_events(void)
{
	struct aevent	 a;
	struct sink	 k;

	memset(&k, 0, sizeof(k));
	aevent_init(&a, 0, sink_emit, &k);
	ok(aevent_message_start(&a, "msg_1", "m\"x", 7) == 0 &&
	    aevent_message_start(&a, "msg_2", "m", 9) == 0,
	    "events: message_start twice is fine");
	is_int(aevent_block_start(&a, "text", NULL, NULL), 0,
	    "events: the first block is 0");
	aevent_text(&a, "h\xc3\xa9\n", 4);
	aevent_block_stop(&a, NULL, 0);
	is_int(aevent_block_start(&a, "thinking", NULL, NULL), 1,
	    "events: the next is 1");
	aevent_text(&a, "hm", 2);
	aevent_block_stop(&a, "sig", 3);
	is_int(aevent_block_start(&a, "tool_use", "toolu_1", "Bash"), 2,
	    "events: and 2");
	aevent_json(&a, "{\"a\":1}", 7);
	aevent_block_stop(&a, "ignored", 7);
	aevent_message_end(&a, "tool_use", NULL, 5, -1, 1, 2);
	aevent_emit(&a, 1);
	is_str(text(&k),
	    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
	    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
	    "\"model\":\"m\\\"x\",\"content\":[],\"stop_reason\":null,"
	    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":7,"
	    "\"output_tokens\":1,\"cache_creation_input_tokens\":0,"
	    "\"cache_read_input_tokens\":0}}}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\","
	    "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
	    "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
	    "\"h\xc3\xa9\\n\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
	    "\"index\":0}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\","
	    "\"index\":1,\"content_block\":{\"type\":\"thinking\",\"thinking\":"
	    "\"\",\"signature\":\"\"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
	    "\"index\":1,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":"
	    "\"hm\"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
	    "\"index\":1,\"delta\":{\"type\":\"signature_delta\",\"signature\":"
	    "\"sig\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
	    "\"index\":1}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\","
	    "\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":"
	    "\"toolu_1\",\"name\":\"Bash\",\"input\":{}}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
	    "\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
	    "\"partial_json\":\"{\\\"a\\\":1}\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
	    "\"index\":2}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
	    "{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":"
	    "{\"input_tokens\":5,\"output_tokens\":4,\"cache_read_input_tokens\""
	    ":1,\"cache_creation_input_tokens\":2}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	    "events: every event, byte for byte; output estimated from the "
	    "13 bytes of text, thinking and input");
	is_int(a.text_chars, 3, "events: text characters counted");
	is_int(k.lasts, 1, "events: one emit marked last");
	aevent_free(&a);
	buf_free(&k.out);
}

/* ---- whole blocks ------------------------------------------------------- */

#define KEY	"correct horse battery"

static void
test_whole(void)
{
	struct aevent	 a;
	struct sink	 k;
	json_object	*use, *res, *bad;
	const char	*o;

	memset(&k, 0, sizeof(k));
	secret_add(KEY, strlen(KEY));
	aevent_init(&a, 0, sink_emit, &k);
	aevent_message_start(&a, "msg_1", "m", 1);
	use = json_tokener_parse("{\"type\":\"server_tool_use\",\"id\":"
	    "\"srvtoolu_01\",\"name\":\"web_search\",\"input\":{\"query\":"
	    "\"a \\\"b\\\" c\"}}");
	res = json_tokener_parse("{\"type\":\"web_search_tool_result\","
	    "\"tool_use_id\":\"srvtoolu_01\",\"content\":[{\"type\":"
	    "\"web_search_result\",\"title\":\"T " KEY "\",\"url\":"
	    "\"https://e.example/a/b\",\"encrypted_content\":\"x\","
	    "\"page_age\":null}]}");
	is_int(aevent_block_whole(&a, use), 0, "whole: server_tool_use is 0");
	is_int(aevent_block_whole(&a, res), 1, "whole: its result is 1");
	is_int(a.open, -1, "whole: nothing left open");
	aevent_emit(&a, 0);
	o = text(&k);
	ok(strstr(o, "\"index\":0,\"content_block\":{\"type\":"
	    "\"server_tool_use\",\"id\":\"srvtoolu_01\",\"name\":\"web_search\","
	    "\"input\":{}}}\n\n") != NULL,
	    "whole: server_tool_use starts with input {}");
	ok(strstr(o, "\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
	    "\"partial_json\":\"{\\\"query\\\":\\\"a \\\\\\\"b\\\\\\\" c\\\"}\"}}")
	    != NULL, "whole: its input as one input_json_delta");
	ok(strstr(o, "\"index\":1,\"content_block\":{\"type\":"
	    "\"web_search_tool_result\",\"tool_use_id\":\"srvtoolu_01\","
	    "\"content\":[{\"type\":\"web_search_result\",\"title\":\"T ***\","
	    "\"url\":\"https://e.example/a/b\",\"encrypted_content\":\"x\","
	    "\"page_age\":null}]}}\n\n") != NULL,
	    "whole: a result whole in content_block_start, secret masked, "
	    "slashes as they are");
	is_int(count(o, "event: content_block_stop"), 2, "whole: each stopped");
	is_int(count(o, "event: content_block_delta"), 1,
	    "whole: the result has no delta");
	bad = json_tokener_parse("{\"type\":\"server_tool_use\",\"id\":"
	    "\"srvtoolu_02\",\"name\":\"web_search\",\"input\":\"q\"}");
	is_int(aevent_block_whole(&a, bad), -1,
	    "whole: a server_tool_use whose input is no object is refused");
	json_object_put(bad);
	bad = json_tokener_parse("{\"content\":[]}");
	is_int(aevent_block_whole(&a, bad), -1,
	    "whole: a block without a type is refused");
	is_int(a.next_block, 2, "whole: refused blocks take no index");
	aevent_emit(&a, 0);
	ok(strstr(text(&k), "srvtoolu_02") == NULL,
	    "whole: nothing of a refused block is written");
	json_object_put(bad);
	json_object_put(use);
	json_object_put(res);
	aevent_free(&a);
	buf_free(&k.out);
	secret_clear();
}

/* ---- several rounds, through the machines -------------------------------- */

#define CHUNK(delta, finish) \
	"{\"choices\":[{\"index\":0,\"delta\":" delta \
	",\"finish_reason\":" finish "}]}"
#define USAGE(in, out) \
	"{\"choices\":[],\"usage\":{\"prompt_tokens\":" #in "," \
	"\"completion_tokens\":" #out "}}"

static void
chat_round(struct aevent *a, const char *const *chunks, int *finish_rv)
{
	struct stream	*st = calloc(1, sizeof(*st));

	stream_init(st, a, "msg_rounds", "claude-x", 100, 1);
	for (; *chunks != NULL; chunks++)
		stream_feed(st, *chunks, strlen(*chunks));
	stream_flush(st);
	*finish_rv = stream_finish(st);
	stream_free(st);
	free(st);
}

static void
test_rounds(void)
{
	static const char *const round1[] = {
		CHUNK("{\"content\":\"Let me search.\"}", "null"),
		CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
		    "\"function\":{\"name\":\"web_search\",\"arguments\":"
		    "\"{}\"}}]}", "\"tool_calls\""),
		USAGE(100, 20), NULL
	};
	static const char *const round3[] = {
		CHUNK("{\"content\":\"Found it.\"}", "\"stop\""),
		USAGE(300, 7), NULL
	};
	static const char *const resp_round[] = {
		"{\"type\":\"response.output_item.added\",\"output_index\":0,"
		    "\"item\":{\"id\":\"m\",\"type\":\"message\"}}",
		"{\"type\":\"response.output_text.delta\",\"output_index\":0,"
		    "\"delta\":\"More.\"}",
		"{\"type\":\"response.completed\",\"response\":{\"status\":"
		    "\"completed\",\"usage\":{\"input_tokens\":200,"
		    "\"output_tokens\":10,\"input_tokens_details\":"
		    "{\"cached_tokens\":50}}}}",
		NULL
	};
	struct aevent		 a;
	struct sink		 k;
	struct resp_stream	*rs;
	json_object		*use, *res;
	const char		*o;
	int			 rv, idx;
	size_t			 i;

	memset(&k, 0, sizeof(k));
	aevent_init(&a, 0, sink_emit, &k);
	aevent_rounds(&a, 1);
	chat_round(&a, round1, &rv);
	is_int(rv, 0, "rounds: the first round finishes");
	ok(strstr(text(&k), "message_delta") == NULL &&
	    strstr(text(&k), "message_stop") == NULL,
	    "rounds: its end is not written");
	is_int(k.lasts, 0, "rounds: nor is the stream ended");
	is_str(a.stop_reason, "tool_use", "rounds: its stop reason kept");

	/* the loop ran the tool: its blocks */
	use = json_tokener_parse("{\"type\":\"server_tool_use\",\"id\":"
	    "\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{\"query\":"
	    "\"q\"}}");
	res = json_tokener_parse("{\"type\":\"web_search_tool_result\","
	    "\"tool_use_id\":\"srvtoolu_1\",\"content\":[]}");
	idx = aevent_block_whole(&a, use);
	is_int(idx, 2, "rounds: the loop's blocks go on from the round's");
	aevent_block_whole(&a, res);
	a.web_search_requests = 1;
	aevent_emit(&a, 0);

	/* a round of the other kind on the same message */
	rs = calloc(1, sizeof(*rs));
	resp_stream_init(rs, &a, "msg_other", "claude-x", 100, NULL);
	for (i = 0; resp_round[i] != NULL; i++)
		resp_stream_feed(rs, "", 0, resp_round[i],
		    strlen(resp_round[i]));
	is_int(resp_stream_finish(rs), 0, "rounds: a Responses round too");
	resp_stream_free(rs);
	free(rs);

	chat_round(&a, round3, &rv);
	is_int(k.lasts, 0, "rounds: still not the end");
	is_int(aevent_turn_end(&a, NULL), 0, "rounds: the turn ends");
	aevent_emit(&a, 1);
	o = text(&k);
	is_int(count(o, "event: message_start"), 1,
	    "rounds: one message_start");
	ok(strstr(o, "msg_rounds") != NULL && strstr(o, "msg_other") == NULL,
	    "rounds: the first round's message id");
	for (i = 0; i < 6; i++) {
		char	 want[64];

		snprintf(want, sizeof(want), "\"content_block_start\","
		    "\"index\":%zu,", i);
		if (count(o, want) != 1)
			break;
	}
	is_int(i, 6, "rounds: blocks 0 to 5, once each");
	ok(strstr(o, "\"index\":6") == NULL, "rounds: and no more");
	is_int(count(o, "event: message_delta"), 1,
	    "rounds: one message_delta");
	ok(strstr(o, "{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
	    "\"usage\":{\"input_tokens\":550,\"output_tokens\":37,"
	    "\"cache_read_input_tokens\":50,\"cache_creation_input_tokens\":0,"
	    "\"server_tool_use\":{\"web_search_requests\":1,"
	    "\"web_fetch_requests\":0}}}") != NULL,
	    "rounds: usage summed over the rounds, the last stop reason, "
	    "server tool requests");
	ok(strstr(o, "message_stop") > strstr(o, "message_delta") &&
	    strstr(strstr(o, "message_stop"), "event:") == NULL,
	    "rounds: message_stop last");
	is_int(k.lasts, 1, "rounds: the stream ended once");
	is_int(k.after_last, 0, "rounds: nothing after");
	json_object_put(use);
	json_object_put(res);
	aevent_free(&a);
	buf_free(&k.out);

	/* a round that fails ends the stream there */
	memset(&k, 0, sizeof(k));
	aevent_init(&a, 0, sink_emit, &k);
	aevent_rounds(&a, 1);
	chat_round(&a, round1, &rv);
	{
		static const char *const cut[] = {
			CHUNK("{\"content\":\"partial\"}", "null"), NULL
		};

		chat_round(&a, cut, &rv);
	}
	o = text(&k);
	ok(strstr(o, "event: error") != NULL && strstr(o, "without a "
	    "finish_reason") != NULL, "rounds: a round without its end is "
	    "an error");
	is_int(k.lasts, 1, "rounds: which ends the stream");
	ok(strstr(o, "message_delta") == NULL, "rounds: no message_delta");
	aevent_free(&a);
	buf_free(&k.out);

	/* the loop's own stop reason wins */
	memset(&k, 0, sizeof(k));
	aevent_init(&a, 0, sink_emit, &k);
	aevent_rounds(&a, 1);
	chat_round(&a, round1, &rv);
	aevent_turn_end(&a, "pause_turn");
	aevent_emit(&a, 1);
	ok(strstr(text(&k), "\"stop_reason\":\"pause_turn\"") != NULL &&
	    strstr(text(&k), "\"server_tool_use\"") == NULL,
	    "rounds: the loop may say pause_turn; no server_tool_use "
	    "without requests");
	aevent_free(&a);
	buf_free(&k.out);
}

/* ---- the held tail when a stream fails ----------------------------------- */

static void
test_held_tail(void)
{
	struct aevent	 a;
	struct sink	 k;
	const char	*o;

	secret_add(KEY, strlen(KEY));
	memset(&k, 0, sizeof(k));
	aevent_init(&a, 0, sink_emit, &k);
	aevent_message_start(&a, "msg_1", "m", 1);
	aevent_block_start(&a, "thinking", NULL, NULL);
	aevent_text(&a, "hmm, co", 7);
	is_int(a.held.len, 2, "tail: \"co\" held");
	aevent_error(&a, "api_error", "cut " KEY, "req_1");
	aevent_emit(&a, 1);
	o = text(&k);
	ok(strstr(o, "\"thinking\":\"co\"") != NULL &&
	    strstr(o, "\"thinking\":\"co\"") < strstr(o, "event: error"),
	    "tail: a short one goes before the error");
	ok(strstr(o, "content_block_stop") == NULL &&
	    strstr(o, "signature_delta") == NULL,
	    "tail: the block stays open");
	ok(strstr(o, "cut ***") != NULL, "tail: the error is masked");
	aevent_free(&a);
	buf_free(&k.out);

	memset(&k, 0, sizeof(k));
	aevent_init(&a, 0, sink_emit, &k);
	aevent_rounds(&a, 1);
	aevent_message_start(&a, "msg_1", "m", 1);
	aevent_block_start(&a, "text", NULL, NULL);
	aevent_text(&a, "said correct", 12);
	aevent_error(&a, "api_error", "cut", NULL);
	aevent_emit(&a, 1);
	o = text(&k);
	ok(strstr(o, "\"said \"") != NULL && strstr(o, "corr") == NULL,
	    "tail: a long one is dropped");
	is_int(k.lasts, 1, "tail: an error ends even a message of rounds");
	aevent_free(&a);
	buf_free(&k.out);
	secret_clear();
}

int
main(void)
{
	test_events();
	test_whole();
	test_rounds();
	test_held_tail();
	return tap_done();
}
