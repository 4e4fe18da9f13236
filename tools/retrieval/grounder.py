"""Per-channel similarity curves for a text on an index, and TFVTG grounding over their weighted mix.

Channels (one value per frame of the index's frame table):

* ``visual``: cosine of each frame's CLIP image embedding (the ``embeddings`` stage) with the text embedded by
  the same open_clip model's text tower (from the index's model registry);
* ``speech`` / ``ocr`` / ``caption``: text-matching scores (``tools.text.match``: sentence embeddings
  fused with BM25) of transcript segments, OCR items and shot captions, spread over the frames each item
  covers.

A channel without data (stage skipped, no speech, ...) is left out and reported in ``Grounding.degraded``.
The visual curve is min-max rescaled before mixing (its absolute level depends on the model); text scores are
already in [0, 1] and mixed as they are. TFVTG's stride is defined for 3 fps, so it is scaled by ``fps / 3``;
curves made only of text items are piecewise constant with exact item boundaries, so they use stride 1 (or
``T / 400`` frames on long videos) to keep those boundaries, and are lifted to ``[TEXT_FLOOR, 1]``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vidreason.tools.core.configs import GroundingConfig
from vidreason.tools.core.errors import ConfigError, InvalidQuestion
from vidreason.tools.core.results import Grounding, ScoredSpan
from vidreason.tools.grounding import ground_query, mix_curves, spans_to_curve
from vidreason.tools.grounding.ood import pad_curve
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.index.views import artefact, text_items
from vidreason.tools.text.match import TextMatcher, load_text_matcher

log = logging.getLogger(__name__)

CHANNELS = ("visual", "speech", "ocr", "caption")
#: weight of a channel the sub-event names / does not name
NAMED_WEIGHT, OTHER_WEIGHT = 1.0, 0.25
#: TFVTG's stride is for 3 fps sampling
REFERENCE_FPS = 3.0
#: text-only curves are mapped to [TEXT_FLOOR, 1]: TFVTG masks values <= 0.2 and its static score needs
#: unmasked frames outside a window: without the floor a single matched line has no "outside" to compare with
TEXT_FLOOR = 0.21
#: items scoring at least this fraction of the best item are what a text-only span snaps to
SNAP_FRACTION = 0.5
#: matching items closer than this (seconds) join into one span
JOIN_GAP_S = 1.0


def text_matcher(index: VideoIndex) -> TextMatcher:
    """The text matcher of the index's settings, from its model registry."""
    return load_text_matcher(index.settings.text_match, index.models)


def _embeddings(index: VideoIndex) -> Any:
    """The index's frame embeddings (``FrameEmbeddings``), or None when the visual channel is off."""
    art = artefact(index, "embeddings")
    return art if art is not None and len(getattr(art, "vectors", ())) else None


def visual_curve(index: VideoIndex, text: str) -> np.ndarray | None:
    """Similarity of every table frame with ``text`` (None when the index has no frame embeddings).

    The text goes through the encoder the index's settings name, i.e. the one that embedded the frames (the
    embeddings stage's cache key holds those settings); CLIP gives cosines, BLIP-2 the max over query tokens."""
    from vidreason.tools.vision.factory import load_visual_encoder

    emb = _embeddings(index)
    if emb is None:
        return None
    encoder = load_visual_encoder(index.settings.vision, index.models)
    q = np.asarray(encoder.encode_texts([text]), dtype=np.float32)[0]
    return np.asarray(encoder.similarity(np.asarray(emb.vectors, dtype=np.float32), q), dtype=np.float32)


class Grounder:
    """Curves and TFVTG grounding for one index. Curves are cached per text."""

    def __init__(self, index: VideoIndex, config: GroundingConfig | None = None) -> None:
        self.index = index
        self.config = config or index.settings.grounding
        self._curves: dict[tuple[str, str], np.ndarray | None] = {}
        self._item_scores: dict[tuple[str, str], np.ndarray] = {}

    # ---- channels -------------------------------------------------------------------------------
    def available(self) -> dict[str, str | None]:
        """Channel -> None when it has data, else the reason it is off."""
        degraded = self.index.degraded
        out: dict[str, str | None] = {}
        emb = _embeddings(self.index)
        if emb is None:
            out["visual"] = f"visual: {degraded.get('embeddings', 'no frame embeddings in the index')}"
        elif emb.random_weights:  # meaningless scores: only used when a caller names the channel explicitly
            out["visual"] = "visual: random-weight embeddings (plumbing/benchmarks only)"
        else:
            out["visual"] = None
        for ch, stage in (("speech", "transcript"), ("ocr", "ocr"), ("caption", "captions")):
            if text_items(self.index, ch):  # type: ignore[arg-type]
                out[ch] = None
            else:
                tr = artefact(self.index, "transcript") if ch == "speech" else None
                why = getattr(tr, "reason", None) or degraded.get(stage) or f"no {stage} in the index"
                out[ch] = f"{ch}: {why}"
        return out

    def channel_curve(self, channel: str, text: str) -> np.ndarray | None:
        """One channel's curve for ``text`` (None when the channel has no data)."""
        if channel not in CHANNELS:
            raise ConfigError(f"unknown channel {channel!r}; allowed: {list(CHANNELS)}")
        key = (channel, text)
        if key not in self._curves:
            if channel == "visual":
                curve = visual_curve(self.index, text)
            else:
                items = text_items(self.index, channel)  # type: ignore[arg-type]
                if not items:
                    curve = None
                else:
                    matcher = text_matcher(self.index)
                    scores = np.clip(np.asarray(matcher.score(text, [it.text for it in items])), 0, None)
                    self._item_scores[key] = scores
                    curve = spans_to_curve(items, scores, self.index.frame_times)
            self._curves[key] = curve
        return self._curves[key]

    def weights(self, channels: Sequence[str] | None) -> dict[str, float]:
        """Mixing weight per available channel: channels the sub-event names get 1, the others 0.25.

        Random-weight frame embeddings count only when ``channels`` names ``visual`` explicitly."""
        avail = [c for c, why in self.available().items() if why is None]
        if channels is not None and "visual" in channels and "visual" not in avail and _embeddings(self.index):
            avail.append("visual")
        named = set(channels or CHANNELS)
        if "ocr" in named:
            named.add("caption")  # captions often transcribe on-screen text too
        return {c: NAMED_WEIGHT if c in named else OTHER_WEIGHT for c in avail}

    def curve(self, text: str, weights: Mapping[str, float]) -> np.ndarray:
        """The weighted mix of ``text``'s channel curves (zeros when no channel has data)."""
        parts, w = [], []
        for ch, wt in weights.items():
            c = self.channel_curve(ch, text)
            if c is None or wt <= 0:
                continue
            if ch == "visual":
                lo, hi = float(c.min()), float(c.max())
                c = (c - lo) / (hi - lo) if hi > lo else np.zeros_like(c)
            parts.append(c)
            w.append(wt)
        if not parts:
            return np.zeros(len(self.index.frame_times), dtype=np.float32)
        mixed = np.asarray(parts[0], dtype=np.float32) if len(parts) == 1 else mix_curves(parts, w, normalize="none")
        if weights.get("visual", 0) <= 0 or self.channel_curve("visual", text) is None:
            # text-only: lift into TFVTG's unmasked range so frames outside a matched item count as "outside"
            mixed = TEXT_FLOOR + (1.0 - TEXT_FLOOR) * np.clip(mixed, 0.0, 1.0)
        return np.asarray(mixed, dtype=np.float32)

    def strides(self, n_frames: int, weights: Mapping[str, float]) -> tuple[int, int]:
        """(stride, max_stride) in frames for a curve of ``n_frames`` frames."""
        if weights.get("visual", 0) > 0:
            stride = max(1, round(self.config.stride * self.config.fps / REFERENCE_FPS))
        else:
            stride = max(1, math.ceil(n_frames / 400))
        max_stride = max(stride, int(n_frames * self.config.max_stride_factor))
        return stride, max_stride

    def snap(self, text: str, weights: Mapping[str, float], start: float, end: float) -> tuple[float, float]:
        """Text-only spans snapped to the exact times of the matching items they cover (a frame-grid span
        ``[5, 9]`` over a line spoken from 6.0 to 8.3 s becomes ``[6.0, 8.3]``), then grown over adjacent
        matching items (gaps up to ``JOIN_GAP_S``): a sentence the transcript split into several lines is
        one moment."""
        hits: list[tuple[float, float]] = []
        matching: list[tuple[float, float]] = []
        for ch in weights:
            scores = self._item_scores.get((ch, text))
            if ch == "visual" or scores is None or not len(scores):
                continue
            floor = max(0.1, SNAP_FRACTION * float(scores.max()))
            for it, sc in zip(text_items(self.index, ch), scores, strict=False):  # type: ignore[arg-type]
                if sc < floor:
                    continue
                matching.append((it.start, it.end))
                if min(end, it.end) - max(start, it.start) >= 0.5 * max(it.end - it.start, 1e-6):
                    hits.append((it.start, it.end))
        if not hits:
            return start, end
        lo, hi = min(a for a, _ in hits), max(b for _, b in hits)
        for a, b in sorted(matching):  # forwards
            if lo - JOIN_GAP_S <= a <= hi + JOIN_GAP_S:
                hi = max(hi, b)
        for a, b in sorted(matching, key=lambda x: -x[1]):  # backwards
            if lo - JOIN_GAP_S <= b <= hi + JOIN_GAP_S:
                lo = min(lo, a)
        return round(lo, 3), round(hi, 3)

    # ---- grounding ------------------------------------------------------------------------------
    def ground(
        self,
        query: str,
        decomposition: Mapping[str, Any] | None = None,
        *,
        channels: Sequence[str] | None = None,
        window: tuple[float, float] | None = None,
        ood_pad: float = 0.0,
    ) -> Grounding:
        """TFVTG ``ground_query`` on the mixed curve (inside ``window`` seconds when given).

        ``ood_pad`` (evaluation only): prepend that many seconds of seeded noise to every curve, as TFVTG's
        out-of-distribution evaluation does; returned spans are then on the padded timeline."""
        query = query.strip()
        if not query:
            raise InvalidQuestion("the grounding query is empty")
        if len(query) > self.config.max_query_chars:
            raise InvalidQuestion(
                f"the query has {len(query)} characters; at most {self.config.max_query_chars} are allowed"
            )
        avail = self.available()
        weights = self.weights(channels)
        degraded = [why for ch, why in avail.items() if why is not None and (channels is None or ch in channels)]
        times = self.index.frame_times
        total = len(times)
        dt = self.index.duration / total if total else 0.0
        lo, hi = 0, total
        if window is not None:
            lo = int(np.searchsorted(times, window[0], side="left"))
            hi = max(lo + 1, int(np.searchsorted(times, window[1], side="right")))
            hi = min(hi, total)
            lo = min(lo, max(hi - 1, 0))
        n = hi - lo
        spans: list[ScoredSpan] = []
        source = "+".join(sorted(weights)) or "none"
        if n >= 2 and weights:
            stride, max_stride = self.strides(n, weights)
            duration = n * dt if window is not None else self.index.duration
            offset = lo * dt if window is not None else 0.0
            pad = ood_pad if window is None else 0.0

            def score_text(t: str) -> np.ndarray:
                c = self.curve(t, weights)[lo:hi]
                return pad_curve(c, duration, pad, seed=0)[0] if pad > 0 else c

            if pad > 0:
                stride, max_stride = self.strides(len(score_text(query)), weights)
            triples = ground_query(score_text, query, decomposition, duration + pad, stride, max_stride)
            seen: set[tuple[float, float]] = set()
            text_only = weights.get("visual", 0) <= 0 or self.channel_curve("visual", query) is None
            for s, e, c in triples:
                s2, e2 = round(offset + s - pad, 3), round(offset + e - pad, 3)
                if text_only:
                    s2, e2 = self.snap(query, weights, s2, e2)
                s2, e2 = round(s2 + pad, 3), round(e2 + pad, 3)
                if e2 <= s2 or (s2, e2) in seen:
                    continue
                seen.add((s2, e2))
                spans.append(
                    ScoredSpan(
                        start=s2,
                        end=min(e2, round(self.index.duration + pad, 3) or e2),
                        score=round(float(c), 4),
                        source=f"tfvtg:{source}",
                    )
                )
        elif not weights:
            degraded.append("grounding: no channel has data for this index; no spans")
        curves = {ch: self.channel_curve(ch, query) for ch in weights}
        out_curves = {ch: [round(float(v), 4) for v in c[lo:hi]] for ch, c in curves.items() if c is not None}
        if len(out_curves) > 1:
            out_curves["mixed"] = [round(float(v), 4) for v in self.curve(query, weights)[lo:hi]]
        return Grounding(
            query=query,
            spans=spans,
            curve_times=[round(float(t), 3) for t in times[lo:hi]],
            curves=out_curves,
            degraded=degraded,
        )


def get_grounder(index: VideoIndex) -> Grounder:
    """The grounder of ``index``, kept in the index's memo (curves are computed once per index)."""
    found = index.memo.get("grounder")
    if not isinstance(found, Grounder):
        found = index.memo["grounder"] = Grounder(index)
    return found


__all__ = ["CHANNELS", "Grounder", "get_grounder", "text_matcher", "visual_curve"]
