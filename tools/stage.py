"""The index stage interface and the registry of stages.

A stage turns the video (or earlier stages' artefacts) into one artefact stored in its own folder
``stages/<name>-<key>/`` of the video's index. The key hashes the stage's version, its parameters (model ids,
settings that change the output) and the keys of the stages it reads, so changing one model recomputes only
the stages that depend on it. Stages that look at pixels are *frame stages*: they all share one decode pass.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from vidreason.agent.errors import ConfigError
from vidreason.agent.settings import Settings
from vidreason.tools.schemas import FrameChunk, VideoInfo

if TYPE_CHECKING:
    from vidreason.tools.index import VideoIndex


#: which frames a stage looks at: None (no pixels), the frame table, or the denser analysis grid
FrameInput = Literal["table", "analysis"] | None


@dataclass
class StageOutput:
    """What a stage produced: the artefact (``None`` when skipped) and how it went."""

    artefact: Any
    status: Literal["ok", "degraded", "skipped"] = "ok"
    reason: str | None = None
    models: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class StageContext:
    """What a running stage may read: the video, settings, the frame table and earlier stages' artefacts."""

    path: Path
    info: VideoInfo
    settings: Settings
    index: VideoIndex
    folder: Path  # the stage's own (temporary) folder; becomes the stage folder atomically on success

    @property
    def frame_times(self) -> np.ndarray:
        return self.index.frame_times

    def artefact(self, stage: str) -> Any:
        """The artefact of an earlier stage (``None`` when it was skipped or degraded to nothing)."""
        return self.index.get(stage)


class FrameConsumer(ABC):
    """Receives the decoded chunks of the shared decode pass, then returns the stage output."""

    @abstractmethod
    def consume(self, chunk: FrameChunk) -> None: ...

    @abstractmethod
    def close(self) -> StageOutput: ...


class Stage(ABC):
    """One indexing stage. Subclasses set ``name`` and implement ``run`` (or ``open`` for frame stages)."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    #: stages whose artefacts this one reads (their keys are part of this stage's key)
    requires: ClassVar[tuple[str, ...]] = ()
    #: optional inputs: read when built; their keys are part of this stage's key when they are enabled
    uses: ClassVar[tuple[str, ...]] = ()
    #: None for stages that do not look at pixels; "table" for frames of the sampled-frame table only;
    #: "analysis" for the (denser) analysis grid at ``settings.shot_fps``
    frame_input: ClassVar[FrameInput] = None

    def enabled(self, settings: Settings) -> bool:
        return True

    def params(self, settings: Settings) -> dict[str, Any]:
        """Everything in the settings that changes this stage's output (part of the cache key)."""
        return {}

    def run(self, ctx: StageContext) -> StageOutput:
        raise NotImplementedError(f"stage {self.name} must implement run() or open()")

    def open(self, ctx: StageContext) -> FrameConsumer:
        raise NotImplementedError(f"stage {self.name} is not a frame stage")

    @abstractmethod
    def save(self, artefact: Any, folder: Path) -> None:
        """Write the artefact into ``folder`` (a fresh temporary folder)."""

    @abstractmethod
    def load(self, folder: Path) -> Any:
        """Read the artefact back from its folder."""

    def key(self, settings: Settings, dependency_keys: dict[str, str]) -> str:
        payload = {
            "stage": self.name,
            "version": self.version,
            "params": self.params(settings),
            "deps": {d: dependency_keys.get(d, "") for d in (*self.requires, *self.uses)},
        }
        blob = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.blake2b(blob, digest_size=6).hexdigest()


class JsonStage(Stage):
    """A stage whose artefact is a pydantic model (or list of them) stored as ``artefact.json``."""

    #: pydantic model class of the artefact; for a list artefact set ``artefact_is_list``
    artefact_type: ClassVar[Any]
    artefact_is_list: ClassVar[bool] = False

    def save(self, artefact: Any, folder: Path) -> None:
        if self.artefact_is_list:
            data = [a.model_dump(mode="json") for a in artefact]
        else:
            data = artefact.model_dump(mode="json")
        (folder / "artefact.json").write_text(json.dumps(data, ensure_ascii=False))

    def load(self, folder: Path) -> Any:
        data = json.loads((folder / "artefact.json").read_text())
        if self.artefact_is_list:
            return [self.artefact_type.model_validate(d) for d in data]
        return self.artefact_type.model_validate(data)


#: stage name -> "module:Class"; imported only when a stage runs or loads. Order = build order.
STAGES: dict[str, str] = {
    "frames": "vidreason.tools.builtin_stages:FramesStage",
    "thumbnails": "vidreason.tools.builtin_stages:ThumbnailStage",
    "histograms": "vidreason.tools.perception_stages:HistogramsStage",
    "embeddings": "vidreason.tools.perception_stages:EmbeddingsStage",
    "shots": "vidreason.tools.perception_stages:ShotsStage",
    "transcript": "vidreason.tools.perception_stages:TranscriptStage",
    "ocr": "vidreason.tools.perception_stages:OcrStage",
    "graph": "vidreason.tools.perception_stages:GraphStage",
    "captions": "vidreason.tools.caption_stages:CaptionsStage",
    "summaries": "vidreason.tools.caption_stages:SummariesStage",
}

_instances: dict[str, Stage] = {}


def register_stage(name: str, target: str | Callable[[], Stage]) -> None:
    """Add (or replace) a stage: ``target`` is ``"module:Class"`` or a zero-argument factory."""
    if isinstance(target, str):
        STAGES[name] = target
    else:
        STAGES[name] = f"<factory:{name}>"
        _instances[name] = target()


def get_stage(name: str) -> Stage:
    """The (cached) stage instance registered under ``name``."""
    if name not in _instances:
        if name not in STAGES:
            import difflib

            close = difflib.get_close_matches(name, STAGES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown index stage {name!r}{hint} (known: {', '.join(STAGES)})")
        module, _, attr = STAGES[name].partition(":")
        _instances[name] = getattr(importlib.import_module(module), attr)()
    return _instances[name]
