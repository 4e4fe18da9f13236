"""The LLM client: completions with retries, validation and accounting over a swappable transport.

``LLMClient(config)`` talks to ``config.model`` (any litellm model name: ``gpt-4o-mini``, ``anthropic/...``,
``ollama/qwen2.5:7b``, ``hosted_vllm/...`` with ``config.api_base``). ``complete_structured`` returns a
validated pydantic instance: a JSON-schema ``response_format`` where litellm says the model supports one, else
the schema is put in the prompt and the reply is parsed tolerantly; a reply that fails to parse or validate is
sent back with the validation error, at most ``config.max_retries`` times, then ``LLMOutputInvalid``.
Every call is recorded as an ``LLMCall`` (tokens, latency, cost; prompt and response unless redacted).

The transport is swappable: ``ScriptedTransport`` replays canned replies (tests), ``LiteLLMTransport`` calls
litellm (also with litellm's own ``mock_response``). With ``VIDREASON_FORBID_LLM_NETWORK=1`` (tests, CI) a
real network call raises ``LLMNotConfigured``.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from vidreason.tools.core.configs import LLMConfig
from vidreason.tools.core.errors import (
    ConfigError,
    LLMError,
    LLMNotConfigured,
    LLMOutputInvalid,
    LLMTransientError,
)
from vidreason.tools.core.results import LLMCall
from vidreason.tools.llm.parsing import (
    json_schema_response_format,
    parse_structured,
    repair_message,
    schema_instruction,
)
from vidreason.tools.llm.transport import LLMRequest, LLMResponse, Message, Transport

log = logging.getLogger(__name__)

#: where calls made in the current context are also recorded (one list per graph step; concurrent runs that
#: share a client, e.g. in the UI, keep their calls apart because each thread/task has its own context)
_CALL_SINK: contextvars.ContextVar[list[LLMCall] | None] = contextvars.ContextVar("vidreason_llm_calls", default=None)


@contextlib.contextmanager
def recording_calls() -> Iterator[list[LLMCall]]:
    """Collect the LLM calls made inside the ``with`` block (in this thread or task only)."""
    sink: list[LLMCall] = []
    token = _CALL_SINK.set(sink)
    try:
        yield sink
    finally:
        _CALL_SINK.reset(token)


T = TypeVar("T", bound=BaseModel)


# ------------------------------------------------------------------------------------------------ the client


class LLMClient:
    """Completions with retries, validation and accounting. ``calls`` accumulates every ``LLMCall``."""

    def __init__(
        self,
        config: LLMConfig,
        transport: Transport | None = None,
        *,
        model: str | None = None,
        retry_backoff_s: float = 1.0,
    ) -> None:
        self.config = config
        self.model = model or config.model or ("scripted" if transport is not None else "")
        if transport is None:
            if not self.model:
                raise LLMNotConfigured(
                    "no LLM is configured: set VIDREASON_LLM (e.g. gpt-4o-mini, "
                    "anthropic/claude-3-5-haiku-latest, ollama/qwen2.5:7b, hosted_vllm/<model> with "
                    "VIDREASON_LLM_API_BASE) or use the offline planner"
                )
            from vidreason.tools.llm.litellm_transport import LiteLLMTransport

            transport = LiteLLMTransport()
        if self.model.startswith("hosted_vllm/") and not config.api_base:
            raise ConfigError(f"model {self.model!r} needs VIDREASON_LLM_API_BASE (e.g. http://localhost:8000/v1)")
        self.transport = transport
        self.retry_backoff_s = retry_backoff_s
        self.calls: list[LLMCall] = []

    @classmethod
    def from_config(cls, config: LLMConfig) -> LLMClient | None:
        """A client for ``config.model``, or None when no LLM is configured."""
        return cls(config) if config.model else None

    # -- public API ---------------------------------------------------------------------------------------
    def complete_text(self, messages: Sequence[Message], *, purpose: str = "") -> tuple[str, LLMCall]:
        """Plain text completion (transient failures retried)."""
        call = self._new_call(purpose, "text")
        msgs = [dict(m) for m in messages]
        try:
            resp = self._send_with_retries(msgs, None, call)
        except LLMError as e:
            self._finish(call, msgs, None, error=e)
            raise
        self._finish(call, msgs, resp.text)
        return resp.text, call

    def complete_structured(
        self, messages: Sequence[Message], schema: type[T], *, purpose: str = ""
    ) -> tuple[T, LLMCall]:
        """A validated ``schema`` instance and the call record. Invalid replies are sent back with the
        error, at
        most ``config.max_retries`` times; then ``LLMOutputInvalid`` (its ``llm_call`` attribute
        holds the
        record). ``LLMTimeout`` is raised at once; transient provider errors use the same retry budget."""
        use_schema = self.transport.supports_json_schema(self.model)
        call = self._new_call(purpose, "json_schema" if use_schema else "prompted")
        msgs = [dict(m) for m in messages]
        if not use_schema:
            n_sys = sum(1 for m in msgs if m.get("role") == "system")
            msgs.insert(n_sys, {"role": "system", "content": schema_instruction(schema)})
        fmt = json_schema_response_format(schema) if use_schema else None
        budget = self.config.max_retries + 1
        last_text: str | None = None
        while True:
            try:
                resp = self._send_with_retries(msgs, fmt, call)
            except LLMError as e:
                self._finish(call, msgs, last_text, error=e)
                raise
            last_text = resp.text
            try:
                result = parse_structured(resp.text, schema)
            except LLMOutputInvalid as e:
                call.validation_errors.append(str(e))
                log.info(
                    "LLM reply for %s invalid (attempt %d/%d): %s",
                    purpose or schema.__name__,
                    call.attempts,
                    budget,
                    e,
                )
                if call.attempts >= budget:
                    err = LLMOutputInvalid(
                        f"{self.model} gave no valid {schema.__name__} in {call.attempts} attempt(s); last error: {e}"
                    )
                    self._finish(call, msgs, last_text, error=err)
                    raise err from e
                msgs = [
                    *msgs,
                    {"role": "assistant", "content": resp.text},
                    {"role": "user", "content": repair_message(str(e))},
                ]
                continue
            self._finish(call, msgs, resp.text)
            return result, call

    # -- internals ----------------------------------------------------------------------------------------
    def _new_call(self, purpose: str, structured: str) -> LLMCall:
        return LLMCall(
            purpose=purpose,
            model=self.model,
            attempts=0,
            structured=structured,
        )

    def _request(self, msgs: list[Message], fmt: dict[str, Any] | None) -> LLMRequest:
        return LLMRequest(
            model=self.model,
            messages=msgs,
            timeout_s=self.config.timeout_s,
            temperature=self.config.temperature,
            api_base=self.config.api_base,
            response_format=fmt,
        )

    def _send_once(self, msgs: list[Message], fmt: dict[str, Any] | None, call: LLMCall) -> LLMResponse:
        call.attempts += 1
        t0 = time.perf_counter()
        try:
            resp = self.transport.complete(self._request(msgs, fmt))
        finally:
            call.latency_s += time.perf_counter() - t0
        call.prompt_tokens += resp.prompt_tokens
        call.completion_tokens += resp.completion_tokens
        call.cost_usd += resp.cost_usd
        call.mocked = call.mocked or resp.mocked
        return resp

    def _send_with_retries(self, msgs: list[Message], fmt: dict[str, Any] | None, call: LLMCall) -> LLMResponse:
        budget = self.config.max_retries + 1
        while True:
            try:
                return self._send_once(msgs, fmt, call)
            except LLMTransientError as e:
                if call.attempts >= budget:
                    raise
                self._backoff(call.attempts, e)

    def _backoff(self, attempt: int, error: Exception) -> None:
        delay = min(self.retry_backoff_s * 2 ** (attempt - 1), 30.0)
        log.warning("LLM %s transient failure (%s); retrying in %.1f s", self.model, error, delay)
        if delay > 0:
            time.sleep(delay)

    def _finish(self, call: LLMCall, msgs: list[Message], text: str | None, *, error: Exception | None = None) -> None:
        call.ok = error is None
        call.error = f"{type(error).__name__}: {error}" if error is not None else None
        if self.config.record_prompts:
            call.messages = [dict(m) for m in msgs]
            call.response = text
        else:
            call.redacted = True
        self.calls.append(call)
        sink = _CALL_SINK.get()
        if sink is not None:
            sink.append(call)
        if error is not None:
            error.llm_call = call  # type: ignore[attr-defined]


__all__ = ["LLMClient", "recording_calls"]
