"""The index stage interface and the registry of stages.

A stage turns the video (or earlier stages' artefacts) into one artefact stored in its own folder
``stages/<name>-<key>/`` of the video's index. The key hashes the stage's version, its parameters (model ids,
settings that change the output) and the keys of the stages it reads, so changing one model recomputes only
the stages that depend on it. Stages that look at pixels are *frame stages*: they all share one decode pass.
"""

from __future__ import annotations

import hashlib
import json
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import numpy as np

from vidreason.tools.core.media import FrameChunk, VideoInfo
from vidreason.tools.core.models import ModelRegistry
from vidreason.tools.core.settings import Settings

#: which frames a stage looks at: None (no pixels), the frame table, or the denser analysis grid
FrameInput = Literal["table", "analysis"] | None


@dataclass
class StageOutput:
    """What a stage produced: the artefact (``None`` when skipped) and how it went."""

    artefact: Any
    status: Literal["ok", "degraded", "skipped", "failed"] = "ok"
    reason: str | None = None
    models: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


class IndexReader(Protocol):
    """What a stage may read of the index being built (``VideoIndex`` implements it)."""

    @property
    def frame_times(self) -> np.ndarray: ...

    def get(self, name: str) -> Any: ...

    def has(self, name: str) -> bool: ...

    def frame_at(self, t: float) -> int: ...


def _set(event: threading.Event) -> threading.Event:
    event.set()
    return event


@dataclass
class StageContext:
    """What a running stage may read: the video, settings, the frame table, earlier stages' artefacts and the
    model registry to load its models from."""

    path: Path
    info: VideoInfo
    settings: Settings
    index: IndexReader
    folder: Path  # the stage's own (temporary) folder; becomes the stage folder atomically on success
    models: ModelRegistry
    #: set once the frame pass (decoding, CLIP) is over; a stage running alongside it waits for it before a
    #: memory-heavy step that can wait (the transcript's language check), so their peaks do not add up
    frames_done: threading.Event = field(default_factory=lambda: _set(threading.Event()))

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
    #: globs of files read one at a time after loading (thumbnails): checked by size when the index opens and
    #: by checksum in ``vidreason cache verify``; every other file is checksummed when the artefact loads
    lazy_files: ClassVar[tuple[str, ...]] = ()
    #: built with the LLM: with ``settings.rebuild_llm_degraded`` a degraded result is rebuilt by the next
    #: build while an LLM is configured (the LLM was down when it was built)
    llm_built: ClassVar[bool] = False

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
