"""The LLM client: completions with retries, validation, deadlines and accounting over a swappable transport.

``LLMClient(config)`` talks to ``config.model`` (any litellm model name: ``gpt-4o-mini``, ``anthropic/...``,
``ollama/qwen2.5:7b``, ``hosted_vllm/...`` or ``openai/<name>`` with ``config.api_base``). ``complete_structured``
returns a validated pydantic instance. How the structure is requested follows ``config.structured_output``:
``json_schema`` (OpenAI's ``response_format``), ``json_object_schema`` (llama.cpp's dialect), ``prompted`` (the
schema in the prompt, the reply parsed tolerantly) or ``auto``: litellm's capability table for hosted models, and
for local/OpenAI-compatible endpoints (``api_base`` set, or ``hosted_vllm/``, ``ollama/``, ...) schema-constrained
decoding first, stepping down once (remembered by the client) when the server rejects the form. A reply that fails
to parse or validate is sent back with the error, at most ``config.max_retries`` times, and never after the same
error twice; then ``LLMOutputInvalid``.

Every request runs in a worker thread and the client stops waiting after ``config.timeout_s`` (wall clock, all
reads included) or when the run's deadline (``tools.core.deadline``) passes, whichever comes first; then
``LLMTimeout``, whatever the transport does. Every call is recorded as an ``LLMCall`` (mode, tokens, latency, cost;
prompt and response unless redacted).

The transport is swappable: ``ScriptedTransport`` replays canned replies (tests), ``LiteLLMTransport`` calls
litellm (also with litellm's own ``mock_response``). With ``VIDREASON_FORBID_LLM_NETWORK=1`` (tests, CI) a
real call to anything but a loopback ``api_base`` raises ``LLMNotConfigured``.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from vidreason.tools.core.configs import LLMConfig, StructuredForm
from vidreason.tools.core.deadline import TimeLimitExceeded, call_with_time_limit, current_deadline
from vidreason.tools.core.errors import (
    ConfigError,
    LLMError,
    LLMFormatUnsupported,
    LLMNotConfigured,
    LLMOutputInvalid,
    LLMTimeout,
    LLMTransientError,
)
from vidreason.tools.core.results import LLMCall
from vidreason.tools.llm.decoding import structured_request
from vidreason.tools.llm.parsing import (
    error_signature,
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
RequestFormat = tuple[dict[str, Any] | None, dict[str, Any] | None]  # (response_format, extra_body)

#: litellm providers that are servers next to the user (OpenAI-compatible or Ollama), not a hosted API
LOCAL_PREFIXES = ("hosted_vllm/", "ollama/", "ollama_chat/", "lm_studio/", "llamafile/")
#: what ``auto`` steps down through when a server rejects a form (local endpoints; hosted ones skip the middle)
LOCAL_CHAIN: tuple[StructuredForm, ...] = ("json_schema", "json_object_schema", "prompted")
HOSTED_CHAIN: tuple[StructuredForm, ...] = ("json_schema", "prompted")
#: a request with less time left than this is not sent
MIN_REQUEST_S = 0.05


def is_local_endpoint(model: str, api_base: str | None) -> bool:
    """A self-hosted server (llama.cpp, vLLM, SGLang, Ollama, LM Studio, ...) whose model litellm's capability
    table does not know: an ``api_base`` is set or the provider is one of ``LOCAL_PREFIXES``."""
    return bool(api_base) or model.startswith(LOCAL_PREFIXES)


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
        self._lock = threading.Lock()
        self._auto_mode: StructuredForm | None = None  # what ``auto`` resolved to (stepped down on rejections)

    @classmethod
    def from_config(cls, config: LLMConfig) -> LLMClient | None:
        """A client for ``config.model``, or None when no LLM is configured."""
        return cls(config) if config.model else None

    # -- public API ---------------------------------------------------------------------------------------
    @property
    def structured_mode(self) -> StructuredForm:
        """The structured-output form the next structured call uses (``auto`` resolved)."""
        mode = self.config.structured_output
        if mode != "auto":
            return mode
        with self._lock:
            if self._auto_mode is None:
                local = is_local_endpoint(self.model, self.config.api_base)
                native = local or self.transport.supports_json_schema(self.model)
                self._auto_mode = "json_schema" if native else "prompted"
            return self._auto_mode

    def complete_text(self, messages: Sequence[Message], *, purpose: str = "") -> tuple[str, LLMCall]:
        """Plain text completion (transient failures retried)."""
        call = self._new_call(purpose, "text")
        msgs = [dict(m) for m in messages]
        try:
            resp = self._send_with_retries(msgs, (None, None), call)
        except LLMError as e:
            self._finish(call, msgs, None, error=e)
            raise
        self._finish(call, msgs, resp.text)
        return resp.text, call

    def complete_structured(
        self,
        messages: Sequence[Message],
        schema: type[T],
        *,
        purpose: str = "",
        decoding_schema: dict[str, Any] | None = None,
    ) -> tuple[T, LLMCall]:
        """A validated ``schema`` instance and the call record. Invalid replies are sent back with the error, at
        most ``config.max_retries`` times and never after the same error twice; then ``LLMOutputInvalid`` (its
        ``llm_call`` attribute holds the record). ``LLMTimeout`` is raised at once; transient provider errors
        use the same retry budget; a rejected structured-output form steps ``auto`` down once.
        ``decoding_schema`` narrows what a local server may decode (e.g. the ids this reply may cite); replies
        are validated against ``schema``."""
        mode = self.structured_mode
        local = is_local_endpoint(self.model, self.config.api_base)
        call = self._new_call(purpose, mode)
        base = [dict(m) for m in messages]
        msgs = _with_schema_text(base, schema) if mode == "prompted" else base
        budget = self.config.max_retries + 1
        replies = 0
        seen: set[str] = set()
        last_text: str | None = None

        def request_form(m: StructuredForm) -> RequestFormat:  # the fitted decoding schema: once per form
            limit = self.config.max_output_tokens
            return structured_request(m, schema, constrained=local, decoding=decoding_schema, max_tokens=limit)

        fmt = request_form(mode)
        while True:
            try:
                resp = self._send_with_retries(msgs, fmt, call)
            except LLMFormatUnsupported as e:
                lower = self._step_down(mode, e)
                if lower is None:
                    self._finish(call, msgs, last_text, error=e)
                    raise
                call.format_fallbacks.append(f"{mode} rejected: {e}"[:500])
                mode = call.structured = lower
                msgs = _with_schema_text(base, schema) if mode == "prompted" else base
                fmt = request_form(mode)
                continue
            except LLMError as e:
                self._finish(call, msgs, last_text, error=e)
                raise
            replies += 1
            last_text = resp.text
            try:
                if resp.finish_reason == "length":
                    raise LLMOutputInvalid(
                        f"the reply was cut off at max_output_tokens={self.config.max_output_tokens} "
                        f"({resp.completion_tokens} tokens)"
                    )
                result = parse_structured(resp.text, schema)
            except LLMOutputInvalid as e:
                call.validation_errors.append(str(e))
                signature = error_signature(e)
                repeated = signature in seen
                seen.add(signature)
                log.info("LLM reply for %s invalid (reply %d/%d): %s", purpose or schema.__name__, replies, budget, e)
                if repeated or replies >= budget:
                    why = "the same error twice" if repeated else "no retries left"
                    err = LLMOutputInvalid(
                        f"{self.model} gave no valid {schema.__name__} in {call.attempts} attempt(s) ({why}); "
                        f"last error: {e}"
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
    def _new_call(self, purpose: str, structured: StructuredForm | Literal["text"]) -> LLMCall:
        return LLMCall(
            purpose=purpose,
            model=self.model,
            attempts=0,
            structured=structured,
        )

    def _step_down(self, mode: StructuredForm, error: LLMFormatUnsupported) -> StructuredForm | None:
        """The next form ``auto`` tries after ``mode`` was rejected (remembered for later calls), or None."""
        if self.config.structured_output != "auto":
            return None
        chain = LOCAL_CHAIN if is_local_endpoint(self.model, self.config.api_base) else HOSTED_CHAIN
        if mode not in chain or mode == chain[-1]:
            return None
        lower = chain[chain.index(mode) + 1]
        with self._lock:
            if self._auto_mode == mode:
                self._auto_mode = lower
        log.warning("%s rejected the %s response format (%s); using %s from now on", self.model, mode, error, lower)
        return lower

    def _request(self, msgs: list[Message], fmt: RequestFormat, timeout_s: float) -> LLMRequest:
        return LLMRequest(
            model=self.model,
            messages=msgs,
            timeout_s=timeout_s,
            temperature=self.config.temperature,
            api_base=self.config.api_base,
            response_format=fmt[0],
            extra_body=fmt[1],
            max_tokens=self.config.max_output_tokens,
        )

    def _time_limit(self, call: LLMCall) -> tuple[float, str]:
        """Seconds this request may take and what sets the limit (``LLMTimeout`` when the run has no time
        left)."""
        limit, source = self.config.timeout_s, f"llm_timeout_s={self.config.timeout_s:g}"
        deadline = current_deadline()
        if deadline is not None:
            left = deadline.remaining()
            if left < MIN_REQUEST_S:
                what = call.purpose or "the LLM call"
                raise LLMTimeout(f"no time left for {what}: the run's {deadline.label} ran out")
            if left < limit:
                limit, source = left, f"the run's {deadline.label}"
        return limit, source

    def _send_once(self, msgs: list[Message], fmt: RequestFormat, call: LLMCall) -> LLMResponse:
        limit, source = self._time_limit(call)
        call.time_limit_s = round(limit, 3)
        call.attempts += 1
        request = self._request(msgs, fmt, limit)
        t0 = time.perf_counter()
        try:
            resp = call_with_time_limit(
                lambda: self.transport.complete(request), limit, on_expiry=request.cancel, name="vidreason-llm"
            )
        except TimeLimitExceeded:
            raise LLMTimeout(f"{self.model} did not answer within {limit:.3g} s ({source})") from None
        finally:
            call.latency_s += time.perf_counter() - t0
        call.prompt_tokens += resp.prompt_tokens
        call.completion_tokens += resp.completion_tokens
        call.cost_usd += resp.cost_usd
        call.mocked = call.mocked or resp.mocked
        return resp

    def _send_with_retries(self, msgs: list[Message], fmt: RequestFormat, call: LLMCall) -> LLMResponse:
        budget = self.config.max_retries + 1
        while True:
            try:
                return self._send_once(msgs, fmt, call)
            except LLMTransientError as e:
                if call.attempts >= budget:
                    raise
                self._backoff(call.attempts, e)

    def _backoff(self, attempt: int, error: LLMTransientError) -> None:
        delay = min(self.retry_backoff_s * 2 ** (attempt - 1), 30.0)
        deadline = current_deadline()
        if deadline is not None and deadline.remaining() < delay + MIN_REQUEST_S:
            raise error  # no time for another try within the run's deadline
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


def _with_schema_text(messages: list[Message], schema: type[BaseModel]) -> list[Message]:
    """``messages`` with the schema instruction after the system messages (the ``prompted`` form)."""
    out = [dict(m) for m in messages]
    n_sys = sum(1 for m in out if m.get("role") == "system")
    out.insert(n_sys, {"role": "system", "content": schema_instruction(schema)})
    return out


__all__ = ["LOCAL_PREFIXES", "LLMClient", "is_local_endpoint", "recording_calls"]
