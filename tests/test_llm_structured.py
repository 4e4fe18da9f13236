"""How structured output is requested: the modes, ``auto``'s one-time step-down when a server rejects a form (real
HTTP through litellm to a loopback server that answers like llama-cpp-python's), the decoding schemas (every reply
they admit validates), the mode recorded on every call, and no retry after the same error twice."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema
import pytest
from llm_servers import fake_openai_server, llama_cpp_python_like
from pydantic import BaseModel, Field

from vidreason.graphs.drafts import AnswerDraft, VerifyReport
from vidreason.tools.core.configs import LLMConfig
from vidreason.tools.core.errors import LLMFormatUnsupported, LLMNotConfigured, LLMOutputInvalid
from vidreason.tools.core.plan import PlanDraft
from vidreason.tools.index.summary import SummaryDraft
from vidreason.tools.llm.client import LLMClient, is_local_endpoint
from vidreason.tools.llm.decoding import (
    MIN_FIT_CHARS,
    decoding_schema,
    fit_to_tokens,
    structured_request,
    worst_case_chars,
)
from vidreason.tools.llm.litellm_transport import LiteLLMTransport, format_rejected, is_loopback
from vidreason.tools.llm.transport import LLMRequest, LLMResponse, ScriptedTransport


class Thing(BaseModel):
    name: str
    count: int = Field(ge=0)
    tags: list[str] = Field(default_factory=list)


MSGS = [{"role": "system", "content": "You extract things."}, {"role": "user", "content": "one apple"}]
GOOD = '{"name": "apple", "count": 1, "tags": []}'


def _config(**kw: Any) -> LLMConfig:
    return LLMConfig(**{"model": "openai/smollm2", "api_base": "http://127.0.0.1:9/v1", **kw})


def test_auto_resolution_local_vs_hosted() -> None:
    assert is_local_endpoint("openai/smollm2", "http://127.0.0.1:8080/v1")
    assert is_local_endpoint("ollama/qwen2.5:7b", None) and is_local_endpoint("hosted_vllm/x", None)
    assert not is_local_endpoint("gpt-4o-mini", None)
    local = LLMClient(_config(), ScriptedTransport([], json_schema=False))
    assert local.structured_mode == "json_schema"  # local: constrained decoding first, whatever litellm's table says
    hosted = LLMClient(LLMConfig(model="gpt-4o-mini"), ScriptedTransport([], json_schema=False))
    assert hosted.structured_mode == "prompted"  # hosted: litellm's capability table
    fixed = LLMClient(_config(structured_output="json_object_schema"), ScriptedTransport([]))
    assert fixed.structured_mode == "json_object_schema"


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("json_schema", "json_schema"), ("json_object_schema", "json_object"), ("llguidance", None), ("prompted", None)],
)
def test_each_mode_sends_its_form_and_is_recorded(mode: str, kind: str | None) -> None:
    t = ScriptedTransport([GOOD])
    thing, call = LLMClient(_config(structured_output=mode), t).complete_structured(MSGS, Thing, purpose="x")
    req = t.requests[0]
    assert thing.name == "apple" and call.structured == mode and call.attempts == 1
    assert (req.response_format or {}).get("type") == kind
    if mode == "llguidance":
        grammar = (req.extra_body or {})["grammar"]
        assert grammar.startswith("%llguidance") and '"whitespace_flexible":false' in grammar
    if mode == "prompted":  # the schema goes into the prompt instead
        assert req.response_format is None and req.extra_body is None and '"count"' in req.messages[1]["content"]
    else:
        assert req.messages == MSGS
    assert req.max_tokens == 1024 and 0 < req.timeout_s <= 60


def test_hosted_models_get_the_full_schema_local_ones_the_decoding_schema() -> None:
    hosted_fmt, _ = structured_request("json_schema", PlanDraft, constrained=False)
    local_fmt, _ = structured_request("json_schema", PlanDraft, constrained=True)
    assert hosted_fmt is not None and local_fmt is not None
    assert hosted_fmt["json_schema"]["schema"] == PlanDraft.model_json_schema()
    assert "anyOf" in local_fmt["json_schema"]["schema"]  # PlanDraft's rules written out


def test_auto_steps_down_once_on_rejection_and_remembers() -> None:
    rejected = LLMFormatUnsupported("HTTP 500: Input should be 'text' or 'json_object'")
    t = ScriptedTransport([rejected, GOOD, GOOD])
    client = LLMClient(_config(), t)
    _, first = client.complete_structured(MSGS, Thing, purpose="a")
    _, second = client.complete_structured(MSGS, Thing, purpose="b")
    assert first.structured == "json_object_schema" and first.attempts == 2 and len(first.format_fallbacks) == 1
    assert "json_schema rejected" in first.format_fallbacks[0]
    assert second.structured == "json_object_schema" and second.attempts == 1 and not second.format_fallbacks
    assert [(r.response_format or {}).get("type") for r in t.requests] == ["json_schema", "json_object", "json_object"]


def test_auto_steps_down_to_prompted_and_explicit_modes_do_not() -> None:
    no = LLMFormatUnsupported("unsupported response_format")
    _, call = LLMClient(_config(), ScriptedTransport([no, no, GOOD])).complete_structured(MSGS, Thing)
    assert call.structured == "prompted" and len(call.format_fallbacks) == 2
    hosted = LLMClient(LLMConfig(model="gpt-4o-mini"), ScriptedTransport([no, GOOD], json_schema=True))
    assert hosted.complete_structured(MSGS, Thing)[1].structured == "prompted"  # hosted: no llama.cpp dialect
    with pytest.raises(LLMFormatUnsupported):
        LLMClient(_config(structured_output="json_schema"), ScriptedTransport([no])).complete_structured(MSGS, Thing)


def test_the_same_parse_error_twice_ends_the_call() -> None:
    t = ScriptedTransport(["no json here", "still prose", GOOD])
    client = LLMClient(_config(max_retries=5), t)
    with pytest.raises(LLMOutputInvalid, match="the same error twice") as info:
        client.complete_structured(MSGS, Thing)
    assert len(t.requests) == 2 and info.value.llm_call.attempts == 2  # type: ignore[attr-defined]
    different = ScriptedTransport(["no json here", '{"name": "a", "count": -1}', GOOD])
    thing, call = LLMClient(_config(max_retries=5), different).complete_structured(MSGS, Thing)
    assert thing.count == 1 and call.attempts == 3 and len(call.validation_errors) == 2


def test_a_reply_cut_at_the_token_limit_is_named() -> None:
    cut = LLMResponse(text='{"name": "app', completion_tokens=1024, finish_reason="length")
    with pytest.raises(LLMOutputInvalid, match="cut off at max_output_tokens=1024"):
        LLMClient(_config(max_retries=0), ScriptedTransport([cut])).complete_structured(MSGS, Thing)


# ------------------------------------------------------------------------------------ decoding schemas


def _sample(schema: dict[str, Any], rng: random.Random, root: dict[str, Any]) -> Any:
    """A random instance of the JSON-schema subset the decoding schemas use."""
    if "$ref" in schema:
        return _sample(root["$defs"][schema["$ref"].split("/")[-1]], rng, root)
    if "anyOf" in schema:
        return _sample(rng.choice(schema["anyOf"]), rng, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return {k: _sample(v, rng, root) for k, v in props.items() if k in required or rng.random() < 0.5}
    if kind == "array":
        if "prefixItems" in schema:
            return [_sample(s, rng, root) for s in schema["prefixItems"]]
        n = rng.randint(schema.get("minItems", 0), schema.get("maxItems", 3))
        return [_sample(schema.get("items", {"type": "string"}), rng, root) for _ in range(n)]
    if kind == "string":
        if "pattern" in schema:
            return f"e{rng.randint(1, 9)}"
        n = rng.randint(max(1, schema.get("minLength", 0)), min(12, schema.get("maxLength", 12)))
        return "".join(rng.choice("abc xyz") for _ in range(n)).strip() or "a"
    if kind == "integer":
        return rng.randint(schema.get("minimum", 0), schema.get("maximum", 5))
    if kind == "number":
        return rng.uniform(0, 1)
    if kind == "boolean":
        return rng.random() < 0.5
    if isinstance(kind, list) or "anyOf" in schema:
        return None
    return None


@pytest.mark.parametrize("model", [PlanDraft, AnswerDraft, VerifyReport, SummaryDraft])
def test_every_reply_the_decoding_schema_admits_validates(model: type[BaseModel]) -> None:
    schema = decoding_schema(model)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    rng = random.Random(7)
    for _ in range(200):
        value = _sample(schema, rng, schema)
        validator.validate(value)
        model.model_validate(value)  # the cross-field rules hold too


def _longest(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """The longest JSON value ``schema`` admits (every property, every item, every character)."""
    if "$ref" in schema:
        return _longest(root["$defs"][schema["$ref"].split("/")[-1]], root)
    if "anyOf" in schema:
        return max((_longest(o, root) for o in schema["anyOf"]), key=lambda v: len(_compact(v)))
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return max(schema["enum"], key=lambda v: len(_compact(v)))
    kind = schema.get("type")
    if kind == "object":
        return {k: _longest(v, root) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        fixed = [_longest(p, root) for p in schema.get("prefixItems", [])]
        extra = schema["maxItems"] - len(fixed) if "items" in schema else 0
        return fixed + [_longest(schema["items"], root) for _ in range(extra)]
    if kind == "string":
        return "x" * schema["maxLength"]
    if kind == "integer":
        return schema["maximum"]
    if kind in ("boolean", "null"):
        return {"boolean": False, "null": None}[kind]
    raise AssertionError(f"unexpected schema node {schema}")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


IDS = {"evidence_id": [f"ev{i}" for i in range(1, 13)], "cites": ["shot:0001", "scene:0002"]}


@pytest.mark.parametrize("model", [AnswerDraft, VerifyReport, SummaryDraft, PlanDraft])
@pytest.mark.parametrize("max_tokens", [512, 1024])
def test_decoding_schemas_fit_the_token_limit(model: type[BaseModel], max_tokens: int) -> None:
    """A reply the fitted schema admits is at most ``max_tokens`` characters (so at most that many tokens of
    plain text): a model repeating itself inside a string is closed by the grammar, not cut off. The longest
    reply still validates. The plan's hand-bounded schema cannot shrink below ``MIN_FIT_CHARS`` per string."""
    fitted = fit_to_tokens(decoding_schema(model, ids=IDS), max_tokens)
    longest = _longest(fitted, fitted)
    model.model_validate(longest)
    assert worst_case_chars(fitted) == len(_compact(longest))
    if model is PlanDraft:
        assert min(_max_lengths(fitted)) == MIN_FIT_CHARS
    else:
        assert len(_compact(longest)) <= max_tokens


def _max_lengths(node: Any) -> list[int]:
    if isinstance(node, list):
        return [n for x in node for n in _max_lengths(x)]
    if not isinstance(node, dict):
        return []
    own = [node["maxLength"]] if "maxLength" in node else []
    return own + [n for v in node.values() for n in _max_lengths(v)]


def test_fit_leaves_a_schema_that_fits_and_bounds_open_ones() -> None:
    small = decoding_schema(Thing)
    assert fit_to_tokens(small, 4096) == small
    assert worst_case_chars({"type": "string"}) == float("inf")
    assert worst_case_chars({"type": "object", "properties": {"a": {"const": 1}}}) == float("inf")  # open object
    assert small["additionalProperties"] is False


def test_the_request_carries_the_fitted_schema() -> None:
    fmt, _ = structured_request("json_schema", AnswerDraft, constrained=True, max_tokens=700)
    assert fmt is not None
    assert worst_case_chars(fmt["json_schema"]["schema"]) <= 700
    hosted, _ = structured_request("json_schema", AnswerDraft, constrained=False, max_tokens=300)
    assert hosted is not None and hosted["json_schema"]["schema"] == AnswerDraft.model_json_schema()


def test_plan_decoding_schema_spells_out_the_cross_field_rules() -> None:
    schema = decoding_schema(PlanDraft)
    validate = jsonschema.Draft202012Validator(schema).validate
    good = {
        "question_type": "temporal_qa",
        "sub_events": [{"id": "e1", "description": "the budget", "channels": ["speech"], "occurrence": "any"}],
        "relations": [],
        "target": {"kind": "after", "refs": ["e1"], "read": ["speech"], "adjacent": True},
        "answer_form": "quote",
    }
    validate(good)
    for bad_target in ({"kind": "after", "refs": ["e2"], "read": []}, {"kind": "between", "refs": ["e1"], "read": []}):
        with pytest.raises(jsonschema.ValidationError):
            validate({**good, "target": bad_target})
    with pytest.raises(jsonschema.ValidationError):  # a relation of a sub-event with itself
        two = [good["sub_events"][0], {**good["sub_events"][0], "id": "e2"}]
        jsonschema.validate(
            {**good, "sub_events": two, "relations": [{"kind": "before", "a": "e1", "b": "e1"}]}, schema
        )
    generic = decoding_schema(AnswerDraft)  # lists required (a grammar lets a small model skip them) and bounded
    assert "citations" in generic["required"] and generic["properties"]["citations"]["maxItems"] == 4


# ----------------------------------------------------------- real HTTP through litellm to a loopback server


def test_litellm_over_http_steps_down_like_llama_cpp_python() -> None:
    """The server rejects ``json_schema`` with HTTP 500 (as llama-cpp-python does): one rejected request, then
    ``json_object`` + ``schema`` for this and every later call; the request bodies are what the server got."""
    with fake_openai_server(llama_cpp_python_like(GOOD)) as server:
        client = LLMClient(LLMConfig(model="openai/smollm2", api_base=server.api_base), LiteLLMTransport())
        thing, first = client.complete_structured(MSGS, Thing, purpose="plan")
        _, second = client.complete_structured(MSGS, Thing, purpose="answer")
    assert thing.name == "apple" and first.structured == second.structured == "json_object_schema"
    assert first.attempts == 2 and first.format_fallbacks and second.attempts == 1
    kinds = [b["response_format"]["type"] for b in server.bodies]
    assert kinds == ["json_schema", "json_object", "json_object"]  # the OpenAI SDK's own retries are off
    assert server.bodies[1]["response_format"]["schema"]["properties"]["name"]["maxLength"] == 200
    assert server.bodies[1]["max_tokens"] == 1024 and server.bodies[1]["model"] == "smollm2"


def test_llguidance_grammar_reaches_the_server_body() -> None:
    with fake_openai_server(lambda body: GOOD) as server:
        config = LLMConfig(model="openai/smollm2", api_base=server.api_base, structured_output="llguidance")
        _, call = LLMClient(config, LiteLLMTransport()).complete_structured(MSGS, Thing)
    body = server.bodies[0]
    assert call.structured == "llguidance" and "response_format" not in body
    assert body["grammar"].startswith("%llguidance {}\nstart: %json {")
    assert json.loads(body["grammar"].split("%json ", 1)[1])["x-guidance"] == {"whitespace_flexible": False}


def test_rejection_wording_and_network_guard() -> None:
    assert format_rejected(500, "Input should be 'text' or 'json_object'")
    assert format_rejected(400, "response_format.type must be json_schema")
    assert not format_rejected(400, "maximum context length is 2048 tokens")
    assert not format_rejected(401, "bad key for response_format")
    assert is_loopback("http://127.0.0.1:8080/v1") and is_loopback("http://localhost:1/v1")
    assert not is_loopback("https://api.example.com/v1") and not is_loopback(None)
    request = LLMRequest(model="openai/x", messages=MSGS, timeout_s=1, api_base="http://10.1.2.3:8000/v1")
    with pytest.raises(LLMNotConfigured, match="except to a server on this machine"):
        LiteLLMTransport().complete(request)
