"""NumPro frame numbering: the label is drawn in the chosen corner at a size relative to the frame, and cited
frame numbers are parsed back from VLM answers."""

from __future__ import annotations

import numpy as np
import pytest

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.media.numpro import (
    draw_frame_number,
    format_label,
    number_frames,
    numbering_instruction,
    parse_frame_citations,
)


def _changed_box(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(np.any(before != after, axis=2))
    return int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())


@pytest.mark.parametrize("corner", ["top_left", "top_right", "bottom_left", "bottom_right"])
def test_label_drawn_in_corner_only(corner: str) -> None:
    frame = np.full((180, 320, 3), 30, dtype=np.uint8)
    out = np.asarray(draw_frame_number(frame, 42, corner=corner))  # type: ignore[arg-type]
    y0, y1, x0, x1 = _changed_box(frame, out)
    assert (y0 == 0) == corner.startswith("top") and (y1 == 179) == corner.startswith("bottom")
    assert (x0 == 0) == corner.endswith("left") and (x1 == 319) == corner.endswith("right")
    assert (y1 - y0) < 180 * 0.3 and (x1 - x0) < 320 * 0.3  # a small box, not the whole frame
    assert np.array_equal(frame, np.full_like(frame, 30)), "the input frame must not be modified"


def test_label_has_text_and_background_colours() -> None:
    frame = np.zeros((240, 320, 3), dtype=np.uint8)
    out = np.asarray(draw_frame_number(frame, 7))
    box = out[200:, 260:].reshape(-1, 3)
    colours = {tuple(c) for c in box}
    assert (255, 255, 255) in colours  # the box background
    assert any(r > 150 and g < 100 and b < 100 for r, g, b in colours)  # red digits


def test_font_scales_with_frame_size() -> None:
    small = np.zeros((120, 160, 3), dtype=np.uint8)
    large = np.zeros((720, 1280, 3), dtype=np.uint8)
    hs = _changed_box(small, np.asarray(draw_frame_number(small, 123)))
    hl = _changed_box(large, np.asarray(draw_frame_number(large, 123)))
    height_small, height_large = hs[1] - hs[0], hl[1] - hl[0]
    assert height_large > 4 * height_small  # 6x the short side -> much taller label
    assert height_small >= 10  # still readable on a tiny frame


def test_timestamp_label_is_wider() -> None:
    frame = np.zeros((240, 320, 3), dtype=np.uint8)
    plain = _changed_box(frame, np.asarray(draw_frame_number(frame, 5)))
    timed = _changed_box(frame, np.asarray(draw_frame_number(frame, 5, 67.25)))
    assert timed[3] - timed[2] > plain[3] - plain[2]
    assert format_label(5, 67.25) == "5 | 1:07.2" or format_label(5, 67.25) == "5 | 1:07.3"


def test_number_frames_and_errors() -> None:
    frames = np.zeros((3, 60, 80, 3), dtype=np.uint8)
    out = number_frames(frames, [10, 11, 12], [5.0, 5.5, 6.0])
    assert len(out) == 3 and all(im.size == (80, 60) for im in out)
    assert not np.array_equal(np.asarray(out[0]), np.asarray(out[2]))  # different numbers drawn
    with pytest.raises(ConfigError, match="3 frames but 2"):
        number_frames(frames, [1, 2])
    with pytest.raises(ConfigError, match="corner"):
        draw_frame_number(frames[0], 1, corner="middle")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="uint8"):
        draw_frame_number(np.zeros((60, 80), dtype=np.float32), 1)
    assert "frames 10 to 12" in numbering_instruction([10, 11, 12])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The dog jumps in frame 12.", [12]),
        ("See Frame #7 and frame 9", [7, 9]),
        ("It happens in frames 3-5, then again in frames 10, 11 and 14.", [3, 4, 5, 10, 11, 14]),
        ("between frames 20 to 22", [20, 21, 22]),
        ("[frame 4] a man opens the door [frame 6]", [4, 6]),
        ("Answer: [12]", [12]),
        ("f3 and F4", [3, 4]),
        ("There are 12 people and 3 cars.", []),
        ("In the frame, 2 dogs", []),
    ],
)
def test_parse_frame_citations(text: str, expected: list[int]) -> None:
    assert parse_frame_citations(text) == expected


def test_parse_drops_numbers_not_shown() -> None:
    assert parse_frame_citations("frames 3, 4 and 99", allowed=[3, 4, 5]) == [3, 4]
    assert parse_frame_citations("[7]", bare_brackets=False) == []
    assert parse_frame_citations("frames 1-5000") == []  # absurd range ignored
