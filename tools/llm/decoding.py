"""What a local server decodes under: the JSON schema sent for schema-constrained decoding, bounded so that every
reply it admits ends within the request's token limit, and the request forms (OpenAI ``json_schema``, llama.cpp's
``json_object`` + schema, an llguidance grammar) that carry it."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

#: bounds added where a schema has none, for schema-constrained decoding: a small model decoding greedily
#: under a grammar can repeat an array item or a string until the token limit; validation keeps the model's own
#: bounds
DECODE_MAX_ITEMS = 4
DECODE_MAX_STRINGS = 3
DECODE_MAX_CHARS = 500  # a string with its own (larger) bound
DECODE_FREE_CHARS = 200  # a string without one (ids, reasons)
#: steps a number with both bounds is decoded in (a grammar's number has no bound on its digits)
NUMBER_STEPS = 10
#: the shortest bound ``fit_to_tokens`` gives a string
MIN_FIT_CHARS = 48
#: tokens of a request's limit kept for the end-of-text token and a server's bookkeeping
TOKEN_MARGIN = 4


def decoding_schema(schema: type[BaseModel], *, ids: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The JSON schema sent for constrained decoding: ``schema``'s, with list properties required (a grammar lets a
    small model skip every optional field; an empty list is still allowed), no properties beyond the declared ones,
    numbers between two bounds as one of ``NUMBER_STEPS + 1`` values, and arrays and strings bounded
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
            out["additionalProperties"] = False
        if out.get("type") == "array":
            items = out.get("items")
            enum = items.get("enum") if isinstance(items, dict) else None
            strings = isinstance(items, dict) and items.get("type") == "string"
            cap = len(enum) if isinstance(enum, list) else DECODE_MAX_STRINGS if strings else DECODE_MAX_ITEMS
            out["maxItems"] = min(int(out.get("maxItems", cap)), cap)
        if out.get("type") == "string" and "enum" not in out and "pattern" not in out:
            out["maxLength"] = min(int(out["maxLength"]), DECODE_MAX_CHARS) if "maxLength" in out else DECODE_FREE_CHARS
        if out.get("type") == "number" and "minimum" in out and "maximum" in out:
            low, high = float(out["minimum"]), float(out["maximum"])
            out = {"enum": [round(low + (high - low) * i / NUMBER_STEPS, 6) for i in range(NUMBER_STEPS + 1)]}
        return out

    return dict(walk(schema.model_json_schema()))


def _drawn_from(prop: dict[str, Any], values: list[str]) -> dict[str, Any]:
    """``prop`` (a string or a list of strings) limited to ``values``."""
    if prop.get("type") == "array":
        bounded = min(int(prop.get("maxItems", len(values))), len(values))
        return {**prop, "items": {"enum": values}, "maxItems": bounded} if values else {"type": "array", "maxItems": 0}
    return {"enum": values} if values else prop


# ------------------------------------------------------------------------------------------ the token budget


def worst_case_chars(schema: dict[str, Any]) -> float:
    """Characters of the longest JSON text (no whitespace) that ``schema`` admits; ``math.inf`` where it admits
    unbounded text (a string without ``maxLength``, an array without ``maxItems``, open properties). A character
    escaped in a string counts once."""
    defs = schema.get("$defs", {})

    def size(node: Any) -> float:
        if not isinstance(node, dict) or not node:
            return math.inf
        if "$ref" in node:
            return size(defs.get(str(node["$ref"]).rsplit("/", 1)[-1]))
        if "const" in node:
            return len(json.dumps(node["const"]))
        if "enum" in node:
            return max((len(json.dumps(v)) for v in node["enum"]), default=0)
        options = node.get("anyOf") or node.get("oneOf")
        if options:
            return max(size(o) for o in options)
        kind = node.get("type")
        if isinstance(kind, list):
            return max(size({**node, "type": k}) for k in kind)
        if kind == "object":
            props = node.get("properties", {})
            if node.get("additionalProperties", True) is not False:
                return math.inf
            parts = [len(json.dumps(k)) + 1 + size(v) for k, v in props.items()]
            return 2 + sum(parts) + max(0, len(parts) - 1)
        if kind == "array":
            fixed = [size(p) for p in node.get("prefixItems", [])]
            extra = max(0, int(node.get("maxItems", math.inf if "items" in node else len(fixed))) - len(fixed))
            if extra and not isinstance(node.get("items"), dict):
                return math.inf
            each = size(node["items"]) if extra else 0
            count = len(fixed) + extra
            return 2 + sum(fixed) + extra * each + max(0, count - 1)
        if kind == "string":
            return 2 + float(node.get("maxLength", math.inf))
        if kind == "integer":
            bounds = [node.get("minimum"), node.get("maximum")]
            return max(len(str(b)) for b in bounds) if None not in bounds else 20
        return {"number": 24, "boolean": 5, "null": 4}.get(str(kind), math.inf)

    return size(schema)


def fit_to_tokens(schema: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    """``schema`` with its free strings' ``maxLength`` scaled down (not below ``MIN_FIT_CHARS``) so that the
    longest reply it admits is at most ``max_tokens`` characters, and so, since a token of plain text is at least
    one character, ends before the request's token limit: a small model that repeats itself inside a string is
    then closed by the grammar instead of cut off. Unchanged where it already fits or has no free strings."""
    budget = max_tokens - TOKEN_MARGIN
    fitted = copy.deepcopy(schema)
    for _ in range(6):
        total = worst_case_chars(fitted)
        if total <= budget:
            break
        strings = _free_strings(fitted)
        shrinkable = [s for s in strings if s["maxLength"] > MIN_FIT_CHARS]
        if not shrinkable:
            break
        fixed = worst_case_chars(_with_string_length(fitted, 0))
        text = total - fixed
        factor = max(0.0, (budget - fixed) / text) if text > 0 else 0.0
        for s in shrinkable:
            s["maxLength"] = max(MIN_FIT_CHARS, int(s["maxLength"] * factor))
            s["minLength"] = min(int(s.get("minLength", 0)), s["maxLength"])
    return fitted


def _free_strings(node: Any) -> list[dict[str, Any]]:
    """The string schemas inside ``node`` with a ``maxLength`` (not enums, consts or patterns)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        for x in node:
            found += _free_strings(x)
    elif isinstance(node, dict):
        if node.get("type") == "string" and "maxLength" in node and not {"enum", "const", "pattern"} & set(node):
            found.append(node)
        for v in node.values():
            found += _free_strings(v)
    return found


def _with_string_length(schema: dict[str, Any], length: int) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    for s in _free_strings(out):
        s["maxLength"] = length
    return out


# --------------------------------------------------------------------------------------------- request forms


def llguidance_grammar(json_schema: dict[str, Any]) -> str:
    """An llguidance grammar (llama.cpp's ``grammar`` field) for JSON following ``json_schema``, with no free
    whitespace: a small model then writes about half the tokens, and stays closer to the content."""
    options = {**json_schema, "x-guidance": {"whitespace_flexible": False}}
    return "%llguidance {}\nstart: %json " + json.dumps(options, separators=(",", ":"))


def structured_request(
    mode: str,
    schema: type[BaseModel],
    *,
    constrained: bool,
    decoding: dict[str, Any] | None = None,
    max_tokens: int | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``(response_format, extra_body)`` asking for ``schema`` in ``mode``: ``json_schema`` (OpenAI's form),
    ``json_object_schema`` (llama.cpp's ``json_object`` with a ``schema``), ``llguidance`` (llama.cpp's
    ``grammar`` field) or ``prompted`` (neither). ``constrained`` (a local server that enforces the schema while
    decoding) sends ``decoding`` (the caller's, e.g. with the ids a reply may cite) or ``decoding_schema``, fitted
    to ``max_tokens``; hosted APIs get the model's own schema."""
    if constrained:
        js = decoding or decoding_schema(schema)
        js = fit_to_tokens(js, max_tokens) if max_tokens else js
    else:
        js = schema.model_json_schema()
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": js, "strict": False}}, None
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": js}, None
    if mode == "llguidance":
        return None, {"grammar": llguidance_grammar(js)}
    return None, None
