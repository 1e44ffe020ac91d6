#!/usr/bin/env python3
"""A slow fake OpenAI upstream: every POST gets a chunked SSE stream that
trickles one token every --interval seconds, --tokens times (nginx cannot
pace its output, hence this server).

Listens on 127.0.0.1, a free port unless --port is given, and prints
"port N" on stdout when ready. Connections are kept alive. SIGTERM or
SIGINT stops it; it then prints one JSON line of counters on stdout.
"""
import argparse
import asyncio
import json
import signal
import sys
import time

HEAD = (b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/event-stream\r\n"
        b"Cache-Control: no-cache\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n")

stats = {"connections": 0, "requests": 0, "completed": 0, "aborted": 0,
         "max_concurrent": 0}
active = 0

def chunk(payload):
    return b"%x\r\n%s\r\n" % (len(payload), payload)

def event(obj):
    return chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode()
                 + b"\n\n")

def delta(d, finish=None):
    return event({"id": "chatcmpl-slow", "object": "chat.completion.chunk",
                  "created": 1700000000, "model": "bench-slow-remote",
                  "choices": [{"index": 0, "delta": d,
                               "finish_reason": finish}]})

async def read_request(reader):
    """Read one request; return False at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return False
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
        elif k.strip().lower() == b"transfer-encoding":
            raise ValueError("chunked request bodies are not supported")
    if length:
        await reader.readexactly(length)
    return True

async def serve(reader, writer, args):
    global active
    stats["connections"] += 1
    try:
        while await read_request(reader):
            stats["requests"] += 1
            active += 1
            stats["max_concurrent"] = max(stats["max_concurrent"], active)
            try:
                writer.write(HEAD + delta({"role": "assistant",
                                           "content": ""}))
                await writer.drain()
                start = time.monotonic()
                for i in range(args.tokens):
                    wait = start + (i + 1) * args.interval - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    writer.write(delta({"content": " tok%d" % i}))
                    await writer.drain()
                writer.write(delta({}, "stop") + event({
                    "id": "chatcmpl-slow", "object": "chat.completion.chunk",
                    "created": 1700000000, "model": "bench-slow-remote",
                    "choices": [], "usage": {
                        "prompt_tokens": 10,
                        "completion_tokens": args.tokens,
                        "total_tokens": 10 + args.tokens}}) +
                    chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
                await writer.drain()
                stats["completed"] += 1
            finally:
                active -= 1
    except (ConnectionError, asyncio.IncompleteReadError):
        stats["aborted"] += 1
    finally:
        writer.close()

async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--tokens", type=int, default=300)
    args = ap.parse_args()
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, args), "127.0.0.1", args.port,
        backlog=4096)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    server.close()
    print(json.dumps(stats), flush=True)

if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
