"""``inspect``: the evidence an answer may cite, each item labelled by its role: the *anchor* (where the searched
sub-event was found: its transcript lines, on-screen text or frames) and the *target* (what is read at the span
the answer is about: the next sentence, the text on screen then, the shots and keyframes there, summaries of the
part of the video asked about). A VLM looks at the target's keyframes when a captioner is configured. Every item
gets an id (ev1, ev2, ...) that answers cite."""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, Field

from vidreason.graphs.nodes.base import StepRecorder, plan_of, traced
from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import ReasonState
from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.core.plan import QuestionType
from vidreason.tools.core.results import CitationChannel
from vidreason.tools.index.views import TextItem, hierarchy_nodes, summary_item, text_items
from vidreason.tools.retrieval import planner_tools
from vidreason.tools.retrieval.occurrences import Occurrence

log = logging.getLogger(__name__)

KEYFRAMES = 4
MAX_ITEMS = 12
#: transcript lines nearest the target given to an LLM as context
CONTEXT_LINES = 8
Role = Literal["anchor", "target", "context"]


class Evidence(BaseModel):
    """One piece of evidence the answer may cite."""

    id: str = Field(pattern=r"^ev[0-9]+$")
    role: Role = "target"
    channel: CitationChannel
    start: float
    end: float
    frame_index: int = Field(ge=0)
    time: float
    node_id: str | None = None
    text: str | None = None
    speaker: str | None = None
    event: str | None = Field(None, description="the sub-event an anchor item belongs to")
    score: float = Field(0.0, description="how well it matches the searched sub-event (anchors, 0..1)")
    source: str | None = Field(None, description="id of the indexed item (speech:3, ocr@12.00:0, frame, ...)")


class _Collector:
    def __init__(self, ctx: Resources) -> None:
        self.index = ctx.index
        self.items: list[Evidence] = []
        self._seen: set[tuple[str, str]] = set()

    def text(self, it: TextItem, role: Role, *, event: str | None = None, score: float = 0.0) -> None:
        key = (role, it.id)
        if key in self._seen or len(self.items) >= 4 * MAX_ITEMS:
            return
        if role == "context" and any(e.source == it.id for e in self.items):
            return
        self._seen.add(key)
        fi = it.frame_index if it.frame_index is not None else self.index.frame_at((it.start + it.end) / 2)
        channel: CitationChannel = it.channel if it.channel in ("speech", "ocr", "caption", "summary") else "speech"
        self.items.append(
            Evidence(
                id="ev0",
                role=role,
                channel=channel,
                start=it.start,
                end=it.end,
                frame_index=fi,
                time=round(float(self.index.frame_times[fi]), 3),
                node_id=it.node_id,
                text=it.text,
                speaker=it.speaker,
                event=event,
                score=round(score, 4),
                source=it.id,
            )
        )

    def frame(self, f: planner_tools.FrameRef, role: Role, text: str | None = None) -> None:
        self.items.append(
            Evidence(
                id="ev0",
                role=role,
                channel="visual",
                start=f.time,
                end=f.time,
                frame_index=f.frame_index,
                time=round(f.time, 3),
                node_id=f.node_id,
                text=text,
                source="frame",
            )
        )


def _anchor_items(ctx: Resources, occ: Occurrence) -> list[TextItem]:
    """The indexed text items an occurrence rests on (its own text when they were read on demand)."""
    if occ.channel == "visual":
        return []
    by_id = {it.id: it for it in text_items(ctx.index, occ.channel)}  # type: ignore[arg-type]
    found = [by_id[i] for i in occ.item_ids if i in by_id]
    if found:
        return found
    first = occ.item_ids[0] if occ.item_ids else f"{occ.channel}@{occ.start:.2f}"
    return [TextItem(id=first, channel=occ.channel, start=occ.start, end=occ.end, text=occ.text)]


def _vlm_look(ctx: Resources, frames: list[planner_tools.FrameRef], rec: StepRecorder) -> tuple[str | None, list[int]]:
    """The configured VLM's description of the target's keyframes, and the frame indices it cites (frames are
    sent with their frame-table index drawn on them, NumPro); ``(None, [])`` without a VLM."""
    config = ctx.settings.captions
    if config.backend == "none":
        return None, []
    shown = [f for f in frames if f.thumbnail]
    if not shown:
        rec.note("VLM look skipped: the index has no thumbnails for the target span", public=False)
        return None, []
    try:
        from PIL import Image

        from vidreason.tools.captioning.base import caption_prompt, load_captioner
        from vidreason.tools.media.numpro import number_frames, numbering_instruction, parse_frame_citations

        captioner = load_captioner(config, ctx.index.models)
        numbers = [f.frame_index for f in shown]
        clip = number_frames(
            [Image.open(str(f.thumbnail)).convert("RGB") for f in shown], numbers, [f.time for f in shown]
        )
        prompt = caption_prompt(n_frames=len(clip), numbered=True) + "\n" + numbering_instruction(numbers)
        text = captioner.caption([clip], prompt)[0].strip() or None
        return text, parse_frame_citations(text or "", allowed=numbers)
    except (ConfigError, ModelUnavailable, OSError) as e:
        rec.degrade(f"VLM look at the target span failed ({type(e).__name__}: {e})")
        return None, []


def _inspect(state: ReasonState, ctx: Resources, rec: StepRecorder) -> dict[str, Any]:
    """Evidence items for the anchors and the target."""
    plan = plan_of(state)
    index = ctx.index
    target = state.get("target") or {"start": 0.0, "end": float(index.duration)}
    assignment = state.get("assignment") or {}
    rec.inputs = {"target": {k: target.get(k) for k in ("start", "end", "found")}, "read": plan.target.read}
    out = _Collector(ctx)
    occurrences = {k: Occurrence.model_validate(v) for k, v in (assignment.get("occurrences") or {}).items()}
    all_occurrences = plan.question_type is QuestionType.COUNTING or plan.answer_form.value == "count"
    for event_id, occ in occurrences.items():
        for it in _anchor_items(ctx, occ):
            out.text(it, "anchor", event=event_id, score=occ.score)
    if all_occurrences:  # counting: every occurrence is evidence
        for event_id, search in (state.get("searches") or {}).items():
            for raw in search.get("occurrences") or []:
                occ = Occurrence.model_validate(raw)
                for it in _anchor_items(ctx, occ):
                    out.text(it, "target", event=event_id, score=occ.score)
    for raw in (target.get("items") or [])[:MAX_ITEMS]:
        out.text(TextItem.model_validate(raw), "target")
    if plan.question_type is QuestionType.SUMMARY:
        node_id = target.get("node_id")
        nodes = {n.node_id: n for n in hierarchy_nodes(index)}
        wanted = [nodes[node_id]] if node_id in nodes else [nodes["video"]] if "video" in nodes else []
        if plan.target.kind == "video":
            wanted += [n for n in nodes.values() if n.level == "event"][:MAX_ITEMS]
        for node in wanted:
            if node.summary:
                out.text(summary_item(node), "target")
    t0, t1 = float(target.get("start", 0.0)), float(target.get("end", 0.0))
    if ctx.llm is not None:  # an LLM may read more than the search found: the lines around the target
        near = sorted(text_items(index, "speech"), key=lambda it: abs((it.start + it.end) / 2 - (t0 + t1) / 2))
        for it in sorted(near[:CONTEXT_LINES], key=lambda it: it.start):
            out.text(it, "context")
    frames = rec.tool("frames", planner_tools.frames, (t0, max(t0, t1)), n=KEYFRAMES)
    look, cited = _vlm_look(ctx, frames, rec) if "visual" in plan.target.read or not plan.target.read else (None, [])
    described = (set(cited) or {frames[0].frame_index}) if frames else set()
    for f in frames:
        out.frame(f, "target", text=look if look and f.frame_index in described else None)
    for k, e in enumerate(out.items, start=1):
        e.id = f"ev{k}"
    return {"evidence": [e.model_dump(mode="json") for e in out.items]}


inspect = traced("inspect", _inspect)

__all__ = ["Evidence", "inspect"]
