"""A fault-injecting fake of the OpenAI chat-completions endpoint, on 127.0.0.1.

Only for the retry and give-up paths: the real behaviour is tested against a real vLLM
server. ``behaviour(n, body)`` gets the 1-based request count and the parsed request and
returns one of ``"ok"``, ``"slow"`` (ok after ``hang_s``), ``"500"`` (any status code),
``"timeout"`` (no answer for ``hang_s``), ``"drop"`` (the connection closes without an
answer, as when a server dies mid-batch), ``"garbage"`` (not JSON), ``"empty"`` (no
choices), ``"blank"`` (a completion whose text is "").
``text(body)``, when given, writes the completion of an ``"ok"`` request (default: one
fixed sentence with the seed in it).

Error responses carry ``Retry-After-Ms: 10``, which the openai client honours, so its
retries take milliseconds in tests.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def completion_body(body: dict, text: str | None = None) -> dict:
    seed = body.get("seed", 0)
    if text is None:
        text = f"the boy is on the stool taking a cookie and uh the mother is washing dishes seed {seed}"
    return {
        "id": f"cmpl-{seed}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "x"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 20, "total_tokens": 25},
    }


class FakeEndpoint:
    def __init__(
        self, behaviour: Callable[[int, dict], str], *, hang_s: float = 5.0, text: Callable[[dict], str] | None = None
    ):
        self.behaviour = behaviour
        self.text = text
        self.hang_s = hang_s
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with outer._lock:
                    outer.requests.append(body)
                    n = len(outer.requests)
                mode = outer.behaviour(n, body)
                if mode in ("timeout", "slow"):
                    time.sleep(outer.hang_s)
                    mode = "ok"
                if mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif mode == "ok":
                    text = outer.text(body) if outer.text is not None else None
                    self._send(200, json.dumps(completion_body(body, text)).encode())
                elif mode == "garbage":
                    self._send(200, b"{not json at all <<<")
                elif mode == "empty":
                    body_ = completion_body(body)
                    body_["choices"] = []
                    self._send(200, json.dumps(body_).encode())
                elif mode == "blank":
                    body_ = completion_body(body)
                    body_["choices"][0]["message"]["content"] = ""
                    self._send(200, json.dumps(body_).encode())
                else:
                    self._send(int(mode), json.dumps({"error": {"message": f"injected {mode}"}}).encode())

            def _send(self, code: int, payload: bytes):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    if code >= 400:
                        self.send_header("Retry-After-Ms", "10")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
