"""The visual channel end to end: frame embeddings in the index -> text similarity curve -> TFVTG spans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media import make_cut_video

from vidreason.tools.core.settings import Settings
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.retrieval.grounder import Grounder, visual_curve
from vidreason.tools.vision.clip import TINY_CLIP_NAME


@pytest.fixture(scope="module")
def visual_index(tmp_path_factory: pytest.TempPathFactory) -> VideoIndex:
    d = tmp_path_factory.mktemp("visual")
    video = d / "cuts.mp4"
    make_cut_video(video, [("red", 3.0), ("testsrc2", 3.0), ("blue", 3.0)], fps=10)
    settings = Settings(
        profile="fast",
        device="cpu",
        cache_dir=d / "cache",
        sample_fps=2.0,
        clip_model=TINY_CLIP_NAME,
        clip_pretrained="random",
        asr_enabled=False,
    )
    return VideoIndex.build(video, settings)


def test_embeddings_stage_covers_every_table_frame(visual_index: VideoIndex) -> None:
    emb = visual_index.get("embeddings")
    assert emb is not None and emb.vectors.shape == (len(visual_index.frame_times), 32)
    np.testing.assert_allclose(np.linalg.norm(emb.vectors.astype(np.float32), axis=1), 1.0, atol=1e-2)
    status = visual_index.manifest.stages["embeddings"]
    assert status.status == "degraded" and "random weights" in (status.reason or "")
    assert visual_index.manifest.stages["graph"].models["similarity"] == "histograms"  # random CLIP not trusted


def test_visual_curve_matches_the_encoder(visual_index: VideoIndex) -> None:
    from vidreason.tools.vision.factory import load_visual_encoder

    curve = visual_curve(visual_index, "a blue screen")
    assert curve is not None and curve.shape == (len(visual_index.frame_times),)
    enc = load_visual_encoder(visual_index.settings.vision, visual_index.models)
    q = enc.encode_texts(["a blue screen"])[0]
    expected = visual_index.get("embeddings").vectors.astype(np.float32) @ q
    np.testing.assert_allclose(curve, expected, atol=1e-5)


def test_grounding_uses_the_visual_channel(visual_index: VideoIndex, tmp_path: Path) -> None:
    g = Grounder(visual_index).ground("a blue screen", channels=["visual"])
    assert "visual" in g.curves and len(g.curves["visual"]) == len(visual_index.frame_times)
    assert g.spans and all(0 <= s.start < s.end <= visual_index.duration + 1e-6 for s in g.spans)
    assert g.spans[0].source.startswith("tfvtg:") and "visual" in g.spans[0].source
