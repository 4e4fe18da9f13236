"""Targets that are not searched by their own words but read off the timeline next to an anchor:

    next_speech(index, 12.0)               # the sentence that starts right after 12.0 s
    previous_speech(index, 12.0)           # the sentence that ends right before 12.0 s
    speech_during(index, 12.0, 15.0)       # what is said in a span
    shot_after(index, 12.0) / shot_before  # the neighbouring shot (what happens next / just before)

A "sentence" is a transcript item extended over the items that continue it (no sentence-final punctuation, and
a phrase of the same line or a gap under ``CONTINUE_GAP_S``), so "what is said right after X" quotes the rest of
the sentence, not a fragment.
"""

from __future__ import annotations

from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.index.views import NodeInfo, TextItem, hierarchy_nodes, same_line, text_items

#: a line continues the previous one when it starts within this many seconds and that one did not end a sentence
CONTINUE_GAP_S = 0.35
#: an item starting this much before a time still counts as "after" it (word timing jitter)
OVERLAP_TOL_S = 0.25
_END = (".", "!", "?", "。", "！", "？", "…")
#: the longest share of the video that still counts as its "start" or "end"
PART_MAX = 0.35


def _sentence(lines: list[TextItem], first: int, *, backwards: bool = False) -> list[TextItem]:
    """The line ``first`` plus the lines that continue it (forwards) or that it continues (backwards)."""
    out = [lines[first]]
    if backwards:
        k = first - 1
        while k >= 0 and not lines[k].text.rstrip().endswith(_END) and _continues(lines[k], out[0]):
            out.insert(0, lines[k])
            k -= 1
        return out
    k = first + 1
    while k < len(lines) and not out[-1].text.rstrip().endswith(_END) and _continues(out[-1], lines[k]):
        out.append(lines[k])
        k += 1
    return out


def _continues(a: TextItem, b: TextItem) -> bool:
    """``b`` goes on with what ``a`` says: a phrase of the same line, or a line that starts right after."""
    return same_line(a, b) or b.start - a.end <= CONTINUE_GAP_S


def _lines(index: VideoIndex, speaker: str | None) -> list[TextItem]:
    lines = text_items(index, "speech")
    return [it for it in lines if it.speaker == speaker] if speaker else lines


def next_speech(
    index: VideoIndex, t: float, *, skip: set[str] | None = None, speaker: str | None = None
) -> list[TextItem]:
    """The sentence said first after time ``t`` (lines in ``skip``, e.g. the anchor's own, are passed over),
    by ``speaker`` when given."""
    lines = _lines(index, speaker)
    for i, line in enumerate(lines):
        if line.start >= t - OVERLAP_TOL_S and line.id not in (skip or set()):
            return _sentence(lines, i)
    return []


def previous_speech(
    index: VideoIndex, t: float, *, skip: set[str] | None = None, speaker: str | None = None
) -> list[TextItem]:
    """The sentence said last before time ``t``, by ``speaker`` when given."""
    lines = _lines(index, speaker)
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].end <= t + OVERLAP_TOL_S and lines[i].id not in (skip or set()):
            return _sentence(lines, i, backwards=True)
    return []


def speakers(index: VideoIndex) -> list[str]:
    """The speaker labels of the transcript in the order their voices are first heard (empty: no labels)."""
    return list(dict.fromkeys(it.speaker for it in text_items(index, "speech") if it.speaker))


def speech_during(index: VideoIndex, start: float, end: float) -> list[TextItem]:
    """The lines said (at least partly) inside ``[start, end]``."""
    return [it for it in text_items(index, "speech") if it.end > start and it.start < end]


def _shots(index: VideoIndex) -> list[NodeInfo]:
    return [n for n in hierarchy_nodes(index) if n.level == "shot"]


def shot_at(index: VideoIndex, t: float) -> NodeInfo | None:
    """The shot that shows time ``t``."""
    return next((s for s in _shots(index) if s.start <= t < s.end), None) or (
        _shots(index)[-1] if _shots(index) and t >= _shots(index)[-1].start else None
    )


def shot_after(index: VideoIndex, t: float) -> NodeInfo | None:
    """The first shot that starts at or after ``t`` (what the video shows next)."""
    return next((s for s in _shots(index) if s.start >= t - OVERLAP_TOL_S), None)


def shot_before(index: VideoIndex, t: float) -> NodeInfo | None:
    """The last shot that ends at or before ``t``."""
    before = [s for s in _shots(index) if s.end <= t + OVERLAP_TOL_S]
    return before[-1] if before else None


def part_of_video(index: VideoIndex, which: str) -> tuple[float, float, NodeInfo | None]:
    """The span of the video's ``start`` or ``end``: its first or last event, or scene, when that is at most
    ``PART_MAX`` of the video; else its first or last fifth. Also the hierarchy node it is, if any."""
    duration = float(index.duration)
    nodes = hierarchy_nodes(index)
    for level in ("event", "scene"):
        parts = [n for n in nodes if n.level == level]
        if len(parts) > 1:
            node = parts[0] if which == "start" else parts[-1]
            if node.end - node.start <= PART_MAX * duration:
                return node.start, node.end, node
    fifth = duration / 5
    return (0.0, fifth, None) if which == "start" else (duration - fifth, duration, None)


__all__ = [
    "next_speech",
    "part_of_video",
    "previous_speech",
    "shot_after",
    "shot_at",
    "shot_before",
    "speakers",
    "speech_during",
]
