"""Transport interface of the LLM client and a scripted fake model for tests (no litellm here)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from vidreason.tools.core.errors import LLMError

Message = dict[str, str]


@dataclass
class LLMRequest:
    """What a transport is asked to complete."""

    model: str
    messages: list[Message]
    timeout_s: float
    temperature: float = 0.0
    api_base: str | None = None
    response_format: dict[str, Any] | None = None
    max_tokens: int | None = None
    extra_body: dict[str, Any] | None = None  # provider-specific fields merged into the request body
    _cancel_hooks: list[Callable[[], None]] = field(default_factory=list, init=False, repr=False, compare=False)
    _cancelled: bool = field(default=False, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    @property
    def cancelled(self) -> bool:
        """Whether the client has stopped waiting for this request (a transport then must not send it)."""
        return self._cancelled

    def on_cancel(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` when the client stops waiting (at once if it already has), e.g. closing the HTTP client
        a worker blocks on, so its socket read ends."""
        with self._lock:
            if not self._cancelled:
                self._cancel_hooks.append(hook)
                return
        with contextlib.suppress(Exception):
            hook()

    def cancel(self) -> None:
        """Mark the request cancelled and run its hooks (errors ignored: the caller has stopped waiting)."""
        with self._lock:
            self._cancelled = True
            hooks, self._cancel_hooks = self._cancel_hooks, []
        for hook in hooks:
            with contextlib.suppress(Exception):
                hook()


@dataclass
class LLMResponse:
    """A transport's reply: text plus accounting."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    mocked: bool = False
    finish_reason: str | None = None  # "length": cut at ``max_tokens``


class Transport(Protocol):
    """Sends one request. Raises ``LLMTimeout``, ``LLMTransientError`` (retryable), ``LLMFormatUnsupported`` (the
    server rejected ``response_format``), or other ``LLMError``s. ``complete`` may block: the client runs it in a
    worker thread and stops waiting at the request's time limit (calling ``request.cancel()``)."""

    def complete(self, request: LLMRequest) -> LLMResponse: ...

    def supports_json_schema(self, model: str) -> bool: ...


ScriptItem = str | dict[str, Any] | BaseModel | BaseException | Callable[[LLMRequest], "str | LLMResponse"]


@dataclass
class ScriptedTransport:
    """A fake model for tests: replies with ``script`` items in turn (a string, a dict or model sent as
    JSON, an
    exception to raise, or a callable of the request). ``requests`` keeps what it was sent."""

    script: Iterable[ScriptItem]
    json_schema: bool = False
    tokens_per_char: float = 0.25
    requests: list[LLMRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._items = list(self.script)
        self._lock = threading.Lock()

    def supports_json_schema(self, model: str) -> bool:
        return self.json_schema

    def complete(self, request: LLMRequest) -> LLMResponse:
        with self._lock:
            self.requests.append(request)
            if not self._items:
                raise LLMError(f"ScriptedTransport ran out of replies after {len(self.requests) - 1} call(s)")
            item = self._items.pop(0)
        if isinstance(item, BaseException):
            raise item
        produced: Any = item(request) if callable(item) and not isinstance(item, BaseModel) else item
        if isinstance(produced, LLMResponse):
            return produced
        item = produced
        if isinstance(item, BaseModel):
            text = item.model_dump_json()
        elif isinstance(item, dict):
            text = json.dumps(item)
        else:
            text = str(item)
        prompt_chars = sum(len(m.get("content", "")) for m in request.messages)
        return LLMResponse(
            text=text,
            prompt_tokens=int(prompt_chars * self.tokens_per_char),
            completion_tokens=int(len(text) * self.tokens_per_char),
            mocked=True,
        )
