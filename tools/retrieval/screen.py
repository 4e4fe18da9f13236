"""On-screen text read on demand, for indexes built without the OCR stage (the CPU ``fast`` profile): OCR of
the few frames a question needs, kept in the index's memo for the next questions.

    items, note = read_screen(index, 12.0, 15.5)     # the text seen in that span (TextItems, channel "ocr")
    items, note = scan_screen(index)                  # the whole video, when it is short enough
"""

from __future__ import annotations

import logging
import math

import numpy as np

from vidreason.tools.core.errors import ModelUnavailable, VideoOpenError
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.index.views import TextItem, text_items

log = logging.getLogger(__name__)

#: frames read per span, at most
SPAN_FRAMES = 4
#: videos up to this long may be scanned whole (seconds), one frame every SCAN_INTERVAL_S
SCAN_MAX_S = 300.0
SCAN_INTERVAL_S = 2.0


def indexed(index: VideoIndex) -> bool:
    """Whether the index has an OCR stage (whose items are the on-screen text channel)."""
    return index.get("ocr") is not None if hasattr(index, "get") else False


def _read(index: VideoIndex, times: list[float]) -> list[TextItem]:
    from vidreason.tools.media.video import frames_at
    from vidreason.tools.ocr.rapid import dedup_detections, get_engine, read_frame

    memo: dict[float, list] = index.memo.setdefault("screen_frames", {})
    todo = [t for t in times if round(t, 2) not in memo]
    if todo:
        engine = get_engine(index.models)
        config = index.settings.ocr
        side = min(config.short_side, index.info.width, index.info.height)  # never upscale for OCR
        for want, _, frame in frames_at(index.path, todo, short_side=side):
            memo[round(want, 2)] = read_frame(frame, min_score=config.min_score, engine=engine)
        for t in todo:  # past the end: nothing to read
            memo.setdefault(round(t, 2), [])
    per_frame = [(index.frame_at(t), t, memo.get(round(t, 2), [])) for t in sorted(times)]
    items = dedup_detections(per_frame)
    step = (max(times) - min(times)) / max(1, len(times) - 1) if len(times) > 1 else 1.0
    return [
        TextItem(
            id=f"ocr@{it.start:.2f}:{k}",
            channel="ocr",
            start=it.start,
            end=min(max(it.end, it.start + step), float(index.duration)),
            text=it.text,
            frame_index=it.frame_index,
        )
        for k, it in enumerate(items)
    ]


def screen_lines(items: list[TextItem]) -> list[TextItem]:
    """Text boxes seen over the same frames joined into one line each ("BERLIN" + "OFFICE" -> "BERLIN OFFICE"),
    in reading order, so a slide's text is matched and quoted as a whole."""
    groups: dict[tuple[float, float], list[TextItem]] = {}
    for it in items:
        groups.setdefault((round(it.start, 2), round(it.end, 2)), []).append(it)
    out = []
    for parts in groups.values():
        first = parts[0]
        text = " ".join(p.text for p in parts)
        out.append(first.model_copy(update={"text": text, "id": "+".join(p.id for p in parts)}))
    return sorted(out, key=lambda it: (it.start, it.end))


def read_screen(index: VideoIndex, start: float, end: float, n: int = SPAN_FRAMES) -> tuple[list[TextItem], str]:
    """On-screen text in ``[start, end]``: the OCR stage's items when the index has them, else OCR of ``n``
    frames spread over the span. The note says which (for the trace)."""
    if indexed(index):
        found = [it for it in text_items(index, "ocr") if it.start <= end and it.end >= start]
        return screen_lines(found), "on-screen text from the OCR stage"
    end = max(end, start)
    times = list(np.linspace(start, end, n)) if end - start > 0.2 and n > 1 else [(start + end) / 2]
    try:
        items = _read(index, [float(t) for t in times])
    except (ModelUnavailable, VideoOpenError) as e:
        return [], f"on-screen text could not be read on demand ({e})"
    return screen_lines(items), f"OCR was not indexed: read {len(times)} frame(s) of {start:.1f}-{end:.1f}s on demand"


def scan_screen(index: VideoIndex) -> tuple[list[TextItem], str]:
    """All on-screen text of the video: the OCR stage's items, or an on-demand scan of short videos."""
    if indexed(index):
        return screen_lines(text_items(index, "ocr")), "on-screen text from the OCR stage"
    duration = float(index.duration)
    if duration > SCAN_MAX_S:
        return [], (
            f"on-screen text is not indexed and the video is too long to scan on demand ({duration:.0f}s > "
            f"{SCAN_MAX_S:.0f}s): index with --set ocr_enabled=true"
        )
    n = max(1, math.ceil(duration / SCAN_INTERVAL_S))
    times = [min(duration - 0.05, (k + 0.5) * duration / n) for k in range(n)]
    try:
        items = _read(index, times)
    except (ModelUnavailable, VideoOpenError) as e:
        return [], f"on-screen text could not be read on demand ({e})"
    return screen_lines(items), f"OCR was not indexed: scanned {n} frame(s) on demand"


__all__ = ["indexed", "read_screen", "scan_screen", "screen_lines"]
