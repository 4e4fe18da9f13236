"""Builds the :class:`~vidreason.tools.index.hierarchy.VideoGraph` from shots, per-frame visual features and speech.

Scenes and events come from one segmentation routine (:func:`segment`): adjacent items are grouped by dynamic
programming, minimising the sum over cuts of ``similarity_across_cut - threshold`` (cutting where neighbours
look alike costs, cutting where they differ pays), plus a large cost for cutting through a sentence, subject
to minimum / maximum group durations (a single item longer than the maximum stands alone). Visual similarity
of
shots uses CLIP frame embeddings (cosine of mean embeddings) when given, else colour histograms (histogram
intersection); across a shot joint it is the best link between the ``scene_lookback`` shots on either side, so
A/B/A/B shot-reverse-shot dialogue stays one scene. Everything is deterministic.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.media import Shot, ShotBoundaries, SpeakerTurn, Transcript, Word
from vidreason.tools.index.hierarchy import Level, Node, VideoGraph, node_id

log = logging.getLogger(__name__)

Visual = Literal["embeddings", "histograms", "none"]
_SENTENCE_END = re.compile(r"[.?!。？！…]['\"”’)\]]*$")
_BIG = 1000.0  # cost per second of violating a duration bound


class HierarchyParams(BaseModel):
    """Grouping knobs. Thresholds left ``None`` take a default for the visual features in use."""

    scene_similarity: float | None = Field(None, description="cut scenes where shot similarity is below this")
    scene_lookback: int = Field(2, ge=1, le=8, description="shots on each side compared across a joint")
    scene_min_len: float = Field(0.0, ge=0)
    scene_max_len: float = Field(120.0, gt=0)
    event_similarity: float | None = None
    event_min_len: float = Field(30.0, ge=0)
    event_max_len: float = Field(300.0, gt=0)
    speech_bridge: bool = Field(True, description="never cut a scene inside a spoken sentence (soft)")
    speech_bridge_cost: float = Field(5.0, ge=0)
    speech_max_gap: float = Field(0.8, ge=0, description="longest pause (s) still inside one sentence")
    keyframes_per_shot: int = Field(3, ge=1, le=32)
    keyframe_change: float | None = Field(None, description="feature distance that starts a new keyframe")
    keyframes_per_node: int = Field(4, ge=1, le=64)
    transcript_chars: int = Field(500, ge=0, description="longest transcript excerpt stored per node")


DEFAULTS: dict[str, dict[str, float]] = {
    "embeddings": {"scene": 0.8, "event": 0.7, "keyframe": 0.12},
    "histograms": {"scene": 0.6, "event": 0.45, "keyframe": 0.25},
    "none": {"scene": 0.0, "event": 0.0, "keyframe": 1.0},
}


# ---------------------------------------------------------------------------------------------- features
def _descriptor(rows: np.ndarray, visual: Visual) -> np.ndarray:
    mean = rows.astype(np.float64).mean(axis=0)
    if visual == "embeddings":
        norm = np.linalg.norm(mean)
        return mean / norm if norm > 0 else mean
    return mean


def similarity(a: np.ndarray, b: np.ndarray, visual: Visual) -> float:
    """Cosine (embeddings) or histogram intersection (histograms) of two descriptors."""
    if visual == "embeddings":
        return float(np.dot(a, b))
    return float(1.0 - 0.5 * np.abs(a / max(a.sum(), 1e-12) - b / max(b.sum(), 1e-12)).sum())


def _distance(a: np.ndarray, b: np.ndarray, visual: Visual) -> float:
    return 1.0 - similarity(a, b, visual)


def shot_keyframes(
    start_frame: int,
    end_frame: int,
    features: np.ndarray | None = None,
    *,
    visual: Visual = "embeddings",
    max_frames: int = 3,
    change: float | None = None,
) -> list[int]:
    """Frame-table indices for a shot: the middle frame plus the frames where the picture changes (feature
    distance to the previous change point above ``change``), at most ``max_frames``, the largest changes
    first, returned in time order."""
    if start_frame < 0 or end_frame < start_frame:
        return []
    mid = (start_frame + end_frame) // 2
    if features is None or max_frames == 1 or end_frame == start_frame:
        return [mid]
    thr = DEFAULTS[visual]["keyframe"] if change is None else change
    changes: list[tuple[float, int]] = []
    ref = features[start_frame]
    for i in range(start_frame + 1, end_frame + 1):
        d = _distance(features[i], ref, visual)
        if d > thr:
            changes.append((d, i))
            ref = features[i]
    picked = [mid] + [i for _, i in sorted(changes, key=lambda c: (-c[0], c[1])) if i != mid]
    return sorted(picked[:max_frames])


def _spread(items: Sequence[int], k: int) -> list[int]:
    if len(items) <= k:
        return list(items)
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)] if k > 1 else [items[len(items) // 2]]


# ---------------------------------------------------------------------------------------------- speech
def _words(transcript: Transcript | None) -> list[Word]:
    if transcript is None:
        return []
    return sorted((w for s in transcript.segments for w in s.words), key=lambda w: (w.start, w.end))


def speech_bridges(
    times: Sequence[float], transcript: Transcript | None, max_gap: float = 0.8, words: Sequence[Word] | None = None
) -> list[bool]:
    """For each cut time: does speech run across it mid-sentence? With word times: a word spans the cut, or
    the words either side are less than ``max_gap`` apart and the earlier one does not end a sentence. With
    segment times only: the cut lies inside a segment (0.2 s margin). ``words``: ``_words(transcript)`` when
    the caller already has it (sorting every word again per call is the cost on long videos)."""
    words = _words(transcript) if words is None else words
    starts = [w.start for w in words]
    out = []
    for t in times:
        if words:
            i = int(np.searchsorted(starts, t, side="left"))  # words[i] is the first starting at/after t
            prev = words[i - 1] if i > 0 else None
            nxt = words[i] if i < len(words) else None
            if prev is None:
                out.append(False)
            elif prev.end > t + 0.05:
                out.append(True)
            elif nxt is None or nxt.start - prev.end > max_gap:
                out.append(False)
            else:
                out.append(not _SENTENCE_END.search(prev.text.strip()))
        else:
            segs = transcript.segments if transcript is not None else []
            out.append(any(s.start + 0.2 < t < s.end - 0.2 for s in segs))
    return out


def transcript_excerpt(
    transcript: Transcript | None, start: float, end: float, max_chars: int, words: Sequence[Word] | None = None
) -> str | None:
    """Speech inside ``[start, end)``: words by their midpoint, else overlapping segments. ``words`` as in
    :func:`speech_bridges`."""
    if transcript is None or max_chars == 0:
        return None
    words = [w for w in (_words(transcript) if words is None else words) if start <= (w.start + w.end) / 2 < end]
    if words:
        text = " ".join(w.text.strip() for w in words)
    else:
        text = " ".join(s.text.strip() for s in transcript.segments if min(s.end, end) > max(s.start, start))
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def speaker_seconds(turns: Sequence[SpeakerTurn], start: float, end: float) -> dict[str, float]:
    """Seconds each speaker talks inside ``[start, end)``, most talkative first (turns in time order)."""
    out: dict[str, float] = {}
    i = bisect.bisect_left([t.end for t in turns], start) if turns else 0
    for t in turns[i:]:
        if t.start >= end:
            break
        o = min(end, t.end) - max(start, t.start)
        if o > 0:
            out[t.speaker] = out.get(t.speaker, 0.0) + o
    return {k: round(v, 2) for k, v in sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))}


# ---------------------------------------------------------------------------------------------- grouping
def segment(
    durations: Sequence[float], cut_cost: Sequence[float] | np.ndarray, min_len: float, max_len: float
) -> list[tuple[int, int]]:
    """Split items ``0..n-1`` into consecutive groups ``[(first, last), ...]`` minimising the summed
    ``cut_cost[j]`` of the joints cut (joint ``j`` lies between items ``j`` and ``j + 1``) plus a large cost
    per second outside ``[min_len, max_len]`` (a single item may exceed ``max_len`` freely)."""
    n = len(durations)
    if n == 0:
        return []
    if len(cut_cost) != n - 1:
        raise ConfigError(f"{n} items need {n - 1} joint costs, got {len(cut_cost)}")
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(durations, dtype=np.float64))])
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    back = np.zeros(n + 1, dtype=np.int64)
    for i in range(1, n + 1):
        for k in range(i - 1, -1, -1):
            length = cum[i] - cum[k]
            if i - k > 1 and length > max_len:
                break
            pen = _BIG * max(0.0, min_len - length)
            if i - k > 1:
                pen += _BIG * max(0.0, length - max_len)
            cost = best[k] + pen + (float(cut_cost[k - 1]) if k > 0 else 0.0)
            if cost < best[i] - 1e-12:
                best[i], back[i] = cost, k
    groups, i = [], n
    while i > 0:
        groups.append((int(back[i]), i - 1))
        i = int(back[i])
    return groups[::-1]


def _joint_similarity(desc: list[np.ndarray | None], visual: Visual, lookback: int, default: float) -> np.ndarray:
    n = len(desc)
    out = np.full(max(0, n - 1), default, dtype=np.float64)
    for j in range(n - 1):
        best = None
        for a in range(max(0, j - lookback + 1), j + 1):
            for b in range(j + 1, min(n, a + lookback + 1)):
                da, db = desc[a], desc[b]
                if da is not None and db is not None:
                    s = similarity(da, db, visual)
                    best = s if best is None else max(best, s)
        if best is not None:
            out[j] = best
    return out


def _merge_desc(descs: list[np.ndarray | None], weights: list[float], visual: Visual) -> np.ndarray | None:
    pairs = [(d, w) for d, w in zip(descs, weights, strict=True) if d is not None]
    if not pairs:
        return None
    weights = [max(w, 1e-6) for _, w in pairs]  # zero-length shots (a one-frame video) still count
    stacked = np.stack([d * w for (d, _), w in zip(pairs, weights, strict=True)])
    return _descriptor(stacked, visual) * (1.0 if visual == "embeddings" else len(pairs) / sum(weights))


# ---------------------------------------------------------------------------------------------- builder
def _check_shots(shots: Sequence[Shot], duration: float, n_frames: int) -> list[Shot]:
    if not shots:
        return [Shot(index=0, start=0.0, end=duration, start_frame=0 if n_frames else -1, end_frame=n_frames - 1)]
    ordered = [s.model_copy(update={"index": i}) for i, s in enumerate(sorted(shots, key=lambda s: s.start))]
    for a, b in itertools.pairwise(ordered):
        if abs(a.end - b.start) > 1e-6:
            raise ConfigError(f"shots must tile the video: shot {a.index} ends at {a.end}, next starts at {b.start}")
    if abs(ordered[0].start) > 1e-6 or abs(ordered[-1].end - duration) > 1e-3:
        raise ConfigError(f"shots cover [{ordered[0].start}, {ordered[-1].end}], expected [0, {duration}]")
    return ordered


def build_graph(
    shots: ShotBoundaries | Sequence[Shot],
    duration: float,
    frame_times: np.ndarray,
    *,
    embeddings: np.ndarray | None = None,
    histograms: np.ndarray | None = None,
    transcript: Transcript | None = None,
    speakers: Sequence[SpeakerTurn] | None = None,
    params: HierarchyParams | None = None,
) -> VideoGraph:
    """The shot -> scene -> event -> video graph.

    ``embeddings``: L2-normalised ``[T, D]`` per frame-table frame (preferred); ``histograms``: ``[T, B]``
    colour histograms per frame-table frame (e.g. :func:`vidreason.tools.shots.content.colour_histograms`);
    with neither, scenes follow speech only and the graph's ``meta["degraded"]`` says so. ``speakers``: speaker
    turns (diarization): every node gets the seconds each speaker talks inside it.
    """
    p = params or HierarchyParams()
    frame_times = np.asarray(frame_times, dtype=np.float64)
    shot_list = _check_shots(
        shots.shots if isinstance(shots, ShotBoundaries) else list(shots), duration, len(frame_times)
    )
    features = embeddings if embeddings is not None else histograms
    visual: Visual = "embeddings" if embeddings is not None else "histograms" if histograms is not None else "none"
    if features is not None and len(features) != len(frame_times):
        raise ConfigError(f"{visual} has {len(features)} rows but the frame table has {len(frame_times)} frames")
    degraded = None
    if visual == "none":
        degraded = "no embeddings or colour histograms: scenes follow speech continuity only"
        log.warning(degraded)
    scene_thr = p.scene_similarity if p.scene_similarity is not None else DEFAULTS[visual]["scene"]
    event_thr = p.event_similarity if p.event_similarity is not None else DEFAULTS[visual]["event"]

    # shots: descriptors and keyframes
    desc: list[np.ndarray | None] = []
    shot_kf: list[list[int]] = []
    for s in shot_list:
        ok = features is not None and 0 <= s.start_frame <= s.end_frame
        rows = features[s.start_frame : s.end_frame + 1] if ok and features is not None else None
        desc.append(_descriptor(rows, visual) if rows is not None else None)
        shot_kf.append(
            shot_keyframes(
                s.start_frame,
                s.end_frame,
                features,
                visual=visual,
                max_frames=p.keyframes_per_shot,
                change=p.keyframe_change,
            )
        )

    # scenes: visual links + speech bridges across shot joints
    joints = [s.start for s in shot_list[1:]]
    words = _words(transcript)  # sorted once for every speech question below
    turns = sorted(speakers or [], key=lambda t: (t.start, t.end))
    bridges = speech_bridges(joints, transcript, p.speech_max_gap, words) if p.speech_bridge else [False] * len(joints)
    sims = _joint_similarity(desc, visual, p.scene_lookback, scene_thr)
    costs = sims - scene_thr + p.speech_bridge_cost * np.asarray(bridges, dtype=np.float64)
    scene_groups = segment([s.end - s.start for s in shot_list], costs, p.scene_min_len, p.scene_max_len)

    # events: scene descriptors, same routine
    scene_desc = [
        _merge_desc(desc[a : b + 1], [s.end - s.start for s in shot_list[a : b + 1]], visual) for a, b in scene_groups
    ]
    scene_joints = [shot_list[a].start for a, _ in scene_groups[1:]]
    sb = (
        speech_bridges(scene_joints, transcript, p.speech_max_gap, words)
        if p.speech_bridge
        else [False] * len(scene_joints)
    )
    ssims = _joint_similarity(scene_desc, visual, 1, event_thr)
    ecosts = ssims - event_thr + p.speech_bridge_cost * np.asarray(sb, dtype=np.float64)
    scene_durs = [shot_list[b].end - shot_list[a].start for a, b in scene_groups]
    event_groups = segment(scene_durs, ecosts, p.event_min_len, p.event_max_len)

    g = VideoGraph(
        duration,
        meta={
            "visual": visual,
            "scene_threshold": scene_thr,
            "event_threshold": event_thr,
            "speech_bridges": int(sum(bridges)),
            "degraded": degraded,
            "params": p.model_dump(),
        },
    )

    def make(level: Level, index: int, first: Shot, last: Shot, keyframes: list[int], parent: str | None) -> str:
        nid = node_id(level, index)
        g.add(
            Node(
                id=nid,
                level=level,
                index=index,
                start=first.start,
                end=last.end,
                start_frame=first.start_frame,
                end_frame=last.end_frame,
                keyframes=keyframes,
                transcript=transcript_excerpt(transcript, first.start, last.end, p.transcript_chars, words),
                speakers=speaker_seconds(turns, first.start, last.end),
            ),
            parent=parent,
        )
        return nid

    def mid_keyframes(groups: list[list[int]]) -> list[int]:
        return _spread([kf[len(kf) // 2] for kf in groups if kf], p.keyframes_per_node)

    make("video", 0, shot_list[0], shot_list[-1], mid_keyframes(shot_kf), None)
    scene_index = 0
    for e_index, (ea, eb) in enumerate(event_groups):
        e_scenes = scene_groups[ea : eb + 1]
        fa, lb = e_scenes[0][0], e_scenes[-1][1]
        eid = make("event", e_index, shot_list[fa], shot_list[lb], mid_keyframes(shot_kf[fa : lb + 1]), "video")
        for a, b in e_scenes:
            sid = make("scene", scene_index, shot_list[a], shot_list[b], mid_keyframes(shot_kf[a : b + 1]), eid)
            scene_index += 1
            for k in range(a, b + 1):
                make("shot", k, shot_list[k], shot_list[k], shot_kf[k], sid)
    return g


__all__ = [
    "DEFAULTS",
    "HierarchyParams",
    "build_graph",
    "segment",
    "shot_keyframes",
    "similarity",
    "speaker_seconds",
    "speech_bridges",
    "transcript_excerpt",
]
