#!/usr/bin/env python3
"""Open --streams concurrent Anthropic streaming requests to claude-proxy and
read each to its end. A stream counts as completed when it answered 200,
carried --tokens content_block_delta events, ended with message_stop and
closed its chunked body. Everything is bounded by --deadline seconds.
Prints one JSON object on stdout.
"""
import argparse
import asyncio
import json
import statistics
import sys
import time

def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]

async def one(args, body, res):
    r = {"ok": False}
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1",
                                                       args.port)
        req = (b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/json\r\n"
               b"anthropic-version: 2023-06-01\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
        start = time.monotonic()
        writer.write(req)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        r["ttfb_s"] = time.monotonic() - start
        status = int(head.split(b" ", 2)[1])
        if status != 200:
            r["error"] = "status %d" % status
            return
        if b"transfer-encoding: chunked" not in head.lower():
            r["error"] = "not chunked"
            return
        data = bytearray()
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            data += await reader.readexactly(size)
            await reader.readexactly(2)
        r["duration_s"] = time.monotonic() - start
        deltas = data.count(b"event: content_block_delta\n")
        r["deltas"] = deltas
        if b"event: error" in data:
            r["error"] = "error event"
        elif b"event: message_stop" not in data:
            r["error"] = "no message_stop"
        elif deltas != args.tokens:
            r["error"] = "%d deltas" % deltas
        else:
            r["ok"] = True
    except asyncio.CancelledError:
        r["error"] = "deadline"
    except Exception as e:			# noqa: BLE001 - counted, reported
        r["error"] = type(e).__name__
    finally:
        if writer is not None:
            writer.close()
        res.append(r)

async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--streams", type=int, default=512)
    ap.add_argument("--tokens", type=int, default=300)
    ap.add_argument("--deadline", type=float, default=120)
    ap.add_argument("--model", default="bench-slow")
    args = ap.parse_args()
    body = json.dumps({"model": args.model, "max_tokens": 4096,
                       "stream": True,
                       "messages": [{"role": "user",
                                     "content": "Trickle, please."}]},
                      separators=(",", ":")).encode()
    res = []
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(one(args, body, res))
             for _ in range(args.streams)]
    done, pending = await asyncio.wait(tasks, timeout=args.deadline)
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
    errors = {}
    for r in res:
        if not r["ok"]:
            errors[r.get("error", "?")] = errors.get(r.get("error", "?"),
                                                     0) + 1
    ttfb = [r["ttfb_s"] for r in res if "ttfb_s" in r]
    dur = [r["duration_s"] for r in res if r["ok"]]
    out = {
        "streams": args.streams,
        "completed": sum(1 for r in res if r["ok"]),
        "failed": args.streams - sum(1 for r in res if r["ok"]),
        "errors": errors,
        "wall_s": round(time.monotonic() - t0, 3),
        "ttfb_s": {"p50": pct(ttfb, 50), "p99": pct(ttfb, 99),
                   "max": max(ttfb) if ttfb else None},
        "duration_s": {"min": min(dur) if dur else None,
                       "p50": statistics.median(dur) if dur else None,
                       "max": max(dur) if dur else None},
    }
    print(json.dumps(out), flush=True)

if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
