"""Chain-of-summary over the video hierarchy: shot captions + transcript + on-screen text -> scene summary ->
event summary -> video summary, each citing the child node ids it rests on.

Each summary is written by the LLM client when an LLM is configured (structured output
``{summary, cites}``, prompt ``prompts/summary.j2``), else extractively (the most central sentences by TF-IDF
cosine centrality, marked ``extractive``). A node with no text below it gets a ``structural`` summary that
says so. Inputs are cut to ``SummaryConfig.input_tokens`` (about 4 characters per token) per node. The nodes of
one level are summarised concurrently (at most ``LLMConfig.max_concurrency`` requests in flight); once the LLM
times out or is unreachable, the rest of the pass is extractive instead of waiting for it again.

Stored in the graph: each node's ``summary`` and ``citations`` slots, and per node in
``graph.meta["summaries"]`` the ``method`` (``llm`` / ``extractive`` / ``structural``) and ``hash`` (of the
node's inputs, the method and the prompt version). Re-running after a new stage (captions, OCR, ...)
recomputes only the nodes whose hash changed, bottom-up, so a changed shot re-summarises its scene, event and
the video, and nothing else.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vidreason.tools.core.configs import LLMConfig, SummaryConfig
from vidreason.tools.core.errors import (
    LLMError,
    LLMFormatUnsupported,
    LLMNotConfigured,
    LLMTimeout,
    LLMTransientError,
)
from vidreason.tools.core.media import StageStatus
from vidreason.tools.core.prompting import PromptVars, load_prompt, render_prompt
from vidreason.tools.index.extractive import LEAF_FIELDS, approx_tokens, extractive_summary, truncate_to_tokens
from vidreason.tools.llm.decoding import decoding_schema

if TYPE_CHECKING:
    from vidreason.tools.index.hierarchy import Level, Node, VideoGraph
    from vidreason.tools.llm.client import LLMClient

log = logging.getLogger(__name__)

STAGE_NAME = "summaries"
META_KEY = "summaries"
PROMPT_NAME = "summary"
ALGORITHM_VERSION = "2"
Method = Literal["llm", "extractive", "structural"]
#: summarised levels, bottom-up (shots are the leaves: their text is caption + transcript + OCR)
LEVELS: tuple[Level, ...] = ("scene", "event", "video")


class SummaryVars(PromptVars):
    """Variables of ``prompts/summary.j2``."""

    level: str
    node_id: str
    span: str
    children: list[dict[str, Any]] = Field(description="[{id, span, text}] in time order")
    max_words: int = Field(80, ge=5, le=2000)


class SummaryDraft(BaseModel):
    """What the LLM returns for one node."""

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(min_length=1, max_length=20_000)
    cites: list[str] = Field(default_factory=list, description="ids of the items the summary rests on")


class NodeSummary(BaseModel):
    node_id: str
    summary: str
    cites: list[str]
    method: Method
    input_hash: str


class SummaryReport(BaseModel):
    """What a summarisation pass did; ``status`` is the stage status for the index manifest."""

    status: StageStatus
    computed: list[str] = Field(default_factory=list, description="node ids summarised in this pass")
    reused: list[str] = Field(default_factory=list, description="node ids whose inputs had not changed")
    methods: dict[str, int] = Field(default_factory=dict)
    llm_failures: dict[str, str] = Field(default_factory=dict, description="node id -> error (fell back)")


# -------------------------------------------------------------------------------------------- graph access


def level_of(node_id: str) -> str:
    """``"video"``, ``"event"``, ``"scene"`` or ``"shot"`` from a stable node id."""
    return node_id.split(":", 1)[0]


def leaf_text(node: Node) -> str:
    """The text of a shot: caption, transcript excerpt and on-screen text, labelled, in that order."""
    parts = []
    for field, label in LEAF_FIELDS:
        value = getattr(node, field, None)
        if value and str(value).strip():
            parts.append(f"{label}: {' '.join(str(value).split())}")
    return "\n".join(parts)


def _fmt_span(node: Node) -> str:
    return f"{node.start:.1f}-{node.end:.1f} s"


def child_items(graph: VideoGraph, node_id: str, token_budget: int) -> list[dict[str, Any]]:
    """``[{id, span, text}]`` of ``node_id``'s children in time order, texts cut to share ``token_budget``."""
    items = []
    for child in graph.children(node_id):
        node = graph.node(child)
        if node.level == "shot":
            text = leaf_text(node)
        elif summary_method(graph, child) == "structural":
            text = ""  # "nothing is known here" is not evidence for the parent
        else:
            text = node.summary or ""
        items.append({"id": child, "span": _fmt_span(node), "text": text})
    if items:
        per_child = max(8, token_budget // len(items))
        for item in items:
            item["text"] = truncate_to_tokens(item["text"], per_child)
    return items


# ------------------------------------------------------------------------------------------------ the pass


def method_for(client: LLMClient | None) -> str:
    """``llm:<model>`` or ``extractive`` (what the cache key and input hashes use)."""
    return f"llm:{client.model}" if client is not None else "extractive"


def cache_key_parts(config: SummaryConfig, llm: LLMConfig) -> dict[str, Any]:
    """Everything that changes the summaries (the stage also depends on the captions/ASR/OCR stage keys)."""
    parts: dict[str, Any] = {
        "method": f"llm:{llm.model}" if llm.model else "extractive",
        "algorithm": ALGORITHM_VERSION,
        "max_words": config.max_words,
        "input_tokens": config.input_tokens,
    }
    if llm.model:
        parts["prompt"] = f"{PROMPT_NAME}@{load_prompt(PROMPT_NAME).version}"
        parts["temperature"] = llm.temperature
    return parts


def _input_hash(method: str, version: str, max_words: int, items: list[dict[str, Any]]) -> str:
    blob = json.dumps([method, version, max_words, items], sort_keys=True, ensure_ascii=False).encode()
    return hashlib.blake2b(blob, digest_size=10).hexdigest()


def _llm_summary(
    client: LLMClient, node_id: str, span: str, items: list[dict[str, Any]], max_words: int
) -> tuple[str, list[str]]:
    texted = [i for i in items if i["text"]]
    messages = render_prompt(
        PROMPT_NAME,
        SummaryVars,
        level=level_of(node_id),
        node_id=node_id,
        span=span,
        children=texted,
        max_words=max_words,
    )
    allowed = [i["id"] for i in texted]
    draft, _call = client.complete_structured(
        messages,
        SummaryDraft,
        purpose=f"summary {node_id}",
        decoding_schema=decoding_schema(SummaryDraft, ids={"cites": allowed}),  # no made-up ids
    )
    cites = [c for c in dict.fromkeys(draft.cites) if c in allowed]
    dropped = set(draft.cites) - set(cites)
    if dropped:
        log.info("summary of %s: dropped cites that are not its children: %s", node_id, sorted(dropped))
    if not cites:
        cites = allowed
    return draft.summary.strip(), cites


def _structural(graph: VideoGraph, node_id: str, span: str, items: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """What the structure alone says: how many events/scenes/shots the node spans."""
    name = "The video" if node_id == "video" else f"The {level_of(node_id)} {node_id}"
    counts = []
    for level in ("event", "scene", "shot"):
        n = len(graph.descendants(node_id, level))
        if n:
            counts.append(f"{n} {level}{'' if n == 1 else 's'}")
    parts = ", ".join(counts) or "no smaller parts"
    return (
        f"{name} ({span}) has {parts}; no captions, speech or on-screen text are available for it.",
        [i["id"] for i in items],
    )


def _prepare(
    graph: VideoGraph, node_id: str, config: SummaryConfig, client: LLMClient | None
) -> tuple[list[dict[str, Any]], str]:
    """The node's child items and the hash of everything its summary depends on."""
    items = child_items(graph, node_id, config.input_tokens)
    version = load_prompt(PROMPT_NAME).version if client is not None else ALGORITHM_VERSION
    return items, _input_hash(method_for(client), version, config.max_words, items)


#: failures that say the LLM cannot answer now (not just that one reply was bad): the pass stops asking it
_UNAVAILABLE = (LLMTimeout, LLMTransientError, LLMNotConfigured, LLMFormatUnsupported)


class LLMGate:
    """Whether a summarisation pass still asks the LLM: closed, with the reason, after the first failure that
    says it cannot answer (timeout, unreachable, rejected), so a dead server costs one timeout, not one per
    node."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.closed: str | None = None

    def close(self, reason: str) -> None:
        with self._lock:
            if self.closed is None:
                self.closed = reason
                log.warning("summaries: not asking the LLM again in this pass (%s)", reason)


def summarize_node(
    graph: VideoGraph,
    node_id: str,
    config: SummaryConfig,
    client: LLMClient | None = None,
    *,
    prepared: tuple[list[dict[str, Any]], str] | None = None,
    gate: LLMGate | None = None,
) -> tuple[NodeSummary, str | None]:
    """Summarise one node from its children's current text; returns the summary and the LLM error when it fell
    back to an extractive summary. Does not write to the graph. A closed ``gate`` skips the LLM."""
    items, digest = prepared or _prepare(graph, node_id, config, client)
    span = _fmt_span(graph.node(node_id))
    error = None
    method: Method
    if not any(i["text"] for i in items):
        (text, cites), method = _structural(graph, node_id, span, items), "structural"
    else:
        method = "extractive"
        text, cites = "", []
        if client is not None and gate is not None and gate.closed:
            error = f"skipped: {gate.closed}"
        elif client is not None:
            try:
                text, cites = _llm_summary(client, node_id, span, items, config.max_words)
                method = "llm"
            except LLMError as e:
                error = f"{type(e).__name__}: {e}"
                log.warning("LLM summary of %s failed (%s); using an extractive summary", node_id, error)
                if gate is not None and isinstance(e, _UNAVAILABLE):
                    gate.close(f"the LLM failed on {node_id}: {type(e).__name__}")
        if method == "extractive":
            text, cites = extractive_summary(items, config.max_words)
    return NodeSummary(node_id=node_id, summary=text, cites=cites, method=method, input_hash=digest), error


def summarize_graph(
    graph: VideoGraph,
    config: SummaryConfig,
    llm: LLMConfig | None = None,
    *,
    client: LLMClient | None = None,
    force: bool = False,
) -> SummaryReport:
    """Write summaries on every scene, event and the video node, bottom-up; nodes whose inputs are unchanged
    are kept.

    ``client`` defaults to an ``LLMClient`` for ``llm`` when it names a model (no ``llm``: extractive
    summaries). ``force`` recomputes every node.
    """
    t0 = time.perf_counter()
    llm = llm or LLMConfig()
    if client is None and llm.configured:
        from vidreason.tools.llm.client import LLMClient

        client = LLMClient(llm)
    report = SummaryReport(status=StageStatus(name=STAGE_NAME, status="ok"))
    provenance: dict[str, dict[str, str]] = graph.meta.setdefault(META_KEY, {})
    gate = LLMGate()
    for level in LEVELS:
        todo = []
        for node_id in graph.nodes(level):
            prepared = _prepare(graph, node_id, config, client)
            stored = provenance.get(node_id, {})
            if not force and stored.get("hash") == prepared[1] and graph.node(node_id).summary:
                report.reused.append(node_id)
            else:
                todo.append((node_id, prepared))
        workers = llm.max_concurrency if client is not None else 1
        for node_id, (result, error) in _summarize_level(graph, todo, config, client, gate, workers):
            graph.annotate(node_id, summary=result.summary, citations=result.cites)
            provenance[node_id] = {"method": result.method, "hash": result.input_hash}
            report.computed.append(node_id)
            report.methods[result.method] = report.methods.get(result.method, 0) + 1
            if error:
                report.llm_failures[node_id] = error
    status = report.status
    status.wall_s = time.perf_counter() - t0
    status.models = {"summary": method_for(client)}
    status.params = cache_key_parts(config, llm)
    if client is None:
        status.status, status.reason = (
            "degraded",
            "no LLM configured: extractive summaries (VIDREASON_LLM unset)",
        )
    elif report.llm_failures:
        status.status = "degraded"
        status.reason = f"LLM failed on {len(report.llm_failures)} node(s); extractive summaries used there"
    if status.status == "degraded":
        log.warning("summaries: %s", status.reason)
    log.info("summaries: %d computed, %d reused (%s)", len(report.computed), len(report.reused), report.methods)
    return report


def _summarize_level(
    graph: VideoGraph,
    todo: list[tuple[str, tuple[list[dict[str, Any]], str]]],
    config: SummaryConfig,
    client: LLMClient | None,
    gate: LLMGate,
    workers: int,
) -> list[tuple[str, tuple[NodeSummary, str | None]]]:
    """Summaries of the nodes of one level (independent of each other), in order; up to ``workers`` at once,
    each in a copy of this context (the run's deadline and call recording reach the LLM client)."""

    def one(item: tuple[str, tuple[list[dict[str, Any]], str]]) -> tuple[str, tuple[NodeSummary, str | None]]:
        node_id, prepared = item
        return node_id, summarize_node(graph, node_id, config, client, prepared=prepared, gate=gate)

    if workers <= 1 or len(todo) <= 1:
        return [one(item) for item in todo]
    with ThreadPoolExecutor(max_workers=min(workers, len(todo)), thread_name_prefix="vidreason-summary") as pool:
        futures = [pool.submit(contextvars.copy_context().run, one, item) for item in todo]
        return [f.result() for f in futures]


def summary_method(graph: VideoGraph, node_id: str) -> str | None:
    """How ``node_id``'s summary was made (``llm``, ``extractive``, ``structural``); None if none."""
    return graph.meta.get(META_KEY, {}).get(node_id, {}).get("method")


__all__ = [
    "LEVELS",
    "LLMGate",
    "NodeSummary",
    "SummaryDraft",
    "SummaryReport",
    "SummaryVars",
    "approx_tokens",
    "cache_key_parts",
    "child_items",
    "extractive_summary",
    "leaf_text",
    "level_of",
    "summarize_graph",
    "summarize_node",
    "summary_method",
    "truncate_to_tokens",
]
