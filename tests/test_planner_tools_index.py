"""The planner tools over an indexed speech clip: read-only, typed, usable outside the graph."""

from __future__ import annotations

import pytest
from reason_helpers import TRAIN, WEATHER, reason_settings, shared_clip


@pytest.fixture(scope="module")
def index():
    from vidreason.tools.index.video_index import VideoIndex

    path, truth, cache = shared_clip()
    return VideoIndex.load(path, reason_settings(cache)), truth


def test_transcript_captions_ocr_by_span(index):
    from vidreason.tools.retrieval import planner_tools as pt

    idx, truth = index
    lines = pt.transcript(idx, (5.0, idx.duration))
    assert len(lines) == 1 and "noon" in lines[0].text.lower() and lines[0].channel == "speech"
    assert abs(lines[0].start - truth[TRAIN][0]) < 0.6
    assert len(pt.transcript(idx)) == 2
    assert pt.captions(idx) == [] and pt.ocr(idx) == []  # skipped stages give empty results


def test_frames_summary_zoom(index):
    from vidreason.tools.core.errors import ConfigError
    from vidreason.tools.retrieval import planner_tools as pt

    idx, _ = index
    refs = pt.frames(idx, (2.0, 8.0), n=3)
    assert len(refs) == 3 and all(2.0 <= r.time <= 8.0 for r in refs)
    assert [r.frame_index for r in refs] == sorted({r.frame_index for r in refs})
    root = pt.summary(idx, "video")
    assert root.level == "video" and root.end == pytest.approx(idx.duration, abs=0.1)
    kids = pt.zoom(idx, "video")
    assert kids and all(k.node_id in root.children for k in kids)
    with pytest.raises(ConfigError, match="no hierarchy node"):
        pt.summary(idx, "event:9999")
    with pytest.raises(ConfigError):
        pt.frames(idx, (3.0, 1.0))


def test_search_moments_and_ground_find_the_spoken_line(index):
    from vidreason.tools.core.plan import SubEvent
    from vidreason.tools.retrieval import planner_tools as pt

    idx, truth = index
    moments = pt.search_moments(idx, "weather sunny", channels=("speech",))
    assert moments[0].source == "speech" and "sunny" in (moments[0].text or "").lower()
    g = pt.ground(idx, SubEvent(id="e1", description=TRAIN, channels=["speech"]))
    best = g.spans[0]
    assert truth[TRAIN][0] - 0.6 <= best.start and best.end <= truth[TRAIN][1] + 0.6
    assert "speech" in g.curves and len(g.curves["speech"]) == len(g.curve_times)
    inside = pt.ground(idx, WEATHER, within=(0.0, 5.0))
    assert inside.spans and all(s.end <= 5.5 for s in inside.spans)
