/*
 * bad_requests: requests every translator of Anthropic requests refuses,
 * each with the exact message (xlate_req.c and resp_req.c share one walk;
 * these prove it). The route is testprov's, without pdf.
 */
#ifndef CP_BAD_REQUESTS_H
#define CP_BAD_REQUESTS_H

#define M	"\"model\":\"m\",\"max_tokens\":10,"
#define HI	"\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define U(c)	"\"messages\":[{\"role\":\"user\",\"content\":[" c "]}]}"
#define IMG(src) "{\"type\":\"image\",\"source\":{" src "}}"

static const struct bad {
	const char	*json;
	const char	*message;
} bad[] = {
	{ "[]", "request body: expected a JSON object" },
	{ "{\"max_tokens\":10," HI "}", "model: field required" },
	{ "{\"model\":7,\"max_tokens\":10," HI "}", "model: expected string" },
	{ "{\"model\":null,\"max_tokens\":10," HI "}",
	    "model: expected string" },
	{ "{\"model\":\"m\"," HI "}", "max_tokens: field required" },
	{ "{\"model\":\"m\",\"max_tokens\":0," HI "}",
	    "max_tokens: must be a positive integer" },
	{ "{\"model\":\"m\",\"max_tokens\":-5," HI "}",
	    "max_tokens: must be a positive integer" },
	{ "{\"model\":\"m\",\"max_tokens\":1.5," HI "}",
	    "max_tokens: expected integer" },
	{ "{\"model\":\"m\",\"max_tokens\":\"100\"," HI "}",
	    "max_tokens: expected integer" },
	{ "{\"model\":\"m\",\"max_tokens\":99999999999999999999," HI "}",
	    "max_tokens: too large" },
	{ "{\"model\":\"m\",\"max_tokens\":10}", "messages: field required" },
	{ "{" M "\"messages\":{}}", "messages: expected array" },
	{ "{" M "\"messages\":[]}",
	    "messages: at least one message is required" },
	{ "{" M "\"messages\":[\"hi\"]}", "messages[0]: expected object" },
	{ "{" M "\"messages\":[{\"content\":\"hi\"}]}",
	    "messages[0].role: field required" },
	{ "{" M "\"messages\":[{\"role\":1,\"content\":\"hi\"}]}",
	    "messages[0].role: expected string" },
	{ "{" M "\"messages\":[{\"role\":\"tool\",\"content\":\"hi\"}]}",
	    "messages[0].role: must be \"user\" or \"assistant\"" },
	{ "{" M "\"messages\":[{\"role\":\"user\"}]}",
	    "messages[0].content: field required" },
	{ "{" M "\"messages\":[{\"role\":\"user\",\"content\":5}]}",
	    "messages[0].content: expected string or array" },
	{ "{" M "\"messages\":[{\"role\":\"user\",\"content\":null}]}",
	    "messages[0].content: expected string or array" },
	{ "{" M U("7"), "messages[0].content[0]: expected object" },
	{ "{" M U("{\"text\":\"x\"}"), "messages[0].content[0].type: field "
	    "required" },
	{ "{" M U("{\"type\":\"text\",\"text\":3}"),
	    "messages[0].content[0].text: expected string" },
	{ "{" M "\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
	    "{\"role\":\"assistant\",\"content\":\"b\"},"
	    "{\"role\":\"user\",\"content\":\"c\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"x\"},"
	    IMG("\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":1")
	    "]}]}", "messages[3].content[1].source.data: expected string" },
	{ "{" M U("{\"type\":\"image\"}"),
	    "messages[0].content[0].source: field required" },
	{ "{" M U(IMG("\"type\":\"base64\",\"media_type\":\"image/bmp\","
	    "\"data\":\"x\"")), "messages[0].content[0].source.media_type: "
	    "must be one of image/jpeg, image/png, image/gif, image/webp" },
	{ "{" M U(IMG("\"type\":\"file\",\"file_id\":\"f\"")),
	    "messages[0].content[0].source.type: image sources of type "
	    "\"file\" are not supported (use \"base64\" or \"url\")" },
	{ "{" M U(IMG("\"type\":\"url\"")),
	    "messages[0].content[0].source.url: field required" },
	{ "{" M U("{\"type\":\"document\",\"source\":{\"type\":\"base64\","
	    "\"media_type\":\"application/pdf\",\"data\":\"JVBE\"}}"),
	    "messages[0].content[0]: the provider for this model (testprov) "
	    "does not accept PDF documents; send the text instead" },
	{ "{" M U("{\"type\":\"document\",\"source\":{\"type\":\"base64\","
	    "\"media_type\":\"text/plain\",\"data\":\"eA==\"}}"),
	    "messages[0].content[0].source.media_type: must be "
	    "\"application/pdf\"" },
	{ "{" M U("{\"type\":\"document\",\"source\":{\"type\":\"url\","
	    "\"url\":\"https://x/y.pdf\"}}"),
	    "messages[0].content[0].source.type: document sources of type "
	    "\"url\" are not supported (use \"text\", \"content\" or "
	    "\"base64\")" },
	{ "{" M U("{\"type\":\"document\",\"source\":{\"type\":\"text\"}}"),
	    "messages[0].content[0].source.data: field required" },
	{ "{" M U("{\"type\":\"document\",\"title\":5,\"source\":{\"type\":"
	    "\"text\",\"data\":\"x\"}}"),
	    "messages[0].content[0].title: expected string" },
	{ "{" M U("{\"type\":\"tool_result\",\"content\":\"x\"}"),
	    "messages[0].content[0].tool_use_id: field required" },
	{ "{" M U("{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
	    "\"is_error\":\"yes\"}"),
	    "messages[0].content[0].is_error: expected boolean" },
	{ "{" M U("{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
	    "\"content\":{}}"),
	    "messages[0].content[0].content: expected string or array" },
	{ "{" M U("{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"ok\"},"
	    IMG("\"type\":\"base64\",\"media_type\":\"image/png\"") "]}"),
	    "messages[0].content[0].content[1].source.data: field required" },
	{ "{" M "\"messages\":[{\"role\":\"assistant\",\"content\":["
	    "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\","
	    "\"input\":\"{}\"}]}]}",
	    "messages[0].content[0].input: expected object" },
	{ "{" M "\"messages\":[{\"role\":\"assistant\",\"content\":["
	    "{\"type\":\"tool_use\",\"name\":\"n\",\"input\":{}}]}]}",
	    "messages[0].content[0].id: field required" },
	{ "{" M "\"messages\":[{\"role\":\"assistant\",\"content\":["
	    "{\"type\":\"thinking\",\"thinking\":1}]}]}",
	    "messages[0].content[0].thinking: expected string" },
	{ "{" M "\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}",
	    "messages: at least one non-empty user or assistant message is "
	    "required" },
	{ "{" M "\"system\":1," HI "}", "system: expected string or array" },
	{ "{" M "\"system\":[{\"type\":\"text\",\"text\":\"a\"},"
	    "{\"type\":\"image\"}]," HI "}", "system[1].type: must be \"text\"" },
	{ "{" M "\"system\":[{\"type\":\"text\"}]," HI "}",
	    "system[0].text: field required" },
	{ "{" M "\"tools\":{}," HI "}", "tools: expected array" },
	{ "{" M "\"tools\":[{\"name\":\"a\",\"input_schema\":{}},"
	    "{\"input_schema\":{}}]," HI "}", "tools[1].name: field required" },
	{ "{" M "\"tools\":[{\"name\":\"a\",\"input_schema\":\"{}\"}]," HI "}",
	    "tools[0].input_schema: expected object" },
	{ "{" M "\"tools\":[{\"name\":\"a\",\"description\":1,"
	    "\"input_schema\":{}}]," HI "}",
	    "tools[0].description: expected string" },
	{ "{" M "\"tools\":[\"a\"]," HI "}", "tools[0]: expected object" },
	{ "{" M "\"tools\":[{\"name\":\"a\",\"input_schema\":{},"
	    "\"defer_loading\":\"yes\"}]," HI "}",
	    "tools[0].defer_loading: expected boolean" },
	{ "{" M U("{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
	    "\"content\":[{\"type\":\"tool_reference\"}]}"),
	    "messages[0].content[0].content[0].tool_name: field required" },
	{ "{" M "\"tool_choice\":\"auto\"," HI "}",
	    "tool_choice: expected object" },
	{ "{" M "\"tool_choice\":{\"type\":\"sometimes\"}," HI "}",
	    "tool_choice.type: must be one of \"auto\", \"any\", \"tool\", "
	    "\"none\"" },
	{ "{" M "\"tool_choice\":{\"type\":\"tool\"}," HI "}",
	    "tool_choice.name: field required" },
	{ "{" M "\"tools\":[{\"name\":\"a\",\"input_schema\":{}}],"
	    "\"tool_choice\":{\"type\":\"tool\",\"name\":\"Nope\"}," HI "}",
	    "tool_choice.name: no tool named \"Nope\" can be forwarded" },
	{ "{" M "\"tool_choice\":{\"type\":\"any\","
	    "\"disable_parallel_tool_use\":1}," HI "}",
	    "tool_choice.disable_parallel_tool_use: expected boolean" },
	{ "{" M "\"temperature\":\"hot\"," HI "}",
	    "temperature: expected number" },
	{ "{" M "\"temperature\":1e400," HI "}",
	    "temperature: expected number" },
	{ "{" M "\"top_p\":[]," HI "}", "top_p: expected number" },
	{ "{" M "\"top_k\":1.5," HI "}", "top_k: expected integer" },
	{ "{" M "\"stop_sequences\":\"END\"," HI "}",
	    "stop_sequences: expected array" },
	{ "{" M "\"stop_sequences\":[\"a\",2]," HI "}",
	    "stop_sequences[1]: expected string" },
	{ "{" M "\"metadata\":\"u\"," HI "}", "metadata: expected object" },
	{ "{" M "\"metadata\":{\"user_id\":42}," HI "}",
	    "metadata.user_id: expected string" },
	{ "{" M "\"thinking\":{}," HI "}", "thinking.type: field required" },
	{ "{" M "\"thinking\":{\"type\":\"enabled\"}," HI "}",
	    "thinking.budget_tokens: field required" },
	{ "{" M "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":0},"
	    HI "}", "thinking.budget_tokens: must be a positive integer" },
	{ "{" M "\"thinking\":true," HI "}", "thinking: expected object" },
	{ "{" M "\"stream\":\"yes\"," HI "}", "stream: expected boolean" },
};

#endif
