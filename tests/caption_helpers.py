"""Shared fixtures for the caption / summary / NumPro tests: a small hierarchy graph and synthetic frames."""

from __future__ import annotations

import numpy as np

from vidreason.tools.core.media import FrameChunk
from vidreason.tools.index.hierarchy import Node, VideoGraph

#: (shot id, start, end) of the small test video: 4 shots, 2 scenes, 1 event
SHOTS = [("shot:0000", 0.0, 3.0), ("shot:0001", 3.0, 6.0), ("shot:0002", 6.0, 8.0), ("shot:0003", 8.0, 10.0)]
SCENES = {"scene:0000": ["shot:0000", "shot:0001"], "scene:0001": ["shot:0002", "shot:0003"]}
EVENTS = {"event:0000": ["scene:0000", "scene:0001"]}


def make_graph() -> VideoGraph:
    """A 10 s video: ``video`` > 1 event > 2 scenes > 4 shots, built with the hierarchy's own API."""
    g = VideoGraph(10.0)
    g.add(Node(id="video", level="video", index=0, start=0.0, end=10.0))
    for e, event in enumerate(EVENTS):
        g.add(Node(id=event, level="event", index=e, start=0.0, end=10.0), parent="video")
    for s, (scene, shot_ids) in enumerate(SCENES.items()):
        shots = [x for x in SHOTS if x[0] in shot_ids]
        parent = next(ev for ev, scs in EVENTS.items() if scene in scs)
        g.add(Node(id=scene, level="scene", index=s, start=shots[0][1], end=shots[-1][2]), parent=parent)
    for k, (shot_id, start, end) in enumerate(SHOTS):
        parent = next(sc for sc, shs in SCENES.items() if shot_id in shs)
        g.add(Node(id=shot_id, level="shot", index=k, start=start, end=end), parent=parent)
    return g


def synthetic_frames(fps: float = 2.0, size: tuple[int, int] = (64, 96), seed: int = 0) -> FrameChunk:
    """Frames of :data:`SHOTS` at ``fps``: shot 0 static grey, shot 1 a moving bright bar, shot 2 static
    noise,
    shot 3 alternating black/white (every frame differs)."""
    rng = np.random.default_rng(seed)
    h, w = size
    times = np.arange(0.0, 10.0, 1.0 / fps)
    noise = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    frames = np.zeros((len(times), h, w, 3), dtype=np.uint8)
    for i, t in enumerate(times):
        if t < 3:
            frames[i] = 120
        elif t < 6:
            x = int((t - 3) / 3 * (w - 16))
            frames[i, :, x : x + 16] = 255
        elif t < 8:
            frames[i] = noise
        else:
            frames[i] = 255 if i % 2 else 0
    return FrameChunk(frames=frames, timestamps=times, indices=np.arange(len(times)))


def chunked(chunk: FrameChunk, size: int) -> list[FrameChunk]:
    """``chunk`` split into pieces of ``size`` frames (as the decode pass delivers them)."""
    return [
        FrameChunk(chunk.frames[i : i + size], chunk.timestamps[i : i + size], chunk.indices[i : i + size])
        for i in range(0, len(chunk), size)
    ]


class RecordingCaptioner:
    """Records what it is asked; captions say which frames (by mean brightness) it saw."""

    model_id = "fake-vlm"
    supports_video = False

    def __init__(self) -> None:
        self.calls: list[tuple[list[list[np.ndarray]], list[str]]] = []

    def caption(self, clips, prompt):  # type: ignore[no-untyped-def]
        prompts = prompt if isinstance(prompt, list) else [prompt] * len(clips)
        self.calls.append((clips, prompts))
        return [f"{len(c)} frame(s), mean {np.mean([np.asarray(f).mean() for f in c]):.0f}" for c in clips]
