"""``vidreason.VideoReasoner``: top-level export, ground (sync/async) with curves and degraded channels."""

from __future__ import annotations

import asyncio

import pytest
from reason_helpers import TRAIN, WEATHER, line_spoken, quotes, reason_settings, shared_clip


def test_top_level_export():
    import vidreason
    from vidreason.agent.reasoner import VideoReasoner

    assert vidreason.VideoReasoner is VideoReasoner


def test_ground_sync_and_async():
    from vidreason.agent.reasoner import VideoReasoner

    path, truth, cache = shared_clip()
    r = VideoReasoner(reason_settings(cache))
    g = r.ground(path, WEATHER)
    assert g.spans and g.spans[0].start < g.spans[0].end
    assert truth[WEATHER][0] - 0.6 <= g.spans[0].start and g.spans[0].end <= truth[WEATHER][1] + 0.6
    assert "speech" in g.curves and len(g.curve_times) == len(g.curves["speech"])
    assert any(d.startswith("visual") for d in g.degraded) and g.plan is not None
    ga = asyncio.run(r.aground(path, TRAIN))
    assert truth[TRAIN][0] - 0.6 <= ga.spans[0].start
    a = asyncio.run(r.aask(path, "what is said about the train?"))
    assert quotes(a.text, line_spoken(cache, path, truth[TRAIN])) and a.trace_id


def test_ground_rejects_empty_query():
    from vidreason.agent.reasoner import VideoReasoner
    from vidreason.tools.core.errors import InvalidQuestion

    path, _, cache = shared_clip()
    with pytest.raises(InvalidQuestion):
        VideoReasoner(reason_settings(cache)).ground(path, "  ")
