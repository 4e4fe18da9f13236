"""Tolerant JSON extraction and schema validation of LLM replies, and the messages that ask for a schema."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from vidreason.tools.core.errors import LLMOutputInvalid

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """The first JSON value in ``text``: the whole text, a fenced block, or the first decodable
    ``{...}``/``[...]``
    inside prose. Raises ``LLMOutputInvalid`` when there is none."""
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    for block in _FENCE.findall(text):
        try:
            return json.loads(block.strip())
        except json.JSONDecodeError:
            continue
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "{[":
            try:
                value, _ = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict) or (isinstance(value, list) and value):
                return value
    raise LLMOutputInvalid(f"no JSON object found in the reply (first 80 chars: {stripped[:80]!r})")


def _format_validation_error(e: ValidationError, limit: int = 8) -> str:
    parts = []
    for err in e.errors(include_url=False)[:limit]:
        loc = ".".join(str(x) for x in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    more = len(e.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_structured(text: str, schema: type[T]) -> T:
    """Extract JSON from ``text`` and validate it into ``schema``; ``LLMOutputInvalid`` names what is
    wrong."""
    value = extract_json(text)
    try:
        return schema.model_validate(value)
    except ValidationError as e:
        # Tolerate one level of wrapping ({"PlanDraft": {...}} or {"properties": {...}}).
        if isinstance(value, dict) and len(value) == 1:
            inner = next(iter(value.values()))
            if isinstance(inner, dict):
                try:
                    return schema.model_validate(inner)
                except ValidationError:
                    pass
        raise LLMOutputInvalid(f"the reply does not match {schema.__name__}: {_format_validation_error(e)}") from e


def error_signature(error: LLMOutputInvalid) -> str:
    """What is wrong with a reply, without the reply's own text: two attempts that fail the same way have the
    same signature."""
    return _SNIPPET.sub("", str(error))


_SNIPPET = re.compile(r"\s*\(first 80 chars: .*\)\s*$", re.DOTALL)


def schema_instruction(schema: type[BaseModel]) -> str:
    return (
        "Reply with exactly one JSON object, no prose and no code fences, that validates against this JSON "
        f"schema:\n{json.dumps(schema.model_json_schema(), separators=(',', ':'))}"
    )


def repair_message(error: str) -> str:
    return (
        f"Your previous reply could not be used: {error}\n"
        "Reply again with only the corrected JSON object that follows the schema."
    )
