"""Tiny OpenAI-compatible HTTP servers on loopback for LLM tests: one that answers from a function, one that
rejects a response format like llama-cpp-python's server does, and one that trickles a byte a second."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], "tuple[int, dict[str, Any]] | str"]


def completion(text: str, prompt_tokens: int = 10, completion_tokens: int = 5) -> dict[str, Any]:
    """A chat-completion response body."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "smollm2",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": "smollm2", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.server.bodies.append(body)
        if self.server.trickle_s is not None:
            self._trickle()
            return
        result = self.server.reply(body)
        if isinstance(result, str):
            self._send(200, completion(result))
        else:
            self._send(*result)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _trickle(self) -> None:
        """Headers at once, then one byte of a never-ending body per ``trickle_s`` (bounded: 10 minutes)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        stop = time.monotonic() + 600
        try:
            while time.monotonic() < stop and not self.server.closing.is_set():
                self.wfile.write(b" ")
                self.wfile.flush()
                self.server.closing.wait(self.server.trickle_s)
        except Exception:  # the client went away (reset, broken pipe, closed file)
            self.server.disconnects += 1
            raise


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, reply: Reply, trickle_s: float | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = reply
        self.trickle_s = trickle_s
        self.bodies: list[dict[str, Any]] = []
        self.closing = threading.Event()
        self.disconnects = 0

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@contextmanager
def fake_openai_server(reply: Reply | None = None, *, trickle_s: float | None = None) -> Iterator[_Server]:
    """An OpenAI-compatible server on a free loopback port for the ``with`` block; ``bodies`` keeps the request
    bodies. ``trickle_s``: every completion trickles one byte per ``trickle_s`` seconds and never ends."""
    server = _Server(reply or (lambda body: "{}"), trickle_s)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()


def llama_cpp_python_like(text: str) -> Reply:
    """Answers ``text`` to ``json_object`` (with or without a schema) and to no format; rejects ``json_schema``
    with HTTP 500 and the validation message llama-cpp-python's server sends."""

    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]] | str:
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            msg = (
                "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
            )
            return 500, {"error": {"message": msg, "type": "internal_server_error", "param": None, "code": None}}
        return text

    return reply


__all__ = ["completion", "fake_openai_server", "llama_cpp_python_like"]
