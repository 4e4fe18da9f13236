"""Tolerant JSON extraction and schema validation of LLM replies, and the messages that ask for a schema."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
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


#: bounds added where a schema has none, for schema-constrained decoding: a small model decoding greedily
#: under a grammar can repeat an array item or a string until the token limit; validation keeps the model's own
#: bounds
DECODE_MAX_ITEMS = 4
DECODE_MAX_STRINGS = 3
DECODE_MAX_CHARS = 500  # a string with its own (larger) bound
DECODE_FREE_CHARS = 200  # a string without one (ids, reasons)


def decoding_schema(schema: type[BaseModel], *, ids: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The JSON schema sent for constrained decoding: ``schema``'s, with list properties required (a grammar lets a
    small model skip every optional field; an empty list is still allowed) and arrays and strings bounded
    (``DECODE_MAX_ITEMS`` objects, ``DECODE_MAX_STRINGS`` strings, an array of enum values at most as long as the
    enum, strings ``DECODE_MAX_CHARS`` or, without a bound of their own, ``DECODE_FREE_CHARS``). A model class can
    give its own with a ``decoding_json_schema()`` classmethod (``PlanDraft`` does: its cross-field rules written
    out). ``ids`` draws the named properties (a string, or a list's items) from the given values: the evidence
    ids or child ids a reply may cite. Replies are validated against ``schema`` itself."""
    custom = getattr(schema, "decoding_json_schema", None)
    if callable(custom):
        return dict(custom())
    ids = ids or {}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(x) for x in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items()}
        props = out.get("properties")
        if isinstance(props, dict):
            for name in set(props) & set(ids):
                props[name] = _drawn_from(props[name], list(ids[name]))
            required = set(out.get("required", []))
            lists = {name for name, p in props.items() if isinstance(p, dict) and p.get("type") == "array"}
            if lists - required:
                out["required"] = [name for name in props if name in required | lists]
        if out.get("type") == "array":
            items = out.get("items")
            enum = items.get("enum") if isinstance(items, dict) else None
            strings = isinstance(items, dict) and items.get("type") == "string"
            cap = len(enum) if isinstance(enum, list) else DECODE_MAX_STRINGS if strings else DECODE_MAX_ITEMS
            out["maxItems"] = min(int(out.get("maxItems", cap)), cap)
        if out.get("type") == "string" and "enum" not in out and "pattern" not in out:
            out["maxLength"] = min(int(out["maxLength"]), DECODE_MAX_CHARS) if "maxLength" in out else DECODE_FREE_CHARS
        return out

    return dict(walk(schema.model_json_schema()))


def _drawn_from(prop: dict[str, Any], values: list[str]) -> dict[str, Any]:
    """``prop`` (a string or a list of strings) limited to ``values``."""
    if prop.get("type") == "array":
        bounded = min(int(prop.get("maxItems", len(values))), len(values))
        return {**prop, "items": {"enum": values}, "maxItems": bounded} if values else {"type": "array", "maxItems": 0}
    return {"enum": values} if values else prop


def llguidance_grammar(json_schema: dict[str, Any]) -> str:
    """An llguidance grammar (llama.cpp's ``grammar`` field) for JSON following ``json_schema``, with no free
    whitespace: a small model then writes about half the tokens, and stays closer to the content."""
    options = {**json_schema, "x-guidance": {"whitespace_flexible": False}}
    return "%llguidance {}\nstart: %json " + json.dumps(options, separators=(",", ":"))


def structured_request(
    mode: str, schema: type[BaseModel], *, constrained: bool, decoding: dict[str, Any] | None = None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``(response_format, extra_body)`` asking for ``schema`` in ``mode``: ``json_schema`` (OpenAI's form),
    ``json_object_schema`` (llama.cpp's ``json_object`` with a ``schema``), ``llguidance`` (llama.cpp's
    ``grammar`` field) or ``prompted`` (neither). ``constrained`` (a local server that enforces the schema while
    decoding) sends ``decoding`` (the caller's, e.g. with the ids a reply may cite) or ``decoding_schema``; hosted
    APIs get the model's own schema."""
    js = (decoding or decoding_schema(schema)) if constrained else schema.model_json_schema()
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": js, "strict": False}}, None
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": js}, None
    if mode == "llguidance":
        return None, {"grammar": llguidance_grammar(js)}
    return None, None


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
