"""VideoGraph builder and queries: tiling invariants, stable ids, speech continuity, serialisation."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.media import Shot, Span, Transcript, TranscriptSegment, Word
from vidreason.tools.index.hierarchy import LEVELS, VideoGraph
from vidreason.tools.index.hierarchy_build import HierarchyParams, build_graph, segment, shot_keyframes, speech_bridges
from vidreason.tools.shots import tile_shots

ID = re.compile(r"^(video|(event|scene|shot):\d{4})$")


def _video(groups: list[list[float]], dim: int = 16, seed: int = 0):
    """Shots (lengths in s, grouped into visual 'places'), a 1 fps frame table and per-frame embeddings:
    frames of one place share a direction plus noise."""
    rng = np.random.default_rng(seed)
    lengths = [x for g in groups for x in g]
    cuts = np.cumsum(lengths)[:-1].tolist()
    duration = float(sum(lengths))
    times = np.arange(0, duration, 1.0)
    shots = tile_shots(cuts, times, duration)
    places = rng.normal(size=(len(groups), dim))
    owner = np.concatenate([[gi] * len(g) for gi, g in enumerate(groups)])
    emb = np.zeros((len(times), dim))
    for s in shots:
        emb[s.start_frame : s.end_frame + 1] = places[owner[s.index]] + 0.15 * rng.normal(size=dim)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return shots, duration, times, emb


def _check_tiling(g: VideoGraph) -> None:
    for nid in g.nodes():
        assert ID.match(nid)
        kids = g.children(nid)
        if g.level(nid) == "shot":
            assert not kids
            continue
        assert kids, nid
        node = g.node(nid)
        assert g.node(kids[0]).start == node.start and g.node(kids[-1]).end == node.end
        assert g.node(kids[0]).start_frame == node.start_frame and g.node(kids[-1]).end_frame == node.end_frame
        for a, b in itertools.pairwise(kids):
            assert g.node(a).end == g.node(b).start
        assert {g.level(k) for k in kids} == {LEVELS[LEVELS.index(g.level(nid)) + 1]}
    for lv in LEVELS[1:]:
        ids = g.nodes(lv)
        assert ids == [f"{lv}:{i:04d}" for i in range(len(ids))]
        assert all(g.next(a) == b and g.prev(b) == a for a, b in itertools.pairwise(ids))


def test_scenes_follow_visual_places_and_children_tile_parents() -> None:
    shots, duration, times, emb = _video([[4, 3, 5], [6, 4], [3, 3, 3, 4]])
    g = build_graph(shots, duration, times, embeddings=emb, params=HierarchyParams(event_min_len=10))
    _check_tiling(g)
    scenes = [[int(k.split(":")[1]) for k in g.children(s)] for s in g.scenes]
    assert scenes == [[0, 1, 2], [3, 4], [5, 6, 7, 8]]
    assert g.meta["visual"] == "embeddings" and g.meta["degraded"] is None
    assert g.node("video").end == duration and g.parent("video") is None


def test_ids_are_stable_across_rebuilds() -> None:
    shots, duration, times, emb = _video([[4, 3], [6, 4], [3, 5]], seed=3)
    a = build_graph(shots, duration, times, embeddings=emb)
    b = build_graph(list(reversed(shots)), duration, times, embeddings=emb.copy())
    assert a == b and a.to_json() == b.to_json()


def test_speech_across_a_cut_keeps_shots_in_one_scene() -> None:
    shots, duration, times, emb = _video([[5], [5]], seed=1)  # two different places: two scenes
    assert len(build_graph(shots, duration, times, embeddings=emb).scenes) == 2
    words = [
        Word(text=w, start=3.5 + 0.5 * i, end=3.9 + 0.5 * i) for i, w in enumerate(["we", "walked", "to", "the", "car"])
    ]
    spoken = Transcript(
        segments=[TranscriptSegment(id=0, start=3.5, end=5.9, text="we walked to the car", words=words)]
    )
    g = build_graph(shots, duration, times, embeddings=emb, transcript=spoken)
    assert len(g.scenes) == 1 and g.meta["speech_bridges"] == 1
    assert g.node("shot:0000").transcript == "we walked to"  # words placed by their midpoint
    assert g.node("shot:0001").transcript == "the car"
    assert g.node("scene:0000").transcript == "we walked to the car"
    # a sentence that ends before the cut does not bridge it
    ended = [Word(text="Stop.", start=4.0, end=4.8), Word(text="Go", start=5.2, end=5.6)]
    stop = Transcript(segments=[TranscriptSegment(id=0, start=4, end=5.6, text="Stop. Go", words=ended)])
    assert speech_bridges([5.0, 5.4], stop) == [False, True]  # 5.4 cuts through the word "Go"
    no_words = Transcript(segments=[TranscriptSegment(id=0, start=4, end=5.6, text="Stop. Go")])
    assert speech_bridges([3.0, 5.0], no_words) == [False, True]


def test_events_respect_duration_bounds() -> None:
    groups = [[10, 10, 10] for _ in range(12)]  # 12 places x 30 s = 360 s
    shots, duration, times, emb = _video(groups, seed=2)
    p = HierarchyParams(event_min_len=60, event_max_len=120, scene_max_len=40)
    g = build_graph(shots, duration, times, embeddings=emb, params=p)
    _check_tiling(g)
    assert all(60 <= g.span(e).duration <= 120 for e in g.events)
    assert all(g.span(s).duration <= 40 for s in g.scenes)


def test_histograms_and_no_features_paths() -> None:
    shots, duration, times, _ = _video([[4, 4], [4]])
    hist = np.zeros((len(times), 8))
    hist[:8, 0] = 1.0
    hist[8:, 5] = 1.0
    g = build_graph(shots, duration, times, histograms=hist)
    assert g.meta["visual"] == "histograms" and len(g.scenes) == 2
    bare = build_graph(shots, duration, times)
    assert bare.meta["visual"] == "none" and "speech" in bare.meta["degraded"]
    _check_tiling(bare)
    with pytest.raises(ConfigError, match="rows"):
        build_graph(shots, duration, times, embeddings=np.zeros((3, 4)))
    with pytest.raises(ConfigError, match="tile"):
        build_graph([shots[0], shots[2]], duration, times)


def test_queries() -> None:
    shots, duration, times, emb = _video([[4, 3], [6]])
    g = build_graph(shots, duration, times, embeddings=emb)
    assert g.node_at(0.0) == "shot:0000" and g.node_at(4.0) == "shot:0001" and g.node_at(duration) == "shot:0002"
    assert g.node_at(5.0, level="scene") == "scene:0000"
    assert g.ancestors("shot:0002") == ["scene:0001", "event:0000", "video"]
    assert g.parent("shot:0001") == "scene:0000"
    assert g.nodes_overlapping(Span(start=3.5, end=7.5), level="shot") == [
        "shot:0000",
        "shot:0001",
        "shot:0002",
    ]
    assert g.nodes_overlapping(Span(start=4.0, end=4.0), level="shot") == ["shot:0001"]
    assert g.nodes_overlapping(Span(start=0, end=1))[:2] == ["video", "event:0000"]
    assert g.descendants("scene:0000") == ["shot:0000", "shot:0001"]
    assert [n.id for n in g.iter_nodes("scene")] == g.scenes
    assert g.span("scene:0001") == Span(start=7.0, end=13.0)
    with pytest.raises(ConfigError):
        g.node_at(duration + 1)
    with pytest.raises(ConfigError, match="level"):
        g.nodes("frame")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        g.node("shot:9999")


def test_round_trip_and_annotations() -> None:
    shots, duration, times, emb = _video([[4, 3], [6]])
    g = build_graph(shots, duration, times, embeddings=emb)
    g.annotate("shot:0001", caption="a dog runs", ocr_text="EXIT")
    g.annotate("scene:0000", summary="a dog in a park", citations=["shot:0000", "shot:0001"])
    back = VideoGraph.from_json(g.to_json())
    assert back == g
    assert back.node("scene:0000").citations == ["shot:0000", "shot:0001"]
    assert back.graph.edges["scene:0000", "shot:0000"]["kind"] == "contains"
    assert back.graph.edges["shot:0000", "shot:0001"]["kind"] == "next"
    with pytest.raises(ConfigError, match="annotate"):
        g.annotate("video", start=3.0)


def test_render_tree() -> None:
    shots, duration, times, emb = _video([[4, 3], [6]])
    g = build_graph(shots, duration, times, embeddings=emb)
    g.annotate("shot:0000", caption="a red kite over the sea")
    full = g.render_tree(3)
    assert full.splitlines()[0].startswith("video [0:00.0-0:13.0]")
    assert "    shot:0000 [0:00.0-0:04.0] a red kite over the sea" in full
    assert len(full.splitlines()) == 1 + 1 + 2 + 3
    top = g.render_tree(1)
    assert "scene:" not in top and "(2 scenes)" in top
    assert g.render_tree(3, max_lines=2).splitlines()[-1] == "… 5 more lines"


def test_segment_and_keyframes() -> None:
    assert segment([1, 1, 1, 1], [0.5, -0.5, 0.5], 0, 10) == [(0, 1), (2, 3)]
    assert segment([5, 5, 5, 5], [-1, -1, -1], 10, 10) == [(0, 1), (2, 3)]  # min length wins over cut gains
    assert segment([50, 1], [-1], 0, 10) == [(0, 0), (1, 1)]  # a long item stands alone
    feats = np.array([[1.0, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [0, 1]])
    assert shot_keyframes(0, 6, feats, max_frames=3) == [3]
    assert shot_keyframes(0, 6, feats, max_frames=3, change=0.5) == [3]
    feats[5:] = [[0.6, 0.8]] * 2
    assert shot_keyframes(0, 6, feats, max_frames=3, change=0.1) == [3, 5]
    assert shot_keyframes(2, 1) == []


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.floats(min_value=0.3, max_value=40), min_size=1, max_size=25),
    seed=st.integers(0, 1000),
    use_emb=st.booleans(),
)
def test_tiling_invariants_hold_for_any_shots(lengths: list[float], seed: int, use_emb: bool) -> None:
    rng = np.random.default_rng(seed)
    duration = float(sum(lengths))
    times = np.arange(0, duration, 1.0)
    shots: list[Shot] = tile_shots(np.cumsum(lengths)[:-1].tolist(), times, duration)
    emb = rng.normal(size=(len(times), 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    g = build_graph(
        shots,
        duration,
        times,
        embeddings=emb if use_emb else None,
        params=HierarchyParams(event_min_len=20, event_max_len=60, scene_max_len=30),
    )
    _check_tiling(g)
    assert len(g.shots) == len(shots)
    assert VideoGraph.from_dict(g.to_dict()) == g


def test_detector_to_graph_on_a_generated_clip(tmp_path) -> None:
    """A/B/A cutting (testsrc2, bars, testsrc2), then a new place: the lookback keeps A/B/A in one scene."""
    from media import decode_frames, has_ffmpeg, make_cut_video, video_duration

    from vidreason.tools.shots import create_detector
    from vidreason.tools.shots.content import colour_histograms

    if not has_ffmpeg():
        pytest.skip("ffmpeg is not installed")
    path = tmp_path / "aba.mp4"
    make_cut_video(path, [("testsrc2", 3), ("smptebars", 3), ("testsrc2", 3), ("0x2040a0", 3)])
    frames, times = decode_frames(path, 4.0, short_side=108)
    det = create_detector("content", fps=4.0)
    det.update(frames, times)
    table = np.arange(0, len(times), 4)  # 1 fps frame table
    duration = video_duration(path)
    shots = det.finalize(times[table], duration)
    assert len(shots.shots) == 4
    g = build_graph(shots, duration, times[table], histograms=colour_histograms(frames[table]))
    _check_tiling(g)
    assert [len(g.children(s)) for s in g.scenes] == [3, 1]
