"""On-screen text from keyframes (rapidocr-onnxruntime, PP-OCRv4 Chinese + English), deduplicated over time.

    items = run_ocr([(frame_index, time_s, rgb_frame), ...])   # -> list[OcrItem], sorted by start time

The same text (normalised: NFKC, case-folded, whitespace removed; near-identical readings merge) seen in
consecutive keyframes becomes one item whose ``start``/``end`` span those keyframes. Detections below
``min_score`` are dropped. The engine is loaded once per model registry.
"""

from __future__ import annotations

import difflib
import itertools
import logging
import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.core.media import OcrItem
from vidreason.tools.core.models import ModelKey, ModelRegistry, default_registry

log = logging.getLogger(__name__)

ENGINE_ID = "rapidocr-onnxruntime/PP-OCRv4"
Keyframe = tuple[int, float, np.ndarray]
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Detection:
    """One text box read in one frame."""

    text: str
    box: list[list[float]]
    score: float


def normalize_text(text: str) -> str:
    """The key under which readings of the same text are merged."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text).casefold())


def load_engine() -> Any:
    """A RapidOCR engine (load it through :func:`get_engine` to hold one per registry)."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as e:
        raise ModelUnavailable("OCR needs rapidocr-onnxruntime: `pip install rapidocr-onnxruntime`") from e
    t0 = time.perf_counter()
    engine = RapidOCR()
    log.info("loaded RapidOCR (PP-OCRv4 ONNX) in %.1f s", time.perf_counter() - t0)
    return engine


def get_engine(models: ModelRegistry | None = None) -> Any:
    """The RapidOCR engine of ``models`` (the process-wide registry by default), loaded once."""
    return (models or default_registry()).get(ModelKey("ocr", ENGINE_ID), load_engine)


def read_frame(frame: np.ndarray, *, min_score: float = 0.6, engine: Any = None) -> list[Detection]:
    """Text boxes in one uint8 RGB ``[H, W, 3]`` frame with score >= ``min_score``."""
    if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
        raise ConfigError(f"OCR frame must be uint8 [H, W, 3] RGB, got {frame.dtype} {frame.shape}")
    engine = engine or get_engine()
    # RapidOCR takes arrays as BGR; the angle classifier is skipped (overlay text is upright)
    result, _ = engine(np.ascontiguousarray(frame[..., ::-1]), use_cls=False)
    out = []
    for box, text, score in result or []:
        text = str(text).strip()
        if text and float(score) >= min_score:
            out.append(Detection(text, [[float(x), float(y)] for x, y in box], float(score)))
    return out


@dataclass
class _Open:
    key: str
    item: OcrItem
    seen_at: int  # position of the last keyframe that showed it
    order: int  # creation order (ties in start time keep reading order)
    readings: dict[str, float] = field(default_factory=dict)  # text variant -> best score


def _same(a: str, b: str, threshold: float) -> bool:
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= threshold


def dedup_detections(
    per_frame: Iterable[tuple[int, float, list[Detection]]], *, similarity: float = 0.9
) -> list[OcrItem]:
    """Merge detections of the same text in consecutive keyframes into one :class:`OcrItem`.

    ``per_frame`` must be in time order: ``(frame_index, time_s, detections)``. A text absent from one
    keyframe and back in a later one gives two items. The item keeps the box and frame of its best-scoring
    reading and the most frequent (then best-scoring) spelling.
    """
    open_items: list[_Open] = []
    done: list[_Open] = []
    counter = itertools.count()
    for pos, (frame_index, t, detections) in enumerate(per_frame):
        still: list[_Open] = []
        for det in detections:
            key = normalize_text(det.text)
            match = next((o for o in open_items if o.seen_at == pos - 1 and _same(o.key, key, similarity)), None)
            if match is None:
                match = next((o for o in still if o.seen_at == pos and _same(o.key, key, similarity)), None)
                if match is not None:  # the same text twice in one frame: keep it once
                    continue
                item = OcrItem(text=det.text, start=t, end=t, frame_index=frame_index, box=det.box, score=det.score)
                still.append(_Open(key, item, pos, next(counter), {det.text: det.score}))
                continue
            open_items.remove(match)
            match.seen_at = pos
            match.item.end = t
            match.readings[det.text] = max(det.score, match.readings.get(det.text, 0.0))
            if det.score > match.item.score:
                match.item.score, match.item.box, match.item.frame_index = det.score, det.box, frame_index
            still.append(match)
        done.extend(open_items)  # not seen in this keyframe: closed
        open_items = still
    done.extend(open_items)
    for o in done:
        o.item.text = max(o.readings, key=lambda s: (o.readings[s], len(s)))
    return [o.item for o in sorted(done, key=lambda o: (o.item.start, o.order))]


def run_ocr(
    keyframes: Iterable[Keyframe], *, min_score: float = 0.6, similarity: float = 0.9, engine: Any = None
) -> list[OcrItem]:
    """OCR over keyframes ``(frame_index, time_s, rgb_frame)`` in time order; see the module doc."""
    t0 = time.perf_counter()
    engine = engine or get_engine()
    per_frame = []
    n = 0
    for frame_index, t, frame in keyframes:
        per_frame.append((int(frame_index), float(t), read_frame(frame, min_score=min_score, engine=engine)))
        n += 1
    items = dedup_detections(per_frame, similarity=similarity)
    log.info("OCR: %d keyframes -> %d text items in %.1f s", n, len(items), time.perf_counter() - t0)
    return items
