"""litellm behind the ``Transport`` interface: the only module of vidreason that imports litellm.

``response_format`` goes to litellm as given: for ``openai/`` models it reaches the server unchanged (llama.cpp's
``json_object`` + ``schema`` too), litellm's Ollama provider turns a ``json_schema`` into Ollama's ``format``. A
server that rejects the form (HTTP 4xx/5xx naming it) raises ``LLMFormatUnsupported`` so the client can step
down. Requests to an ``openai/`` endpoint at an ``api_base`` get their own HTTP client, closed when the client
stops waiting, so an abandoned request does not keep a connection (and a thread) busy.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from vidreason.tools.core.errors import (
    LLMError,
    LLMFormatUnsupported,
    LLMNotConfigured,
    LLMTimeout,
    LLMTransientError,
)
from vidreason.tools.llm.transport import LLMRequest, LLMResponse

log = logging.getLogger(__name__)

FORBID_NETWORK_ENV = "VIDREASON_FORBID_LLM_NETWORK"
#: the key sent to the LLM server (local servers started without ``--api-key`` accept any)
API_KEY_ENV = "VIDREASON_LLM_API_KEY"
LOCAL_PLACEHOLDER_KEY = "sk-no-key-needed"
#: statuses and wording of a server saying it does not take the requested ``response_format``
_FORMAT_STATUSES = frozenset({400, 415, 422, 500, 501})
_FORMAT_WORDS = re.compile(r"response_format|json_schema|json_object|\bschema\b|grammar|guided_json", re.IGNORECASE)


def is_loopback(api_base: str | None) -> bool:
    """Whether ``api_base`` is a server on this machine (allowed even when real LLM calls are forbidden)."""
    host = urlsplit(api_base).hostname if api_base else None
    return host in ("127.0.0.1", "localhost", "::1") or bool(host and host.startswith("127."))


def format_rejected(status: int | None, message: str) -> bool:
    """Whether an HTTP error says the requested structured-output form is not supported."""
    return status in _FORMAT_STATUSES and bool(_FORMAT_WORDS.search(message))


def _api_key(request: LLMRequest) -> str | None:
    """``VIDREASON_LLM_API_KEY``, else a placeholder for an ``openai/`` model at an ``api_base`` when no
    ``OPENAI_API_KEY`` is set (the OpenAI SDK refuses to send a request without one), else litellm's own
    lookup."""
    key = os.environ.get(API_KEY_ENV)
    if key:
        return key
    if request.api_base and request.model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
        return LOCAL_PLACEHOLDER_KEY
    return None


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
        forbidden = os.environ.get(FORBID_NETWORK_ENV, "") not in ("", "0")
        if forbidden and not self.mocked and not is_loopback(request.api_base):
            raise LLMNotConfigured(
                f"real LLM calls are forbidden here ({FORBID_NETWORK_ENV}={os.environ[FORBID_NETWORK_ENV]}) except "
                "to a server on this machine; use ScriptedTransport or LiteLLMTransport(mock_response=...) in tests"
            )
        litellm = _import_litellm()
        import openai  # litellm's exceptions derive from openai's

        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            "timeout": request.timeout_s,
            "temperature": request.temperature,
            "num_retries": 0,
            "max_retries": 0,  # the OpenAI SDK's own retries (2 by default) would hide a rejected format
        }
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        if request.api_base:
            kwargs["api_base"] = request.api_base
        key = _api_key(request)
        if key:
            kwargs["api_key"] = key
        if request.response_format is not None:
            kwargs["response_format"] = request.response_format
        if request.extra_body:
            kwargs["extra_body"] = dict(request.extra_body)
        if self._mocks is not None:
            if not self._mocks:
                raise LLMError("LiteLLMTransport ran out of mock responses")
            kwargs["mock_response"] = self._mocks.pop(0) if len(self._mocks) > 1 else self._mocks[0]
        if self._mock_timeout:
            kwargs["mock_timeout"] = True
            kwargs.setdefault("mock_response", "")
        if not self.mocked and request.api_base and request.model.startswith("openai/"):
            client = openai.OpenAI(
                api_key=key or LOCAL_PLACEHOLDER_KEY,
                base_url=request.api_base,
                max_retries=0,
                timeout=request.timeout_s,
            )
            request.on_cancel(client.close)
            kwargs["client"] = client
        if request.cancelled:  # the time limit passed while litellm was imported: never send it
            raise LLMTimeout(f"{request.model}: the time limit passed before the request was sent")
        try:
            resp = litellm.completion(**kwargs)
        except (litellm.BadRequestError, litellm.UnprocessableEntityError, litellm.InternalServerError) as e:
            asked = request.response_format is not None or bool(request.extra_body)
            if asked and format_rejected(getattr(e, "status_code", None), str(e)):
                kind = (request.response_format or {}).get("type") or "grammar"
                raise LLMFormatUnsupported(f"{request.model} rejected the {kind!r} output format: {e}") from e
            if isinstance(e, litellm.InternalServerError):
                raise LLMTransientError(f"{request.model}: {type(e).__name__}: {e}") from e
            raise LLMError(f"{request.model}: {type(e).__name__}: {e}") from e
        except litellm.Timeout as e:
            raise LLMTimeout(f"{request.model} did not answer within {request.timeout_s:g} s") from e
        except (
            litellm.RateLimitError,
            litellm.APIConnectionError,
            litellm.ServiceUnavailableError,
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
            finish_reason=getattr(resp.choices[0], "finish_reason", None),
        )


__all__ = ["API_KEY_ENV", "FORBID_NETWORK_ENV", "LiteLLMTransport", "format_rejected", "is_loopback"]
