"""Request guards of the viewer (ASGI middleware), outermost first:

* ``HostGuard``: only answer ``Host`` headers naming this viewer (loopback names, plus the explicit
  ``--allowed-host`` list when bound to another interface), so DNS rebinding cannot reach it; refuse
  state-changing requests whose ``Origin`` is another site (cross-site request forgery).
* ``BodyLimit``: request bodies above a limit are refused with 413 before the app reads them.
* every response carries ``SECURITY_HEADERS`` (CSP: nothing inline, nothing from elsewhere).

Validation errors are answered without echoing the request (``validation_error``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidreason.agent.access import LOOPBACK_NAMES, is_loopback
from vidreason.ui.security import MAX_BODY_BYTES

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: sent with every response: no inline or third-party scripts, no framing, no MIME sniffing
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def host_name(host: str) -> str:
    """The name part of a ``Host`` header or an origin's authority (port and IPv6 brackets dropped)."""
    h = host.strip().lower()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else h[1:]
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def allowed_names(bind_host: str, allowed_hosts: Iterable[str] = ()) -> frozenset[str] | None:
    """The ``Host`` names the viewer answers: loopback names, the explicit list, and the bound address when it
    is a specific one. None means "any loopback address" only (a loopback bind with no extra names)."""
    extra = {host_name(h) for h in allowed_hosts if h.strip()}
    if is_loopback(bind_host) and not extra:
        return None
    bound = host_name(bind_host)
    try:
        if not ipaddress.ip_address(bound).is_unspecified:  # 0.0.0.0 / :: name no host
            extra.add(bound)
    except ValueError:
        extra.add(bound)  # a host name given to --host
    return frozenset(extra)


class HostGuard:
    """Answer only ``Host`` headers in ``names`` (or loopback ones); refuse cross-origin writes."""

    def __init__(self, app: ASGIApp, *, names: frozenset[str] | None) -> None:
        self.app = app
        self.names = names

    def _allowed(self, name: str) -> bool:
        return is_loopback(name) or (self.names is not None and name in self.names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = request.headers.get("host", "")
        if not self._allowed(host_name(host)):
            message = "this viewer only answers on loopback" if self.names is None else "not in --allowed-host"
            await refuse(scope, receive, send, 400, f"host {host[:80]!r} not allowed; {message}")
            return
        origin = request.headers.get("origin")
        if request.method not in SAFE_METHODS and origin is not None:
            authority = origin.split("://", 1)[-1].rstrip("/").lower()
            if authority != host.lower() or not self._allowed(host_name(authority)):
                await refuse(scope, receive, send, 403, f"cross-origin request from {origin[:80]!r} refused")
                return
        await self.app(scope, receive, send_with_headers(send))


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 (by their ``Content-Length``, or while reading a
    chunked body, before the app sees any of it)."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        too_big = f"request body over {self.limit} bytes refused"
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await refuse(scope, receive, send, 413, too_big, headers=False)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await refuse(scope, receive, send, 413, too_big, headers=False)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def refuse(
    scope: Scope, receive: Receive, send: Send, status: int, message: str, *, headers: bool = True
) -> None:
    """Answer ``status`` with ``{"error": message}`` (``headers``: add ``SECURITY_HEADERS``, unless an outer
    guard adds them)."""
    response: Response = JSONResponse({"error": message}, status_code=status)
    await response(scope, receive, send_with_headers(send) if headers else send)


def send_with_headers(send: Send) -> Send:
    """``send`` that adds ``SECURITY_HEADERS`` to the response start."""

    async def wrapped(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
        await send(message)

    return wrapped


def validation_error(exc: RequestValidationError) -> JSONResponse:
    """422 naming the fields and what is wrong with them, never their values (a request may be large or
    private)."""
    problems = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        problems.append(f"{where[:60]}: {str(err.get('msg', 'invalid'))[:120]}")
    more = len(exc.errors()) - len(problems)
    text = "invalid request: " + "; ".join(problems) + (f" (+{more} more)" if more > 0 else "")
    return JSONResponse({"error": text, "kind": "ValidationError"}, status_code=422)


__all__ = [
    "LOOPBACK_NAMES",
    "MAX_BODY_BYTES",
    "SECURITY_HEADERS",
    "BodyLimit",
    "HostGuard",
    "allowed_names",
    "host_name",
    "is_loopback",
    "send_with_headers",
    "validation_error",
]
