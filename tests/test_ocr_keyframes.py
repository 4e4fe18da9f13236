"""OCR: rapidocr on rendered text, and deduplication across consecutive keyframes."""

from __future__ import annotations

import numpy as np
import pytest

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.ocr.rapid import Detection, dedup_detections, normalize_text, run_ocr

BOX = [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]]


def _det(text: str, score: float = 0.9) -> Detection:
    return Detection(text, BOX, score)


def _render(text: str) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (420, 120), (255, 255, 255))
    ImageDraw.Draw(img).text((20, 30), text, fill=(0, 0, 0), font=ImageFont.load_default(size=48))
    return np.asarray(img)


def test_normalize_text() -> None:
    assert normalize_text("  Hello\tWORLD ") == normalize_text("helloworld") == "helloworld"
    assert normalize_text("Ｆｕｌｌ") == "full"  # NFKC


def test_dedup_merges_consecutive_and_splits_on_absence() -> None:
    per_frame = [
        (0, 0.0, [_det("BREAKING NEWS", 0.8), _det("Score 1-0")]),
        (5, 2.0, [_det("Breaking News", 0.95), _det("Score 1-0")]),
        (10, 4.0, [_det("BREAKING NEWS"), _det("Score 2-0")]),
        (15, 6.0, []),
        (20, 8.0, [_det("Score 2-0")]),
    ]
    items = dedup_detections(per_frame)
    spans = [(normalize_text(i.text), i.start, i.end) for i in items]
    assert spans == [
        ("breakingnews", 0.0, 4.0),
        ("score1-0", 0.0, 2.0),
        ("score2-0", 4.0, 4.0),
        ("score2-0", 8.0, 8.0),
    ]
    news = items[0]
    assert news.score == 0.95 and news.frame_index == 5 and news.text == "Breaking News"  # best reading kept


def test_dedup_tolerates_small_reading_noise_and_duplicates_in_a_frame() -> None:
    items = dedup_detections(
        [
            (0, 0.0, [_det("Chapter 12: Results"), _det("Chapter 12: Results")]),
            (1, 1.0, [_det("Chapter 12: Resu1ts")]),
        ]
    )
    assert len(items) == 1 and (items[0].start, items[0].end) == (0.0, 1.0)


def test_ocr_reads_rendered_text_and_dedups() -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    hello, blank = _render("HELLO 2024"), np.full((120, 420, 3), 255, np.uint8)
    items = run_ocr([(0, 0.0, hello), (4, 1.0, hello), (8, 2.0, blank)], min_score=0.5)
    assert [normalize_text(i.text) for i in items] == ["hello2024"], items
    assert (items[0].start, items[0].end, items[0].frame_index) == (0.0, 1.0, 0)
    assert len(items[0].box) == 4 and 0.5 <= items[0].score <= 1.0
    with pytest.raises(ConfigError, match="uint8"):
        run_ocr([(0, 0.0, np.zeros((10, 10), np.uint8))])
