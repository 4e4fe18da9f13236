"""Chain-of-summary over the video hierarchy: shot captions + transcript + on-screen text -> scene summary ->
event summary -> video summary, each citing the child node ids it rests on.

Each summary is written by the LLM client when an LLM is configured (structured output
``{summary, cites}``, prompt ``prompts/summary.j2``), else extractively (the most central sentences by TF-IDF
cosine centrality, marked ``extractive``). A node with no text below it gets a ``structural`` summary that
says so. Inputs are cut to ``SummaryConfig.input_tokens`` (about 4 characters per token) per node.

Stored in the graph: each node's ``summary`` and ``citations`` slots, and per node in
``graph.meta["summaries"]`` the ``method`` (``llm`` / ``extractive`` / ``structural``) and ``hash`` (of the
node's inputs, the method and the prompt version). Re-running after a new stage (captions, OCR, ...)
recomputes only the nodes whose hash changed, bottom-up, so a changed shot re-summarises its scene, event and
the video, and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vidreason.tools.core.configs import LLMConfig, SummaryConfig
from vidreason.tools.core.errors import LLMError
from vidreason.tools.core.media import StageStatus
from vidreason.tools.core.prompting import PromptVars, load_prompt, render_prompt

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
LEAF_FIELDS: tuple[tuple[str, str], ...] = (
    ("caption", "Seen"),
    ("transcript", "Said"),
    ("ocr_text", "On screen"),
)


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


# ------------------------------------------------------------------------------------------------ extractive

_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_STOPWORDS = (
    "a an and are as at be but by for from has have he her his i in is it its of on or she that the their "
    "them they this to was we were what when where which who will with you your seen said screen"
)
_STOP = frozenset(_STOPWORDS.split())


def approx_tokens(text: str) -> int:
    """About 4 characters per token."""
    return math.ceil(len(text) / 4)


def truncate_to_tokens(text: str, tokens: int) -> str:
    """``text`` cut at a word boundary to about ``tokens`` tokens (4 chars each), with "..." when cut."""
    limit = max(1, tokens) * 4
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + " ..."


def _terms(sentence: str) -> list[str]:
    terms: list[str] = []
    for word in _WORD.findall(sentence.lower()):
        if _CJK.search(word):  # no spaces between CJK words: use character bigrams
            terms.extend(word[i : i + 2] for i in range(max(1, len(word) - 1)))
        elif len(word) > 1 and word not in _STOP:
            terms.append(word)
    return terms


def _word_count(text: str) -> int:
    return len(text.split()) + len(_CJK.findall(text)) // 2


def _sentences(items: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """``(item position, sentence)`` of the items' texts without their labels. What is said runs on across
    items (a sentence spoken over a cut is split between two shots), so it is joined before it is split into
    sentences; each sentence belongs to the item it starts in. Captions and on-screen text stay per item."""
    out: list[tuple[int, str]] = []
    spoken: list[tuple[int, str]] = []
    said = f"{dict(LEAF_FIELDS)['transcript']}:"
    for k, item in enumerate(items):
        for line in str(item["text"]).splitlines():
            label, sep, rest = line.partition(": ")
            if sep and f"{label}:" == said:
                spoken.append((k, rest.strip()))
            elif sep and label in {name for _, name in LEAF_FIELDS}:
                out += [(k, s.strip()) for s in _SENTENCE_END.split(rest) if s.strip()]
            elif line.strip():
                out += [(k, s.strip()) for s in _SENTENCE_END.split(line) if s.strip()]
    owner: list[int] = []
    text = ""
    for k, part in spoken:
        text += (" " if text else "") + part
        owner += [k] * (len(text) - len(owner))
    pos = 0
    for s in _SENTENCE_END.split(text):
        at = text.find(s, pos)
        if s.strip() and at >= 0:
            out.append((owner[min(at, len(owner) - 1)], s.strip()))
            pos = at + len(s)
    return sorted(out, key=lambda ks: ks[0])


def extractive_summary(items: list[dict[str, Any]], max_words: int) -> tuple[str, list[str]]:
    """The most central sentences of the items' texts (TF-IDF cosine centrality, near-duplicates skipped), in
    time order, within ``max_words``; cites are the ids of the items they come from."""
    sentences = _sentences(items)
    if not sentences:
        return "", []
    vocab: dict[str, int] = {}
    bags = [_terms(s) for _, s in sentences]
    for bag in bags:
        for t in bag:
            vocab.setdefault(t, len(vocab))
    tf = np.zeros((len(sentences), max(1, len(vocab))), dtype=np.float64)
    for i, bag in enumerate(bags):
        for t in bag:
            tf[i, vocab[t]] += 1.0
    df = (tf > 0).sum(axis=0)
    vec = tf * (np.log((1 + len(sentences)) / (1 + df)) + 1.0)
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    vec = np.divide(vec, norms, out=np.zeros_like(vec), where=norms > 0)
    sim = vec @ vec.T
    n = len(sentences)
    centrality = (sim.sum(axis=1) - np.diag(sim)) / max(1, n - 1) if n > 1 else np.ones(1)
    order = sorted(range(n), key=lambda i: (-centrality[i], i))
    picked: list[int] = []
    words = 0
    for i in order:
        w = _word_count(sentences[i][1])
        if picked and (words + w > max_words or max(sim[i, j] for j in picked) > 0.85):
            continue
        picked.append(i)
        words += w
        if words >= max_words:
            break
    picked.sort()
    text = " ".join(sentences[i][1] for i in picked)
    if _word_count(text) > max_words:
        text = " ".join(text.split()[:max_words]) + " ..."
    cites = list(dict.fromkeys(items[sentences[i][0]]["id"] for i in picked))
    return text, cites


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
    draft, _call = client.complete_structured(messages, SummaryDraft, purpose=f"summary {node_id}")
    allowed = [i["id"] for i in texted]
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


def summarize_node(
    graph: VideoGraph,
    node_id: str,
    config: SummaryConfig,
    client: LLMClient | None = None,
    *,
    prepared: tuple[list[dict[str, Any]], str] | None = None,
) -> tuple[NodeSummary, str | None]:
    """Summarise one node from its children's current text; returns the summary and the LLM error when it fell
    back to an extractive summary. Does not write to the graph."""
    items, digest = prepared or _prepare(graph, node_id, config, client)
    span = _fmt_span(graph.node(node_id))
    error = None
    method: Method
    if not any(i["text"] for i in items):
        (text, cites), method = _structural(graph, node_id, span, items), "structural"
    else:
        method = "extractive"
        text, cites = "", []
        if client is not None:
            try:
                text, cites = _llm_summary(client, node_id, span, items, config.max_words)
                method = "llm"
            except LLMError as e:
                error = f"{type(e).__name__}: {e}"
                log.warning("LLM summary of %s failed (%s); using an extractive summary", node_id, error)
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
    for level in LEVELS:
        for node_id in graph.nodes(level):
            prepared = _prepare(graph, node_id, config, client)
            stored = provenance.get(node_id, {})
            if not force and stored.get("hash") == prepared[1] and graph.node(node_id).summary:
                report.reused.append(node_id)
                continue
            result, error = summarize_node(graph, node_id, config, client, prepared=prepared)
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


def summary_method(graph: VideoGraph, node_id: str) -> str | None:
    """How ``node_id``'s summary was made (``llm``, ``extractive``, ``structural``); None if none."""
    return graph.meta.get(META_KEY, {}).get(node_id, {}).get("method")


__all__ = [
    "LEVELS",
    "NodeSummary",
    "SummaryDraft",
    "SummaryReport",
    "SummaryVars",
    "cache_key_parts",
    "child_items",
    "leaf_text",
    "level_of",
    "summarize_graph",
    "summarize_node",
    "summary_method",
]
