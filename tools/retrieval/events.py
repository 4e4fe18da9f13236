"""Finding one sub-event in an indexed video, on every channel that can observe it, with absolute evidence:

* speech / on-screen text / captions: matching text items (``occurrences``);
* frames: TFVTG over the visual similarity curve, kept only when the visual channel has real weights and the
  span stands out from the rest of the video (z-score of its mean similarity).

A sub-event named on the visual channel is also looked for in the text channels (people say what they do,
captions describe it). ``EventSearch.found`` is False when nothing supports it, with what was searched and
what could not be, so the answer can say "not found in this video" instead of returning a confident span.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from vidreason.tools.core.plan import SubEvent
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.index.views import text_items
from vidreason.tools.retrieval.grounder import get_grounder, text_matcher
from vidreason.tools.retrieval.occurrences import Occurrence, find_in_items
from vidreason.tools.retrieval.screen import indexed, scan_screen, screen_lines

#: a visual span counts as evidence when its mean similarity is this many standard deviations above the video's
VISUAL_Z_MIN = 1.0
VISUAL_SPANS = 5


class EventSearch(BaseModel):
    """Where one sub-event occurs: every occurrence (time order), what was searched and why others were not."""

    event_id: str
    occurrences: list[Occurrence] = Field(default_factory=list)
    searched: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list, description="channels that could not be searched, and why")
    notes: list[str] = Field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.occurrences)

    @property
    def best(self) -> float:
        return max((o.score for o in self.occurrences), default=0.0)

    def ranked(self) -> list[Occurrence]:
        """Best first (ties: earlier first)."""
        return sorted(self.occurrences, key=lambda o: (-o.score, o.start))

    def pick(self, occurrence: str, nth: int | None) -> Occurrence | None:
        """The occurrence a question names: the first, last or n-th in time, else the best."""
        if not self.occurrences:
            return None
        timeline = sorted(self.occurrences, key=lambda o: o.start)
        if nth is not None:
            return timeline[nth - 1] if nth <= len(timeline) else None
        if occurrence == "first":
            return timeline[0]
        if occurrence == "last":
            return timeline[-1]
        return self.ranked()[0]


def _visual(index: VideoIndex, event: SubEvent, search: EventSearch, windows: list[tuple[float, float]] | None) -> None:
    grounder = get_grounder(index)
    why = grounder.available().get("visual")
    if why is not None:
        search.skipped.append(why)
        return
    curve = grounder.channel_curve("visual", event.description)
    if curve is None or len(curve) < 2:
        search.skipped.append("visual: no frame embeddings")
        return
    search.searched.append("visual")
    mean, std = float(curve.mean()), float(curve.std()) or 1e-6
    spans = []
    for window in windows or [None]:  # type: ignore[list-item]
        spans += grounder.ground(event.description, channels=["visual"], window=window).spans[:VISUAL_SPANS]
    times = index.frame_times
    for s in sorted(spans, key=lambda s: -s.score)[:VISUAL_SPANS]:
        sel = (times >= s.start) & (times <= s.end)
        if not sel.any():
            continue
        z = (float(curve[sel].mean()) - mean) / std
        if z >= VISUAL_Z_MIN:
            score = float(np.clip(0.5 + 0.15 * z, 0.0, 1.0))
            search.occurrences.append(
                Occurrence(start=s.start, end=s.end, score=round(score, 4), channel="visual", text="", hits=1)
            )


def find_event(index: VideoIndex, event: SubEvent, *, windows: list[tuple[float, float]] | None = None) -> EventSearch:
    """Every occurrence of ``event`` in the video (see the module doc); the frames are scored only inside
    ``windows`` when given (the coarse search of long videos)."""
    search = EventSearch(event_id=event.id)
    matcher = text_matcher(index)
    channels = list(event.channels)
    text_channels: list[str] = [c for c in ("speech", "ocr") if c in channels] or ["speech", "ocr"]
    if "visual" in channels:
        text_channels.append("caption")
    for channel in dict.fromkeys(text_channels):
        if channel == "ocr" and not indexed(index):
            if "ocr" not in channels:
                continue  # on-demand scans only for sub-events that are on-screen text
            items, note = scan_screen(index)
            search.notes.append(note)
        else:
            items = text_items(index, channel)  # type: ignore[arg-type]
            if channel == "ocr":
                items = screen_lines(items)
        if not items:
            if channel in channels:
                search.skipped.append(f"{channel}: nothing of this channel in the index")
            continue
        search.searched.append(channel)
        search.occurrences += find_in_items(matcher, event, items, channel)
    if "visual" in channels:
        _visual(index, event, search, windows)
    search.occurrences.sort(key=lambda o: (o.start, o.end))
    return search


__all__ = ["EventSearch", "find_event"]
