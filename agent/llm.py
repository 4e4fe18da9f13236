"""The LLM client: the only module that imports litellm.

``LLMClient(settings)`` talks to ``settings.llm`` (any litellm model name: ``gpt-4o-mini``, ``anthropic/...``,
``ollama/qwen2.5:7b``, ``hosted_vllm/...`` with ``settings.llm_api_base``). ``complete_structured`` returns a
validated pydantic instance: a JSON-schema ``response_format`` where litellm says the model supports one, else
the schema is put in the prompt and the reply is parsed tolerantly; a reply that fails to parse or validate is
sent back with the validation error, at most ``settings.llm_max_retries`` times, then ``LLMOutputInvalid``.
Every call is recorded as an ``LLMCall`` (tokens, latency, cost; prompt and response unless redacted).

The transport is swappable: ``ScriptedTransport`` replays canned replies (tests), ``LiteLLMTransport`` calls
litellm (also with litellm's own ``mock_response``). With ``VIDREASON_FORBID_LLM_NETWORK=1`` (tests, CI) a
real network call raises ``LLMNotConfigured``.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from vidreason.agent.errors import (
    ConfigError,
    LLMError,
    LLMNotConfigured,
    LLMOutputInvalid,
    LLMTimeout,
    LLMTransientError,
)
from vidreason.agent.llm_parsing import (
    extract_json,
    json_schema_response_format,
    parse_structured,
    repair_message,
    schema_instruction,
)
from vidreason.agent.llm_transport import LLMRequest, LLMResponse, Message, ScriptedTransport, Transport
from vidreason.agent.schemas import LLMCall
from vidreason.agent.settings import Settings

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


FORBID_NETWORK_ENV = "VIDREASON_FORBID_LLM_NETWORK"
T = TypeVar("T", bound=BaseModel)


def _import_litellm() -> Any:
    """Import litellm lazily (about 5 s) with the local cost map, so the import never waits on the network."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    if hasattr(litellm, "telemetry"):
        litellm.telemetry = False
    return litellm


class LiteLLMTransport:
    """Calls ``litellm.completion``. ``mock_response`` (one reply or a list used in turn) and ``mock_timeout``
    use litellm's offline mock path, which works with real calls forbidden."""

    def __init__(self, *, mock_response: str | Sequence[str] | None = None, mock_timeout: bool = False) -> None:
        if isinstance(mock_response, str):
            mock_response = [mock_response]
        self._mocks = list(mock_response) if mock_response is not None else None
        self._mock_timeout = mock_timeout

    @property
    def mocked(self) -> bool:
        return self._mocks is not None or self._mock_timeout

    def supports_json_schema(self, model: str) -> bool:
        litellm = _import_litellm()
        try:
            return bool(litellm.supports_response_schema(model=model))
        except Exception as e:  # litellm documents "does not raise"; stay safe for unknown providers
            log.debug("supports_response_schema(%s) failed: %s", model, e)
            return False

    def complete(self, request: LLMRequest) -> LLMResponse:
        if not self.mocked and os.environ.get(FORBID_NETWORK_ENV, "") not in ("", "0"):
            raise LLMNotConfigured(
                f"real LLM calls are forbidden here ({FORBID_NETWORK_ENV}={os.environ[FORBID_NETWORK_ENV]}); "
                "use ScriptedTransport or LiteLLMTransport(mock_response=...) in tests"
            )
        litellm = _import_litellm()
        import openai  # litellm's exceptions derive from openai's

        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            "timeout": request.timeout_s,
            "temperature": request.temperature,
            "num_retries": 0,
        }
        if request.api_base:
            kwargs["api_base"] = request.api_base
        if request.response_format is not None:
            kwargs["response_format"] = request.response_format
        if self._mocks is not None:
            if not self._mocks:
                raise LLMError("LiteLLMTransport ran out of mock responses")
            kwargs["mock_response"] = self._mocks.pop(0) if len(self._mocks) > 1 else self._mocks[0]
        if self._mock_timeout:
            kwargs["mock_timeout"] = True
            kwargs.setdefault("mock_response", "")
        try:
            resp = litellm.completion(**kwargs)
        except litellm.Timeout as e:
            raise LLMTimeout(f"{request.model} did not answer within {request.timeout_s:g} s") from e
        except (
            litellm.RateLimitError,
            litellm.APIConnectionError,
            litellm.ServiceUnavailableError,
            litellm.InternalServerError,
            litellm.BadGatewayError,
        ) as e:
            raise LLMTransientError(f"{request.model}: {type(e).__name__}: {e}") from e
        except (litellm.AuthenticationError, litellm.NotFoundError, litellm.PermissionDeniedError) as e:
            raise LLMNotConfigured(f"{request.model}: {type(e).__name__}: {e}") from e
        except openai.OpenAIError as e:
            raise LLMError(f"{request.model}: {type(e).__name__}: {e}") from e
        text = resp.choices[0].message.content or ""
        usage = getattr(resp, "usage", None)
        try:
            cost = float(litellm.completion_cost(completion_response=resp) or 0.0)
        except Exception:  # unknown model price: cost is unknown, recorded as 0
            cost = 0.0
        return LLMResponse(
            text=text,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost_usd=cost,
            mocked=self.mocked,
        )


# ------------------------------------------------------------------------------------------------ the client


class LLMClient:
    """Completions with retries, validation and accounting. ``calls`` accumulates every ``LLMCall``."""

    def __init__(
        self,
        settings: Settings,
        transport: Transport | None = None,
        *,
        model: str | None = None,
        retry_backoff_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.model = model or settings.llm or ("scripted" if transport is not None else "")
        if transport is None:
            if not self.model:
                raise LLMNotConfigured(
                    "no LLM is configured: set VIDREASON_LLM (e.g. gpt-4o-mini, "
                    "anthropic/claude-3-5-haiku-latest, ollama/qwen2.5:7b, hosted_vllm/<model> with "
                    "VIDREASON_LLM_API_BASE) or use the offline planner"
                )
            transport = LiteLLMTransport()
        if self.model.startswith("hosted_vllm/") and not settings.llm_api_base:
            raise ConfigError(f"model {self.model!r} needs VIDREASON_LLM_API_BASE (e.g. http://localhost:8000/v1)")
        self.transport = transport
        self.retry_backoff_s = retry_backoff_s
        self.calls: list[LLMCall] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient | None:
        """A client for ``settings.llm``, or None when no LLM is configured."""
        return cls(settings) if settings.llm else None

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
        most ``settings.llm_max_retries`` times; then ``LLMOutputInvalid`` (its ``llm_call`` attribute
        holds the
        record). ``LLMTimeout`` is raised at once; transient provider errors use the same retry budget."""
        use_schema = self.transport.supports_json_schema(self.model)
        call = self._new_call(purpose, "json_schema" if use_schema else "prompted")
        msgs = [dict(m) for m in messages]
        if not use_schema:
            n_sys = sum(1 for m in msgs if m.get("role") == "system")
            msgs.insert(n_sys, {"role": "system", "content": schema_instruction(schema)})
        fmt = json_schema_response_format(schema) if use_schema else None
        budget = self.settings.llm_max_retries + 1
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
            timeout_s=self.settings.llm_timeout_s,
            temperature=self.settings.llm_temperature,
            api_base=self.settings.llm_api_base,
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
        budget = self.settings.llm_max_retries + 1
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
        if self.settings.llm_record_prompts:
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


__all__ = [
    "FORBID_NETWORK_ENV",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "LiteLLMTransport",
    "ScriptedTransport",
    "Transport",
    "extract_json",
    "json_schema_response_format",
    "parse_structured",
]
