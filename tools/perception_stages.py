"""Index stages wrapping the perception tools: shots, frame embeddings, transcript, OCR.

Each stage keeps its model loaded in the stage instance (one per process), so indexing many videos in one
process (or one Ray actor) loads each model once.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vidreason.agent.errors import ModelUnavailable
from vidreason.agent.settings import Settings
from vidreason.tools.schemas import FrameChunk, OcrItem, ShotBoundaries, Transcript
from vidreason.tools.stage import FrameConsumer, FrameInput, JsonStage, Stage, StageContext, StageOutput

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------ shots
class _ShotConsumer(FrameConsumer):
    def __init__(self, ctx: StageContext, detector: Any, note: str | None) -> None:
        self.ctx = ctx
        self.detector = detector
        self.note = note

    def consume(self, chunk: FrameChunk) -> None:
        self.detector.feed(chunk)

    def close(self) -> StageOutput:
        result = self.detector.finalize(self.ctx.frame_times, self.ctx.info.duration)
        return StageOutput(
            artefact=result,
            status="degraded" if self.note else "ok",
            reason=self.note,
            models={"detector": result.detector},
            metrics={"shots": float(len(result.shots))},
        )


class ShotsStage(JsonStage):
    """Shot boundaries from the analysis grid (``settings.shot_fps``): TransNetV2 on GPU, colour content on CPU."""

    name = "shots"
    version = "1"
    requires = ("frames",)
    frame_input: ClassVar[FrameInput] = "analysis"
    artefact_type = ShotBoundaries

    def params(self, settings: Settings) -> dict[str, Any]:
        return {
            "detector": settings.shot_detector,
            "shot_fps": settings.shot_fps,
            "min_len": settings.shot_min_len,
        }

    def open(self, ctx: StageContext) -> FrameConsumer:
        from vidreason.tools.shots import create_detector

        s = ctx.settings
        name = s.shot_detector or "content"
        note = None
        try:
            detector = create_detector(name, fps=s.shot_fps, device=s.device, min_shot_len=s.shot_min_len)
        except ModelUnavailable as e:
            note = f"{name} unavailable ({e}); used the content detector instead"
            log.warning(note)
            detector = create_detector("content", fps=s.shot_fps, min_shot_len=s.shot_min_len)
        return _ShotConsumer(ctx, detector, note)


# ------------------------------------------------------------------------------------------------ transcript
class TranscriptStage(JsonStage):
    """faster-whisper transcript with VAD-placed word times (empty, with a reason, when there is no speech)."""

    name = "transcript"
    version = "1"
    artefact_type = Transcript

    def __init__(self) -> None:
        self._transcribers: dict[tuple[Any, ...], Any] = {}

    def enabled(self, settings: Settings) -> bool:
        return settings.asr_enabled

    def params(self, settings: Settings) -> dict[str, Any]:
        return {
            "model": settings.asr_model,
            "language": settings.asr_language,
            "compute_type": settings.asr_compute_type,
            "beam_size": settings.asr_beam_size,
        }

    def _transcriber(self, settings: Settings) -> Any:
        from vidreason.tools.asr import WhisperTranscriber

        key = (
            settings.asr_model,
            settings.asr_language,
            settings.asr_compute_type,
            settings.asr_beam_size,
            settings.device,
        )
        if key not in self._transcribers:
            self._transcribers[key] = WhisperTranscriber.from_settings(settings)
        return self._transcribers[key]

    def run(self, ctx: StageContext) -> StageOutput:
        if not ctx.info.has_audio:
            empty = Transcript(duration=ctx.info.duration, reason="no audio stream in the file")
            return StageOutput(artefact=empty, metrics={"segments": 0.0})
        transcriber = self._transcriber(ctx.settings)
        transcript = transcriber.transcribe(ctx.path)
        return StageOutput(
            artefact=transcript,
            models={"asr": transcriber.model_id},
            metrics={"segments": float(len(transcript.segments))},
        )


# ------------------------------------------------------------------------------------------------ OCR
class OcrStage(JsonStage):
    """On-screen text every ``ocr_interval_s`` seconds at OCR resolution (its own decode: the shared pass
    decodes at analysis size, too small to read text), deduplicated across consecutive frames."""

    name = "ocr"
    version = "1"
    requires = ("frames",)
    artefact_type = OcrItem
    artefact_is_list = True

    def enabled(self, settings: Settings) -> bool:
        return bool(settings.ocr_enabled)

    def params(self, settings: Settings) -> dict[str, Any]:
        return {
            "interval_s": settings.ocr_interval_s,
            "short_side": settings.ocr_short_side,
            "min_score": settings.ocr_min_score,
            "engine": "rapidocr-onnxruntime/PP-OCRv4",
        }

    def run(self, ctx: StageContext) -> StageOutput:
        from vidreason.tools.ocr import run_ocr
        from vidreason.tools.video import iter_frames

        s = ctx.settings
        index = ctx.index

        def keyframes() -> Any:
            for chunk in iter_frames(ctx.path, 1.0 / s.ocr_interval_s, short_side=s.ocr_short_side, chunk=4):
                for frame, t in zip(chunk.frames, chunk.timestamps, strict=True):
                    yield index.frame_at(float(t)), float(t), frame

        items = run_ocr(keyframes(), min_score=s.ocr_min_score)
        return StageOutput(
            artefact=items,
            models={"ocr": "rapidocr-onnxruntime/PP-OCRv4"},
            metrics={"items": float(len(items))},
        )


# ------------------------------------------------------------------------------------------------ visual
class FrameEmbeddings:
    """Image embeddings of every table frame (``vectors[i]`` for ``frame_index`` i) and the model that made them."""

    def __init__(self, vectors: np.ndarray, model_id: str, random_weights: bool = False) -> None:
        self.vectors = vectors
        self.model_id = model_id
        self.random_weights = random_weights

    def __len__(self) -> int:
        return len(self.vectors)


class _EmbedConsumer(FrameConsumer):
    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self.parts: list[np.ndarray] = []

    def consume(self, chunk: FrameChunk) -> None:
        self.parts.append(self.encoder.encode_images(chunk.frames).astype(np.float16))

    def close(self) -> StageOutput:
        vectors = np.concatenate(self.parts) if self.parts else np.zeros((0, 0), np.float16)
        random = bool(getattr(self.encoder, "random_weights", False))
        out = FrameEmbeddings(vectors, self.encoder.model_id, random)
        reason = "random weights (tests/benchmarks only): visual scores are meaningless" if random else None
        return StageOutput(
            artefact=out,
            status="degraded" if random else "ok",
            reason=reason,
            models={
                "visual": self.encoder.model_id,
                "precision": str(getattr(self.encoder, "precision", "fp32")),
            },
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
        if settings.visual_scorer == "blip2":
            return {"scorer": "blip2", "model": settings.blip2_model}
        return {
            "scorer": "clip",
            "model": settings.clip_model,
            "pretrained": settings.clip_pretrained,
            "precision": settings.embed_precision,
        }

    def open(self, ctx: StageContext) -> FrameConsumer:
        from vidreason.tools.embed import load_visual_encoder

        return _EmbedConsumer(load_visual_encoder(ctx.settings))  # ModelUnavailable -> degraded by the builder

    def save(self, artefact: FrameEmbeddings, folder: Path) -> None:
        np.save(folder / "vectors.npy", artefact.vectors)
        (folder / "model.json").write_text(
            json.dumps({"model_id": artefact.model_id, "random_weights": artefact.random_weights})
        )

    def load(self, folder: Path) -> FrameEmbeddings:
        meta = json.loads((folder / "model.json").read_text())
        return FrameEmbeddings(np.load(folder / "vectors.npy"), meta["model_id"], meta["random_weights"])


class _HistConsumer(FrameConsumer):
    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def consume(self, chunk: FrameChunk) -> None:
        from vidreason.tools.shots.content import colour_histograms

        self.parts.append(colour_histograms(chunk.frames).astype(np.float32))

    def close(self) -> StageOutput:
        return StageOutput(artefact=np.concatenate(self.parts) if self.parts else np.zeros((0, 0), np.float32))


class HistogramsStage(Stage):
    """Colour histograms of every table frame: the visual similarity the hierarchy uses without CLIP weights."""

    name = "histograms"
    version = "1"
    requires = ("frames",)
    frame_input: ClassVar[FrameInput] = "table"

    def open(self, ctx: StageContext) -> FrameConsumer:
        return _HistConsumer()

    def save(self, artefact: np.ndarray, folder: Path) -> None:
        np.save(folder / "histograms.npy", artefact)

    def load(self, folder: Path) -> np.ndarray:
        return np.load(folder / "histograms.npy")


# ------------------------------------------------------------------------------------------------ hierarchy
class GraphStage(Stage):
    """The shot -> scene -> event -> video graph (scenes from visual similarity plus transcript continuity)."""

    name = "graph"
    version = "1"
    requires = ("frames", "shots", "histograms")
    uses = ("embeddings", "transcript")

    def run(self, ctx: StageContext) -> StageOutput:
        from vidreason.tools.hierarchy_build import build_graph

        shots = ctx.artefact("shots")
        emb = ctx.artefact("embeddings")
        use_emb = emb is not None and not emb.random_weights and emb.vectors.ndim == 2
        graph = build_graph(
            shots,
            ctx.info.duration,
            ctx.frame_times,
            embeddings=emb.vectors.astype(np.float32) if use_emb else None,
            histograms=None if use_emb else ctx.artefact("histograms"),
            transcript=ctx.artefact("transcript"),
        )
        reason = graph.meta.get("degraded")
        return StageOutput(
            artefact=graph,
            status="degraded" if reason else "ok",
            reason=reason,
            models={"similarity": "embeddings" if use_emb else "histograms"},
            metrics={level: float(len(graph.nodes(level))) for level in ("event", "scene", "shot")},
        )

    def save(self, artefact: Any, folder: Path) -> None:
        (folder / "graph.json").write_text(artefact.to_json())

    def load(self, folder: Path) -> Any:
        from vidreason.tools.hierarchy import VideoGraph

        return VideoGraph.from_json((folder / "graph.json").read_text())
