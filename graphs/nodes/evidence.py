"""``inspect``: collect the evidence for the target span (keyframes, transcript lines, captions, OCR,
summaries; a VLM look at the keyframes when a captioner is configured). Every item gets an id (ev1, ev2, ...)
that answers cite, the frame it points at, and how well it matches what the question looks for."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field

from vidreason.graphs.nodes.base import StepRecorder, plan_of, traced
from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import ReasonState
from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.core.plan import Plan, QuestionType
from vidreason.tools.core.results import CitationChannel
from vidreason.tools.index.views import TextItem, summary_item
from vidreason.tools.retrieval import planner_tools
from vidreason.tools.retrieval.grounder import text_matcher

log = logging.getLogger(__name__)

KEYFRAMES = 4
MAX_ITEMS_PER_CHANNEL = 8


class Evidence(BaseModel):
    """One piece of evidence the answer may cite."""

    id: str = Field(pattern=r"^ev[0-9]+$")
    channel: CitationChannel
    start: float
    end: float
    frame_index: int = Field(ge=0)
    time: float
    node_id: str | None = None
    text: str | None = None
    score: float = Field(0.0, description="text match with what the question looks for (0..1)")
    source: str | None = Field(None, description="id of the indexed item (speech:3, caption:shot:0002, ...)")


def query_texts(plan: Plan) -> list[str]:
    """What the evidence should match: the target's sub-events (all of them when the target is the video)."""
    refs = plan.target.refs or [e.id for e in plan.sub_events]
    texts = [t for r in refs for t in plan.sub_event(r).texts[:2]]
    return texts or plan.rewrites or [plan.question]


def _score_items(ctx: Resources, items: list[TextItem], texts: list[str]) -> list[float]:
    if not items:
        return []
    matcher = text_matcher(ctx.index)
    best = [0.0] * len(items)
    for t in texts:
        for i, s in enumerate(matcher.score(t, [it.text for it in items])):
            best[i] = max(best[i], float(s))
    return best


def _vlm_look(ctx: Resources, frames: list[planner_tools.FrameRef], rec: StepRecorder) -> tuple[str | None, list[int]]:
    """The configured VLM's description of the target's keyframes, and the frame indices it cites.

    Frames are sent with their frame-table index drawn on them (NumPro), so the VLM can name the frames it
    describes; ``(None, [])`` when no VLM is configured or it fails."""
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
    """Evidence items for the target span."""
    plan = plan_of(state)
    index = ctx.index
    target = state.get("target") or {"start": 0.0, "end": float(index.duration)}
    pad = max(0.5, 1.0 / ctx.settings.fps)
    span = (max(0.0, target["start"] - pad), min(float(index.duration), target["end"] + pad))
    if span[1] < span[0]:
        span = (target["start"], target["start"])
    texts = query_texts(plan)
    rec.inputs = {"target": target, "span": [round(span[0], 3), round(span[1], 3)], "match": texts}
    items: list[Evidence] = []

    def add(channel: CitationChannel, it: TextItem, score: float) -> None:
        mid = (max(it.start, span[0]) + min(it.end, span[1])) / 2 if it.end > it.start else it.start
        fi = it.frame_index if it.frame_index is not None else index.frame_at(mid)
        items.append(
            Evidence(
                id="ev0",
                channel=channel,
                start=it.start,
                end=it.end,
                frame_index=fi,
                time=round(float(index.frame_times[fi]), 3),
                node_id=it.node_id,
                text=it.text,
                score=round(score, 4),
                source=it.id,
            )
        )

    whole_video = plan.question_type is QuestionType.SUMMARY or plan.target.kind == "video"
    tools = [
        ("speech", planner_tools.transcript),
        ("caption", planner_tools.captions),
        ("ocr", planner_tools.ocr),
    ]
    for channel, tool in tools:
        found: list[TextItem] = rec.tool(tool.__name__, tool, span)
        scores = _score_items(ctx, found, texts)
        ranked = sorted(zip(found, scores, strict=True), key=lambda p: -p[1])[:MAX_ITEMS_PER_CHANNEL]
        for it, sc in sorted(ranked, key=lambda p: p[0].start):
            add(channel, it, sc)  # type: ignore[arg-type]
    if whole_video:
        root = rec.tool("summary", planner_tools.summary, "video")
        kids = rec.tool("zoom", planner_tools.zoom, "video")
        for node in [root, *kids][:MAX_ITEMS_PER_CHANNEL]:
            if node.summary:
                add("summary", summary_item(node), 1.0)
    frames = rec.tool("frames", planner_tools.frames, (target["start"], target["end"]), n=KEYFRAMES)
    look, cited = _vlm_look(ctx, frames, rec)
    described = (set(cited) or {frames[0].frame_index}) if frames else set()
    for f in frames:
        items.append(
            Evidence(
                id="ev0",
                channel="visual",
                start=f.time,
                end=f.time,
                frame_index=f.frame_index,
                time=round(f.time, 3),
                node_id=f.node_id,
                text=look if look and f.frame_index in described else None,
                score=0.0,
                source="frame",
            )
        )
    if not any(e.channel != "visual" for e in items):
        rec.note(
            "no transcript, caption or on-screen text in the target span: only frames can be cited",
            public=False,
        )
    for k, e in enumerate(items, start=1):
        e.id = f"ev{k}"
    return {"evidence": [e.model_dump(mode="json") for e in items]}


inspect = traced("inspect", _inspect)

__all__ = ["Evidence", "inspect", "query_texts"]
