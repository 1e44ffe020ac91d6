#!/usr/bin/env python3
"""fake-upstream.py RECORD_FILE: a tiny OpenAI-compatible upstream for the
package test.

Binds 127.0.0.1 on a free port (one thread per connection, so every
worker's kept-alive connection is served), prints the port on one line on stdout, then
answers POST .../chat/completions with a fixed non-streaming completion
("hello from the fake upstream") and appends one JSON line per request to
RECORD_FILE: {"path", "authorization", "body"}. Anything else gets 404.
Runs until killed.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY_TEXT = "hello from the fake upstream"
RECORD_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep the test's output clean
        pass

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self.path.split("?")[0].endswith("/chat/completions"):
            self.send_json(404, {"error": {"message": "no such path",
                                           "type": "invalid_request_error"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self.send_json(400, {"error": {"message": "bad json",
                                           "type": "invalid_request_error"}})
            return
        with RECORD_LOCK, open(self.server.record_file, "a") as f:
            f.write(json.dumps({"path": self.path,
                                "authorization": self.headers.get("Authorization"),
                                "body": body}) + "\n")
        self.send_json(200, {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1700000000,
            "model": body.get("model"),
            "choices": [{"index": 0,
                         "message": {"role": "assistant", "content": REPLY_TEXT},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 6,
                      "total_tokens": 11},
        })


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fake-upstream.py RECORD_FILE")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.record_file = sys.argv[1]
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
