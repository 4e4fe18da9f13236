"""The span an answer is about and what is read there, from the plan's target and the moments chosen for its
sub-events: "right after X" -> the next sentence after X's moment (speech), the next shot (what is seen), the
text on screen then (read on demand when OCR was not indexed); "between X and Y", "while X", the start or the
end of the video.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from vidreason.tools.core.plan import Plan
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.index.views import NodeInfo, TextItem, hierarchy_nodes, text_items
from vidreason.tools.retrieval.screen import read_screen
from vidreason.tools.retrieval.timeline import (
    next_speech,
    part_of_video,
    previous_speech,
    shot_after,
    shot_before,
    speakers,
    speech_during,
)

#: how far after/before an anchor on-screen text is looked for when the target is "the text shown next" (s)
SCREEN_WINDOW_S = 4.0


class Moment(BaseModel):
    """A chosen moment of a sub-event: its span and the ids of the text items it rests on."""

    start: float
    end: float
    item_ids: list[str] = Field(default_factory=list)


class TargetSpan(BaseModel):
    """The target span, the items read in it (speech lines, on-screen text) and the shots it shows."""

    start: float
    end: float
    items: list[TextItem] = Field(default_factory=list)
    shots: list[NodeInfo] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    node_id: str | None = Field(None, description="the hierarchy node the span is (start/end of the video)")

    @property
    def read_nothing(self) -> bool:
        return not self.items and not self.shots


def _span(items: list[TextItem], fallback: tuple[float, float]) -> tuple[float, float]:
    if not items:
        return fallback
    return min(i.start for i in items), max(i.end for i in items)


def _shots_in(index: VideoIndex, start: float, end: float) -> list[NodeInfo]:
    return [n for n in hierarchy_nodes(index) if n.level == "shot" and n.end > start and n.start < end]


def _captions(index: VideoIndex, start: float, end: float) -> list[TextItem]:
    return [c for c in text_items(index, "caption") if c.end > start and c.start < end]


def _read_span(index: VideoIndex, read: Sequence[str], start: float, end: float, out: TargetSpan) -> None:
    """Fill ``out`` with what ``read`` names inside ``[start, end]``."""
    if "speech" in read or "speaker" in read:
        out.items += speech_during(index, start, end)
    if "ocr" in read:
        found, note = read_screen(index, start, end)
        out.items += found
        out.notes.append(note)
    if "visual" in read:
        out.shots += _shots_in(index, start, end)
        out.items += _captions(index, start, end)


def _who(index: VideoIndex, wanted: str | None, anchor: Moment, out: TargetSpan) -> tuple[str | None, set[str]]:
    """The speaker label a target reads (``wanted``: "other", "same" or a number) and the labels to pass over."""
    if not wanted:
        return None, set()
    voices = speakers(index)
    if not voices:
        out.notes.append("the transcript has no speaker labels (no diarization): read whoever speaks")
        return None, set()
    if wanted.isdigit():
        n = int(wanted)
        if n > len(voices):
            out.notes.append(f"only {len(voices)} speaker(s) are heard: there is no speaker {n}")
            return "\u2205", set()
        return voices[n - 1], set()
    mine = {it.speaker for it in text_items(index, "speech") if it.id in anchor.item_ids and it.speaker}
    return (next(iter(mine)) if wanted == "same" and mine else None), (mine if wanted == "other" else set())


def _relative(
    index: VideoIndex, kind: str, read: Sequence[str], anchor: Moment, out: TargetSpan, speaker: str | None = None
) -> None:
    """``after``/``before`` an anchor: the neighbouring sentence (of a given speaker), shot or on-screen text."""
    skip = set(anchor.item_ids)
    t = anchor.end if kind == "after" else anchor.start
    spans: list[tuple[float, float]] = []
    if "speech" in read or "speaker" in read:
        label, others = _who(index, speaker, anchor, out)
        skip |= {it.id for it in text_items(index, "speech") if it.speaker in others}
        if kind == "after":
            said = next_speech(index, t, skip=skip, speaker=label)
        else:
            said = previous_speech(index, t, skip=skip, speaker=label)
        out.items += said
        if said:
            spans.append(_span(said, (t, t)))
    if "visual" in read:
        shot = shot_after(index, t) if kind == "after" else shot_before(index, t)
        if shot is not None:
            out.shots.append(shot)
            out.items += _captions(index, shot.start, shot.end)
            spans.append((shot.start, shot.end))
    if "ocr" in read:
        lo, hi = (t, t + SCREEN_WINDOW_S) if kind == "after" else (max(0.0, t - SCREEN_WINDOW_S), t)
        shown, note = read_screen(index, lo, min(hi, float(index.duration)))
        during = {i.text for i in read_screen(index, anchor.start, anchor.end)[0]}
        fresh = [i for i in shown if i.text not in during] or shown
        out.items += fresh
        out.notes.append(note)
        if fresh:
            spans.append(_span(fresh, (lo, hi)))
    if spans:
        out.start, out.end = min(s for s, _ in spans), max(e for _, e in spans)


def resolve_target(index: VideoIndex, plan: Plan, chosen: dict[str, Moment]) -> TargetSpan:
    """The plan's target span and what it reads, given the moments chosen for its sub-events."""
    t = plan.target
    duration = float(index.duration)
    read = list(t.read)
    refs = [chosen[r] for r in t.refs if r in chosen]
    if t.kind in ("start", "end"):
        lo, hi, node = part_of_video(index, t.kind)
        out = TargetSpan(start=lo, end=hi, node_id=node.node_id if node else None)
        _read_span(index, read, lo, hi, out)
        return out
    if t.kind == "video" or not refs:
        out = TargetSpan(start=0.0, end=duration)
        _read_span(index, [r for r in read if r != "visual"], 0.0, duration, out)
        if t.speaker:  # "what does the second speaker say": that voice's lines
            label, _ = _who(index, t.speaker, Moment(start=0.0, end=0.0), out)
            if label is not None:
                out.items = [it for it in out.items if it.speaker == label]
            if out.items:
                out.start, out.end = min(i.start for i in out.items), max(i.end for i in out.items)
        return out
    first = refs[0]
    if t.kind in ("after", "before"):
        out = TargetSpan(start=first.end if t.kind == "after" else first.start, end=first.end)
        if t.kind == "before":
            out.end = first.start
        _relative(index, t.kind, read, first, out, t.speaker)
        return out
    if t.kind == "between" and len(refs) == 2:
        a, b = sorted(refs, key=lambda m: m.start)
        lo, hi = (a.end, b.start) if a.end <= b.start else (a.start, b.end)
        out = TargetSpan(start=lo, end=hi)
        _read_span(index, read, lo, hi, out)
        skip = {i for m in refs for i in m.item_ids}
        out.items = [i for i in out.items if i.id not in skip]
        return out
    lo = min(m.start for m in refs) if t.kind == "union" else first.start
    hi = max(m.end for m in refs) if t.kind == "union" else first.end
    out = TargetSpan(start=lo, end=hi)
    _read_span(index, read, lo, hi, out)
    return out


__all__ = ["Moment", "TargetSpan", "resolve_target"]
