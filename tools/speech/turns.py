"""Speaker turns applied to a transcript: ``speaker`` on every word and line, lines split where it changes."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from vidreason.tools.core.media import SpeakerTurn, Transcript, TranscriptSegment, Word


class TurnIndex:
    """Which speaker talks over a time span: the turn overlapping it most, else the nearest turn."""

    def __init__(self, turns: Sequence[SpeakerTurn]) -> None:
        self.turns = sorted(turns, key=lambda t: (t.start, t.end))
        self._ends = [t.end for t in self.turns]
        longest = max((t.end - t.start for t in self.turns), default=0.0)
        self._reach = longest

    def speaker(self, start: float, end: float) -> str | None:
        if not self.turns:
            return None
        end = max(end, start + 0.02)
        i = bisect.bisect_left(self._ends, start - self._reach)  # turns ending before this cannot overlap
        overlap: dict[str, float] = {}
        for t in self.turns[i:]:
            if t.start >= end:
                break
            o = min(end, t.end) - max(start, t.start)
            if o > 0:
                overlap[t.speaker] = overlap.get(t.speaker, 0.0) + o
        if overlap:
            return max(overlap, key=overlap.__getitem__)
        mid = (start + end) / 2
        j = bisect.bisect_left(self._ends, mid)
        near = [t for t in self.turns[max(0, j - 1) : j + 1]]
        return min(near, key=lambda t: min(abs(mid - t.start), abs(mid - t.end))).speaker


def label_transcript(transcript: Transcript, turns: Sequence[SpeakerTurn]) -> Transcript:
    """A copy of ``transcript`` with ``speaker`` on every word (the turn it overlaps most) and every line; a
    line whose words change speaker is split there (ids renumbered in time order)."""
    index = TurnIndex(turns)
    out: list[TranscriptSegment] = []
    for seg in transcript.segments:
        if not seg.words:
            out.append(seg.model_copy(update={"id": len(out), "speaker": index.speaker(seg.start, seg.end)}))
            continue
        words = [w.model_copy(update={"speaker": index.speaker(w.start, w.end)}) for w in seg.words]
        run: list[Word] = []
        for w in words:
            if run and w.speaker != run[-1].speaker:
                out.append(_part(seg, run, len(out)))
                run = []
            run.append(w)
        out.append(_part(seg, run, len(out)))
    return transcript.model_copy(update={"segments": out})


def _part(seg: TranscriptSegment, words: list[Word], idx: int) -> TranscriptSegment:
    probs = [w.probability for w in words if w.probability is not None]
    whole = len(words) == len(seg.words)
    return seg.model_copy(
        update={
            "id": idx,
            "start": seg.start if whole else words[0].start,
            "end": seg.end if whole else words[-1].end,
            "text": seg.text if whole else " ".join(w.text for w in words),
            "words": words,
            "speaker": words[0].speaker,
            "confidence": round(sum(probs) / len(probs), 4) if probs else seg.confidence,
        }
    )


__all__ = ["TurnIndex", "label_transcript"]
