"""Stages that read only the video run alongside the decode pass and are committed as usual; frame arrays are
written into their stage folder while decoding."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from media import make_cut_video

from vidreason.tools.core.errors import ModelUnavailable
from vidreason.tools.core.media import FrameChunk
from vidreason.tools.core.settings import Settings
from vidreason.tools.index import stages as stage_registry
from vidreason.tools.index.arrays import NpyWriter
from vidreason.tools.index.overlap import ThreadBudget, overlappable
from vidreason.tools.index.stage import FrameConsumer, Stage, StageContext, StageOutput
from vidreason.tools.index.video_index import VideoIndex


class AudioLikeStage(Stage):
    """Reads only the video; records the thread it ran on and writes a file into its folder."""

    name = "audio_like"
    fail_with: Exception | None = None

    def run(self, ctx: StageContext) -> StageOutput:
        if self.fail_with is not None:
            raise self.fail_with
        (ctx.folder / "extra.txt").write_text("written during run")
        return StageOutput(artefact={"thread": threading.current_thread().name}, models={"m": "x"})

    def save(self, artefact: Any, folder: Path) -> None:
        (folder / "out.json").write_text(json.dumps(artefact))

    def load(self, folder: Path) -> Any:
        return json.loads((folder / "out.json").read_text())


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("v") / "clip.mp4"
    make_cut_video(p, [("red", 2.0), ("blue", 2.0)], fps=25)
    return p


@pytest.fixture
def stage(monkeypatch: pytest.MonkeyPatch) -> AudioLikeStage:
    instance = AudioLikeStage()
    registry = stage_registry.STAGES.subset(("frames", "thumbnails", "histograms"))
    monkeypatch.setattr(stage_registry, "STAGES", registry)
    monkeypatch.setattr(stage_registry, "_instances", {})
    stage_registry.register_stage("audio_like", lambda: instance)
    return instance


@pytest.mark.parametrize(("overlap", "ahead"), [(True, True), (False, True), (True, False)])
def test_video_only_stage_runs_alongside_and_commits(
    clip: Path, settings: Settings, stage: AudioLikeStage, overlap: bool, ahead: bool
) -> None:
    assert overlappable(stage)
    ix = VideoIndex.build(clip, settings.override(index_overlap=overlap, decode_ahead=ahead))
    status = ix.manifest.stages["audio_like"]
    assert status.status == "ok" and status.models == {"m": "x"}
    ran_on = ix.get("audio_like")["thread"]
    assert ran_on.startswith("vidreason-audio_like") if overlap else ran_on == threading.main_thread().name
    assert ("run_s" in status.params) is overlap  # its own time alongside the decode pass
    assert (ix.stage_dir("audio_like") / "extra.txt").read_text() == "written during run"
    assert not list((ix.root / "stages").glob(".tmp-*"))
    hist = ix.get("histograms")
    assert hist.shape[0] == len(ix.frame_times) == 4 and hist.dtype == np.float32


def test_failures_of_a_stage_run_alongside_are_recorded(clip: Path, settings: Settings, stage: AudioLikeStage) -> None:
    stage.fail_with = ModelUnavailable("no weights here")
    ix = VideoIndex.build(clip, settings.override(index_overlap=True))
    assert ix.manifest.stages["audio_like"].status == "degraded"
    assert "no weights here" in (ix.manifest.stages["audio_like"].reason or "")
    stage.fail_with = RuntimeError("boom")
    ix = VideoIndex.build(clip, settings.override(index_overlap=True), force=True)
    assert ix.manifest.stages["audio_like"].status == "failed"
    assert ix.manifest.stages["frames"].status == "ok"
    assert not list((ix.root / "stages").glob(".tmp-*"))


class _Running:
    def __init__(self) -> None:
        self.running = True


def test_thread_budget_halves_torch_threads_while_stages_run() -> None:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        job = _Running()
        with ThreadBudget([job], cores=4) as budget:  # type: ignore[list-item]
            assert torch.get_num_threads() == 2
            budget.poll()
            assert torch.get_num_threads() == 2
            job.running = False
            budget.poll()
            assert torch.get_num_threads() == 4
        with ThreadBudget([_Running()], cores=4):  # type: ignore[list-item]
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 4
    finally:
        torch.set_num_threads(before)


def test_npy_writer_appends_blocks(tmp_path: Path) -> None:
    rows = np.random.default_rng(0).random((70, 3, 4)).astype(np.float16)
    writer = NpyWriter(tmp_path / "a.npy", np.float16)
    for i in range(0, 70, 32):
        writer.append(rows[i : i + 32])
    mapped = writer.close()
    assert NpyWriter.wrote(mapped, tmp_path / "a.npy") and not NpyWriter.wrote(rows, tmp_path / "a.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), rows)
    assert NpyWriter(tmp_path / "b.npy", np.float32).close().shape == (0, 0)
    assert np.load(tmp_path / "b.npy").shape == (0, 0)
    bad = NpyWriter(tmp_path / "c.npy", np.float32)
    bad.append(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="rows of shape"):
        bad.append(np.zeros((2, 4)))


_CLOCK = [1000.0]  # the builder's perf_counter in the test below: only the stages move it


class _SlowConsumer(FrameConsumer):
    def __init__(self) -> None:
        self.frames = 0

    def consume(self, chunk: FrameChunk) -> None:
        _CLOCK[0] += 0.05
        self.frames += len(chunk)

    def close(self) -> StageOutput:
        _CLOCK[0] += 0.2
        return StageOutput(artefact={"frames": self.frames})


class SlowFrameStage(AudioLikeStage):
    """A frame stage whose model takes a while to load and whose closing takes a while."""

    name = "slow_frames"
    requires = ("frames",)
    frame_input = "table"

    def open(self, ctx: StageContext) -> FrameConsumer:
        _CLOCK[0] += 0.5
        return _SlowConsumer()


def test_decode_time_counts_only_the_pass_waiting_for_frames(
    clip: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = stage_registry.STAGES.subset(("frames",))
    monkeypatch.setattr(stage_registry, "STAGES", registry)
    monkeypatch.setattr(stage_registry, "_instances", {})
    stage_registry.register_stage("slow_frames", SlowFrameStage)
    monkeypatch.setattr(time, "perf_counter", lambda: _CLOCK[0])  # no real time in the assertions
    ix = VideoIndex.build(clip, settings)
    assert ix.get("slow_frames") == {"frames": 4}
    # loading (0.5 s), using its one chunk (0.05 s) and closing (0.2 s) are the stage's time, none of it the pass's
    # waiting for frames (which takes no time on this clock)
    assert ix.manifest.decode_s == 0
    assert ix.manifest.stages["slow_frames"].wall_s == pytest.approx(0.75)


class WaitingStage(AudioLikeStage):
    """Records whether the frame pass was over when it started, then waits for it (as the language check does)."""

    name = "waiting"

    def __init__(self) -> None:
        self.started = threading.Event()
        self.seen: list[bool] = []

    def run(self, ctx: StageContext) -> StageOutput:
        self.seen.append(ctx.frames_done.is_set())
        self.started.set()
        self.seen.append(ctx.frames_done.wait(timeout=60))
        return StageOutput(artefact={"seen": self.seen})


class _HeldConsumer(_SlowConsumer):
    def __init__(self, hold: threading.Event) -> None:
        super().__init__()
        self.hold = hold

    def consume(self, chunk: FrameChunk) -> None:
        assert self.hold.wait(timeout=60)  # the pass goes on once the stage alongside has looked
        self.frames += len(chunk)


class HeldFrameStage(SlowFrameStage):
    name = "held_frames"
    hold = threading.Event()

    def open(self, ctx: StageContext) -> FrameConsumer:
        return _HeldConsumer(self.hold)


@pytest.mark.parametrize("overlap", [True, False])
def test_stage_alongside_can_wait_for_the_frame_pass(
    clip: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, overlap: bool
) -> None:
    """``ctx.frames_done`` is clear while the frame pass runs and set once it is over (always set for a stage
    that runs after it), so the transcript can put its language check's model load off until then."""
    waiting = WaitingStage()
    registry = stage_registry.STAGES.subset(("frames",))
    monkeypatch.setattr(stage_registry, "STAGES", registry)
    monkeypatch.setattr(stage_registry, "_instances", {})
    monkeypatch.setattr(HeldFrameStage, "hold", waiting.started if overlap else _set_event())
    stage_registry.register_stage("held_frames", HeldFrameStage)
    stage_registry.register_stage("waiting", lambda: waiting)
    ix = VideoIndex.build(clip, settings.override(index_overlap=overlap))
    assert ix.get("waiting")["seen"] == [not overlap, True]
    assert ix.get("held_frames") == {"frames": 4}


def test_a_failed_frame_pass_never_leaves_a_stage_alongside_waiting(
    clip: Path, settings: Settings, stage: AudioLikeStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vidreason.tools.index import builder

    waiting = WaitingStage()
    stage_registry.register_stage("waiting", lambda: waiting)

    def failing_pass(index: Any, stages: Any, progress: Any, alongside: Any, *rest: Any) -> None:
        alongside()
        assert waiting.started.wait(timeout=60)
        raise RuntimeError("decoder died")

    monkeypatch.setattr(builder, "_decode_pass", failing_pass)
    with pytest.raises(RuntimeError, match="decoder died"):
        VideoIndex.build(clip, settings.override(index_overlap=True))
    deadline = time.monotonic() + 60
    while len(waiting.seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert waiting.seen == [False, True]


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event
