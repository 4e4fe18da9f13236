"""litellm behind the ``Transport`` interface: the only module of vidreason that imports litellm."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from vidreason.tools.core.errors import LLMError, LLMNotConfigured, LLMTimeout, LLMTransientError
from vidreason.tools.llm.transport import LLMRequest, LLMResponse

log = logging.getLogger(__name__)

FORBID_NETWORK_ENV = "VIDREASON_FORBID_LLM_NETWORK"


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


__all__ = ["FORBID_NETWORK_ENV", "LiteLLMTransport"]
