"""NumPro-style frame numbering: draw each frame's index (and optionally its time) on the frames sent to a
VLM, so the model can cite frames by number, and parse the frame numbers an answer cites.

The number drawn is the frame's index in the index's sampled-frame table (``frame_index``), so a cited number
maps straight back to a timestamp. The label sits in a filled box in one corner; its font size is a fraction
of the frame's short side so it stays readable after the VLM's own resizing.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vidreason.tools.core.errors import ConfigError

log = logging.getLogger(__name__)

Corner = Literal["top_left", "top_right", "bottom_left", "bottom_right"]
CORNERS: tuple[str, ...] = ("top_left", "top_right", "bottom_left", "bottom_right")
FrameLike = Image.Image | np.ndarray


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled scalable font (FreeType); the fixed bitmap font when FreeType is missing."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # pragma: no cover - Pillow built without FreeType
        log.warning("Pillow has no FreeType support: frame numbers use the small bitmap font")
        return ImageFont.load_default()


def to_pil(frame: FrameLike) -> Image.Image:
    """A uint8 ``[H, W, 3]`` RGB array (or a PIL image) as an RGB PIL image."""
    if isinstance(frame, Image.Image):
        return frame.convert("RGB") if frame.mode != "RGB" else frame
    arr = np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ConfigError(f"frame must be a uint8 [H, W, 3] RGB array; got dtype={arr.dtype} shape={arr.shape}")
    return Image.fromarray(arr, mode="RGB")


def format_label(number: int, timestamp: float | None = None) -> str:
    """``"12"`` or ``"12 | 0:07.5"``."""
    if timestamp is None:
        return str(number)
    minutes, seconds = divmod(max(0.0, float(timestamp)), 60.0)
    return f"{number} | {int(minutes)}:{seconds:04.1f}"


def draw_frame_number(
    frame: FrameLike,
    number: int,
    timestamp: float | None = None,
    *,
    corner: Corner = "bottom_right",
    font_fraction: float = 0.08,
    color: tuple[int, int, int] = (255, 0, 0),
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """A copy of ``frame`` with ``number`` (and ``timestamp``) drawn in a filled box in ``corner``.

    ``font_fraction`` is the text height as a fraction of the frame's short side (at least 10 px).
    """
    if corner not in CORNERS:
        raise ConfigError(f"corner={corner!r} is not allowed; allowed: {list(CORNERS)}")
    if not 0.0 < font_fraction <= 0.5:
        raise ConfigError(f"font_fraction={font_fraction} must be in (0, 0.5]")
    image = to_pil(frame).copy()
    w, h = image.size
    size = max(10, round(min(w, h) * font_fraction))
    font = _font(size)
    text = format_label(number, timestamp)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    tw, th = right - left, bottom - top
    pad = max(2, size // 5)
    bw, bh = tw + 2 * pad, th + 2 * pad
    x0 = 0 if corner.endswith("left") else max(0, w - bw)
    y0 = 0 if corner.startswith("top") else max(0, h - bh)
    draw.rectangle((x0, y0, x0 + bw - 1, y0 + bh - 1), fill=background)
    draw.text((x0 + pad - left, y0 + pad - top), text, fill=color, font=font)
    return image


def number_frames(
    frames: Sequence[FrameLike] | np.ndarray,
    numbers: Sequence[int],
    timestamps: Sequence[float] | None = None,
    **style: object,
) -> list[Image.Image]:
    """:func:`draw_frame_number` over a clip; ``numbers`` are the frames' indices in the frame table."""
    if len(frames) != len(numbers):
        raise ConfigError(f"{len(frames)} frames but {len(numbers)} frame numbers; they must match")
    if timestamps is not None and len(timestamps) != len(numbers):
        raise ConfigError(f"{len(timestamps)} timestamps for {len(numbers)} frames; they must match")
    out = []
    for i, (frame, n) in enumerate(zip(frames, numbers, strict=True)):
        ts = None if timestamps is None else float(timestamps[i])
        out.append(draw_frame_number(frame, int(n), ts, **style))  # type: ignore[arg-type]
    return out


def numbering_instruction(numbers: Sequence[int]) -> str:
    """A sentence for the prompt telling the VLM how frames are labelled and how to cite them."""
    if not numbers:
        return ""
    return (
        f"Each image shows its frame number in a box in a corner (frames {min(numbers)} to {max(numbers)}). "
        "When you refer to a moment, cite it as [frame N] using those numbers."
    )


_KEYWORD = r"(?:frames?|fr\.?|f)"
_NUM = r"\d{1,7}"
_RANGE = rf"{_NUM}\s*(?:-|–|—|to|through)\s*{_NUM}"
_ITEM = rf"(?:{_RANGE}|{_NUM})"
_LIST = rf"{_ITEM}(?:\s*(?:,|and|&|/|or)\s*(?:{_KEYWORD}\s*#?\s*)?{_ITEM})*"
_CITE_RE = re.compile(rf"\b{_KEYWORD}\s*#?\s*({_LIST})", re.IGNORECASE)
_BRACKET_RE = re.compile(r"\[\s*#?\s*(\d{1,7})\s*\]")
_ITEM_RE = re.compile(rf"({_NUM})\s*(?:(?:-|–|—|to|through)\s*({_NUM}))?", re.IGNORECASE)
_MAX_RANGE = 1000


def parse_frame_citations(text: str, allowed: Iterable[int] | None = None, *, bare_brackets: bool = True) -> list[int]:
    """Frame numbers cited in a VLM answer, sorted and unique.

    Understands ``frame 12``, ``Frame #12``, ``frames 3-5``, ``frames 3, 4 and 7``, ``f12`` and (with
    ``bare_brackets``) ``[12]``. Ranges are expanded (at most 1000 numbers). Numbers not in ``allowed`` (when
    given) are dropped, so a hallucinated frame number cannot become a citation.
    """
    found: set[int] = set()
    for match in _CITE_RE.finditer(text):
        for item in _ITEM_RE.finditer(match.group(1)):
            a = int(item.group(1))
            b = int(item.group(2)) if item.group(2) else a
            lo, hi = min(a, b), max(a, b)
            if hi - lo > _MAX_RANGE:
                log.warning("ignoring frame range %d-%d in a VLM answer: longer than %d", lo, hi, _MAX_RANGE)
                continue
            found.update(range(lo, hi + 1))
    if bare_brackets:
        found.update(int(m.group(1)) for m in _BRACKET_RE.finditer(text))
    if allowed is not None:
        allowed_set = {int(a) for a in allowed}
        dropped = found - allowed_set
        if dropped:
            log.info("dropping cited frame numbers not shown to the model: %s", sorted(dropped))
        found &= allowed_set
    return sorted(found)


__all__ = [
    "CORNERS",
    "draw_frame_number",
    "format_label",
    "number_frames",
    "numbering_instruction",
    "parse_frame_citations",
    "to_pil",
]
