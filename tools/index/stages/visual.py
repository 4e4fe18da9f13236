"""Index stages over the frame table's pixels: frame embeddings (the visual channel) and colour histograms
(the visual similarity the hierarchy falls back to without real CLIP weights)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vidreason.tools.core.media import FrameChunk
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.arrays import NpyWriter
from vidreason.tools.index.stage import FrameConsumer, FrameInput, Stage, StageContext, StageOutput

VECTORS = "vectors.npy"
HISTOGRAMS = "histograms.npy"


class FrameEmbeddings:
    """Image embeddings of every table frame (``vectors[i]`` for ``frame_index`` i) and the model that made them."""

    def __init__(self, vectors: np.ndarray, model_id: str, random_weights: bool = False) -> None:
        self.vectors = vectors
        self.model_id = model_id
        self.random_weights = random_weights

    def __len__(self) -> int:
        return len(self.vectors)


class _EmbedConsumer(FrameConsumer):
    """Encodes each chunk and appends its vectors (float16) to ``vectors.npy`` in the stage folder."""

    def __init__(self, encoder: Any, folder: Path) -> None:
        self.encoder = encoder
        self.writer = NpyWriter(folder / VECTORS, np.float16)

    def consume(self, chunk: FrameChunk) -> None:
        self.writer.append(self.encoder.encode_images(chunk.frames))

    def close(self) -> StageOutput:
        vectors = self.writer.close()
        random = bool(getattr(self.encoder, "random_weights", False))
        out = FrameEmbeddings(vectors, self.encoder.model_id, random)
        reason = "random weights (tests/benchmarks only): visual scores are meaningless" if random else None
        how = getattr(self.encoder, "provenance", None) or {
            "precision": str(getattr(self.encoder, "precision", "fp32"))
        }
        return StageOutput(
            artefact=out,
            status="degraded" if random else "ok",
            reason=reason,
            models={"visual": self.encoder.model_id, **how},
            metrics={"frames": float(len(vectors))},
        )


class EmbeddingsStage(Stage):
    """open_clip (or BLIP-2 ITC) embeddings of every table frame; degraded to nothing when weights can't load."""

    name = "embeddings"
    version = "1"
    requires = ("frames",)
    frame_input: ClassVar[FrameInput] = "table"

    def enabled(self, settings: Settings) -> bool:
        return settings.visual_enabled

    def params(self, settings: Settings) -> dict[str, Any]:
        return settings.vision.output_params()

    def open(self, ctx: StageContext) -> FrameConsumer:
        from vidreason.tools.vision.factory import load_visual_encoder

        encoder = load_visual_encoder(ctx.settings.vision, ctx.models)  # ModelUnavailable -> degraded by the builder
        park, prepare = (getattr(encoder, name, None) for name in ("park_text_tower", "prepare_image_tower"))
        if park is not None and prepare is not None:  # images only here; a text query brings the text side back
            park(ctx.folder)
            prepare()  # an int8 tower is made now, before the decode pass and the transcript start
        return _EmbedConsumer(encoder, ctx.folder)

    def save(self, artefact: FrameEmbeddings, folder: Path) -> None:
        if not NpyWriter.wrote(artefact.vectors, folder / VECTORS):  # written while encoding
            np.save(folder / VECTORS, artefact.vectors)
        (folder / "model.json").write_text(
            json.dumps({"model_id": artefact.model_id, "random_weights": artefact.random_weights})
        )

    def load(self, folder: Path) -> FrameEmbeddings:
        meta = json.loads((folder / "model.json").read_text())
        return FrameEmbeddings(np.load(folder / VECTORS), meta["model_id"], meta["random_weights"])


class _HistConsumer(FrameConsumer):
    def __init__(self, folder: Path) -> None:
        self.writer = NpyWriter(folder / HISTOGRAMS, np.float32)

    def consume(self, chunk: FrameChunk) -> None:
        from vidreason.tools.shots.content import colour_histograms

        self.writer.append(colour_histograms(chunk.frames))

    def close(self) -> StageOutput:
        return StageOutput(artefact=self.writer.close())


class HistogramsStage(Stage):
    """Colour histograms of every table frame: the visual similarity the hierarchy uses without CLIP weights."""

    name = "histograms"
    version = "1"
    requires = ("frames",)
    frame_input: ClassVar[FrameInput] = "table"

    def open(self, ctx: StageContext) -> FrameConsumer:
        return _HistConsumer(ctx.folder)

    def save(self, artefact: np.ndarray, folder: Path) -> None:
        if not NpyWriter.wrote(artefact, folder / HISTOGRAMS):  # written while decoding
            np.save(folder / HISTOGRAMS, artefact)

    def load(self, folder: Path) -> np.ndarray:
        return np.load(folder / HISTOGRAMS)
