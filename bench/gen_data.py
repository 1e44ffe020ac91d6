#!/usr/bin/env python3
"""Generate the benchmark's request bodies and canned upstream answers.

Deterministic: running it again rewrites bench/data/ byte for byte.

  claude_tiny.json   tiny Anthropic request (plain)
  openai_tiny.json   the same as an OpenAI Chat Completions request
  claude_20k.json    ~20 KB Claude Code-like request: system text blocks with
                     cache_control, 15 tools with JSON Schema input schemas,
                     metadata.user_id, a multi-turn history with text,
                     tool_use (parallel calls) and tool_result (string and
                     block-array content, one is_error)
  openai_20k.json    its OpenAI-shaped equivalent, translated here the way
                     claude-proxy translates it (src/xlate_req.c), so the
                     floor forwards the body claude-proxy would send upstream
  completion.json    the canned upstream chat.completion (text + a tool call)
  stream.sse         the canned upstream stream: a role chunk, 50 content
                     chunks, a finish chunk, a usage chunk, data: [DONE]

The *_stream variants of the request bodies are made at run time by
bench.py (it sets "stream": true).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
TARGET_20K = 20 * 1024

def dump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)

# ---- a Claude Code-like request ------------------------------------------

def words(seed, n):
    """Deterministic filler prose of n words."""
    vocab = ("the proxy translates each request and forwards it to the "
             "configured upstream model while keeping tool calls streaming "
             "events usage counters and error envelopes exactly as clients "
             "expect them worker process connection buffer header body "
             "timeout deadline schema property required description file "
             "path line number function return value test suite build "
             "configuration").split()
    out, x = [], seed * 2654435761 % 2**32
    for _ in range(n):
        x = (x * 1103515245 + 12345) % 2**31
        out.append(vocab[x % len(vocab)])
    return " ".join(out)

SCHEMA = "https://json-schema.org/draft/2020-12/schema"

def tool(name, desc, props, required):
    return {
        "name": name,
        "description": desc,
        "input_schema": {
            "$schema": SCHEMA,
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        },
    }

def s(desc, **kw):
    d = {"type": "string", "description": desc}
    d.update(kw)
    return d

def n(desc, **kw):
    d = {"type": "number", "description": desc}
    d.update(kw)
    return d

def b(desc):
    return {"type": "boolean", "description": desc}

def tools():
    return [
        tool("Task", "Launch a new agent to handle complex, multi-step tasks "
             "autonomously. " + words(1, 40),
             {"description": s("A short (3-5 word) description of the task"),
              "prompt": s("The task for the agent to perform"),
              "subagent_type": s("The type of specialized agent to use")},
             ["description", "prompt", "subagent_type"]),
        tool("Bash", "Executes a given bash command in a persistent shell "
             "session with optional timeout. " + words(2, 60),
             {"command": s("The command to execute"),
              "timeout": n("Optional timeout in milliseconds (max 600000)"),
              "description": s("Clear, concise description of what this "
                               "command does in 5-10 words"),
              "run_in_background": b("Set to true to run this command in "
                                     "the background")},
             ["command"]),
        tool("Glob", "Fast file pattern matching tool that works with any "
             "codebase size. " + words(3, 30),
             {"pattern": s("The glob pattern to match files against"),
              "path": s("The directory to search in")},
             ["pattern"]),
        tool("Grep", "A powerful search tool built on ripgrep. " +
             words(4, 50),
             {"pattern": s("The regular expression pattern to search for"),
              "path": s("File or directory to search in"),
              "glob": s("Glob pattern to filter files"),
              "output_mode": {"type": "string",
                              "enum": ["content", "files_with_matches",
                                       "count"],
                              "description": "Output mode"},
              "-i": b("Case insensitive search"),
              "-n": b("Show line numbers in output"),
              "head_limit": n("Limit output to first N lines/entries"),
              "multiline": b("Enable multiline mode")},
             ["pattern"]),
        tool("LS", "Lists files and directories in a given path. " +
             words(5, 20),
             {"path": s("The absolute path to the directory to list"),
              "ignore": {"type": "array", "items": {"type": "string"},
                         "description": "List of glob patterns to ignore"}},
             ["path"]),
        tool("ExitPlanMode", "Use this tool when you are in plan mode and "
             "have finished presenting your plan. " + words(6, 20),
             {"plan": s("The plan you came up with")}, ["plan"]),
        tool("Read", "Reads a file from the local filesystem. " +
             words(7, 50),
             {"file_path": s("The absolute path to the file to read"),
              "offset": n("The line number to start reading from"),
              "limit": n("The number of lines to read")},
             ["file_path"]),
        tool("Edit", "Performs exact string replacements in files. " +
             words(8, 50),
             {"file_path": s("The absolute path to the file to modify"),
              "old_string": s("The text to replace"),
              "new_string": s("The text to replace it with"),
              "replace_all": {"type": "boolean", "default": False,
                              "description": "Replace all occurrences"}},
             ["file_path", "old_string", "new_string"]),
        tool("MultiEdit", "Makes multiple edits to a single file in one "
             "operation. " + words(9, 40),
             {"file_path": s("The absolute path to the file to modify"),
              "edits": {"type": "array", "minItems": 1,
                        "description": "Array of edit operations",
                        "items": {"type": "object",
                                  "properties": {
                                      "old_string": s("The text to replace"),
                                      "new_string": s("The replacement"),
                                      "replace_all": {"type": "boolean",
                                                      "default": False}},
                                  "required": ["old_string", "new_string"],
                                  "additionalProperties": False}}},
             ["file_path", "edits"]),
        tool("Write", "Writes a file to the local filesystem. " +
             words(10, 30),
             {"file_path": s("The absolute path to the file to write"),
              "content": s("The content to write to the file")},
             ["file_path", "content"]),
        tool("NotebookEdit", "Completely replaces the contents of a "
             "specific cell in a Jupyter notebook. " + words(11, 25),
             {"notebook_path": s("The absolute path to the notebook"),
              "cell_id": s("The ID of the cell to edit"),
              "new_source": s("The new source for the cell"),
              "cell_type": {"type": "string", "enum": ["code", "markdown"]},
              "edit_mode": {"type": "string",
                            "enum": ["replace", "insert", "delete"]}},
             ["notebook_path", "new_source"]),
        tool("WebFetch", "Fetches content from a specified URL and "
             "processes it using an AI model. " + words(12, 40),
             {"url": s("The URL to fetch content from", format="uri"),
              "prompt": s("The prompt to run on the fetched content")},
             ["url", "prompt"]),
        tool("TodoWrite", "Use this tool to create and manage a structured "
             "task list for your current coding session. " + words(13, 60),
             {"todos": {"type": "array", "description": "The updated todo "
                        "list", "items": {
                            "type": "object",
                            "properties": {
                                "content": {"type": "string", "minLength": 1},
                                "status": {"type": "string",
                                           "enum": ["pending", "in_progress",
                                                    "completed"]},
                                "activeForm": {"type": "string",
                                               "minLength": 1}},
                            "required": ["content", "status", "activeForm"],
                            "additionalProperties": False}}},
             ["todos"]),
        tool("WebSearch", "Allows Claude to search the web and use the "
             "results to inform responses. " + words(14, 30),
             {"query": s("The search query to use", minLength=2),
              "allowed_domains": {"type": "array",
                                  "items": {"type": "string"}},
              "blocked_domains": {"anyOf": [
                  {"type": "array", "items": {"type": "string"}},
                  {"type": "null"}]}},
             ["query"]),
        tool("BashOutput", "Retrieves output from a running or completed "
             "background bash shell. " + words(15, 20),
             {"bash_id": s("The ID of the background shell"),
              "filter": s("Optional regular expression to filter lines")},
             ["bash_id"]),
    ]

C_FILE = "\n".join(
    "%5d\t%s" % (i + 1, line) for i, line in enumerate(
        ("static int worker_serve(struct conn *c) { /* %s */ }" %
         words(100 + k, 8)) for k in range(24)))

def claude_20k(pad_words):
    system = [
        {"type": "text",
         "text": "You are Claude Code, Anthropic's official CLI for Claude.",
         "cache_control": {"type": "ephemeral"}},
        {"type": "text",
         "text": "You are an interactive CLI tool that helps users with "
                 "software engineering tasks. " + words(20, pad_words) +
                 "\n\n<env>\nWorking directory: /work/main\nIs directory a "
                 "git repo: Yes\nPlatform: linux\n</env>",
         "cache_control": {"type": "ephemeral"}},
    ]
    messages = [
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\nAs you answer the "
             "user's questions, you can use the following context: " +
             words(30, 60) + "\n</system-reminder>"},
            {"type": "text", "text": "The worker sometimes hangs when a "
             "client sends its body slowly. Find where the body deadline is "
             "enforced and fix it."}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "I'll look at how the worker reads "
             "request bodies."},
            {"type": "tool_use", "id": "toolu_01A", "name": "Grep",
             "input": {"pattern": "body_ms", "path": "/work/main/src",
                       "output_mode": "content", "-n": True}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01A",
             "content": "src/http_conn.c:212:\tdeadline = now + "
             "lim->body_ms;\nsrc/worker.c:77:\tlim.body_ms = "
             "conf->body_timeout_seconds * 1000;"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me read the connection code and "
             "list the tests."},
            {"type": "tool_use", "id": "toolu_01B", "name": "Read",
             "input": {"file_path": "/work/main/src/http_conn.c",
                       "offset": 190, "limit": 40}},
            {"type": "tool_use", "id": "toolu_01C", "name": "Glob",
             "input": {"pattern": "tests/**/*conn*"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01C",
             "content": [{"type": "text",
                          "text": "tests/unit/test_http_conn.c"}]},
            {"type": "tool_result", "tool_use_id": "toolu_01B",
             "content": [{"type": "text", "text": C_FILE}]}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "The deadline is computed once per "
             "phase. I'll run the unit test to confirm the behaviour."},
            {"type": "tool_use", "id": "toolu_01D", "name": "Bash",
             "input": {"command": "meson test -C build test_http_conn",
                       "description": "Run the connection unit test"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01D",
             "is_error": True,
             "content": "ninja: error: loading 'build.ninja': No such file "
                        "or directory"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "The build directory is missing; "
             "what would you like me to do?"}]},
        {"role": "user", "content": [
            {"type": "text", "text": "Set it up with meson and try again.",
             "cache_control": {"type": "ephemeral"}}]},
    ]
    return {
        "model": "bench",
        "max_tokens": 32000,
        "temperature": 1,
        "system": system,
        "messages": messages,
        "tools": tools(),
        "metadata": {"user_id": "user_0123456789abcdef_account__session_"
                                "8a7c1e4e-5d11-4a38-9b2c-bench"},
        "stream": False,
    }

# ---- Anthropic -> OpenAI, the way src/xlate_req.c does it ---------------

def to_openai(req, remote="bench-remote"):
    system = []
    msgs = []
    calls = []

    def sys_text(v):
        if isinstance(v, str):
            if v:
                system.append(v)
            return
        for blk in v:
            if blk.get("type") == "text" and blk["text"]:
                system.append(blk["text"])

    def result_text(blk):
        c = blk.get("content")
        body = ""
        if isinstance(c, str):
            body = c
        elif c:
            body = "".join(p["text"] for p in c if p.get("type") == "text")
        if blk.get("is_error"):
            return ("Error: " if body else "Error") + body
        return body

    if "system" in req:
        sys_text(req["system"])
    for m in req["messages"]:
        role, content = m["role"], m["content"]
        if role == "system":
            sys_text(content)
        elif role == "user":
            if isinstance(content, str):
                parts = [{"type": "text", "text": content}] if content \
                    else []
                results = []
            else:
                parts = [{"type": "text", "text": blk["text"]}
                         for blk in content if blk["type"] == "text"]
                results = [blk for blk in content
                           if blk["type"] == "tool_result"]
            order = {cid: i for i, cid in enumerate(calls)}
            results.sort(key=lambda r: order.get(r["tool_use_id"],
                                                 len(order)))
            for r in results:
                msgs.append({"role": "tool",
                             "tool_call_id": r["tool_use_id"],
                             "content": result_text(r)})
            if len(parts) == 1:
                msgs.append({"role": "user", "content": parts[0]["text"]})
            elif parts:
                msgs.append({"role": "user", "content": parts})
        else:
            if isinstance(content, str):
                texts, uses = [content], []
            else:
                texts = [blk["text"] for blk in content
                         if blk["type"] == "text" and blk["text"]]
                uses = [blk for blk in content if blk["type"] == "tool_use"]
            tcs = [{"type": "function",
                    "function": {"name": u["name"],
                                 "arguments": dump(u["input"])},
                    "id": u["id"]} for u in uses]
            calls = [u["id"] for u in uses]
            msg = {"role": "assistant",
                   "content": "\n\n".join(texts) if texts else None}
            if tcs:
                msg["tool_calls"] = tcs
            msgs.append(msg)
    out = {"model": remote, "max_tokens": req["max_tokens"]}
    out["messages"] = ([{"role": "system", "content": "\n\n".join(system)}]
                       if system else []) + msgs
    if req.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    for k in ("temperature", "top_p"):
        if k in req:
            out[k] = req[k]
    if req.get("stop_sequences"):
        out["stop"] = req["stop_sequences"]
    uid = req.get("metadata", {}).get("user_id")
    if uid:
        out["user"] = uid
    if req.get("tools"):
        out["tools"] = [{"type": "function",
                         "function": {"name": t["name"],
                                      "description": t["description"],
                                      "parameters": t["input_schema"]}}
                        for t in req["tools"] if "input_schema" in t]
    return out

# ---- canned upstream answers ---------------------------------------------

def completion():
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench-remote",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "I'll set up the build directory and run the "
                           "connection test again. " + words(40, 30),
                "tool_calls": [{
                    "id": "call_bench_1",
                    "type": "function",
                    "function": {
                        "name": "Bash",
                        "arguments": dump({
                            "command": "meson setup build && meson test "
                                       "-C build test_http_conn",
                            "description": "Set up the build and run the "
                                           "test"})}}]},
            "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 5120, "completion_tokens": 96,
                  "total_tokens": 5216},
    }

STREAM_TOKENS = 50
FIRST_TOKEN = "Benchmark"		# bench.py looks for it (first token)

def stream_sse():
    def chunk(delta, finish=None):
        return {"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                "created": 1700000000, "model": "bench-remote",
                "choices": [{"index": 0, "delta": delta,
                             "finish_reason": finish}]}
    ev = [chunk({"role": "assistant", "content": ""})]
    toks = [FIRST_TOKEN] + [" " + w for w in
                            words(50, STREAM_TOKENS - 1).split()]
    ev += [chunk({"content": t}) for t in toks]
    ev.append(chunk({}, "stop"))
    ev.append({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
               "created": 1700000000, "model": "bench-remote",
               "choices": [],
               "usage": {"prompt_tokens": 12, "completion_tokens": 50,
                         "total_tokens": 62}})
    return "".join("data: %s\n\n" % dump(e) for e in ev) + \
        "data: [DONE]\n\n"

def main():
    os.makedirs(DATA, exist_ok=True)
    tiny = {"model": "bench", "max_tokens": 16,
            "messages": [{"role": "user", "content": "Hello"}]}
    # grow the system prompt until the Anthropic body is ~20 KB
    pad = 10
    while len(dump(claude_20k(pad + 10)).encode()) <= TARGET_20K:
        pad += 10
    big = claude_20k(pad)
    files = {
        "claude_tiny.json": dump(tiny) + "\n",
        "openai_tiny.json": dump(to_openai(tiny)) + "\n",
        "claude_20k.json": dump(big) + "\n",
        "openai_20k.json": dump(to_openai(big)) + "\n",
        "completion.json": dump(completion()) + "\n",
        "stream.sse": stream_sse(),
    }
    for name, text in files.items():
        with open(os.path.join(DATA, name), "w", encoding="utf-8") as f:
            f.write(text)
        print("%-18s %6d bytes" % (name, len(text.encode())),
              file=sys.stderr)

if __name__ == "__main__":
    main()
