"""The registry of index stages (``name -> "module:Class"``, imported only when a stage runs or loads), in build
order, and the choice of stages a build runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vidreason.tools.core.registry import LazyRegistry
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.stage import Stage

#: stage name -> "module:Class"; order = build order
STAGES: LazyRegistry[Callable[[], Stage]] = LazyRegistry(
    "index stage",
    {
        "frames": "vidreason.tools.index.stages.basic:FramesStage",
        "thumbnails": "vidreason.tools.index.stages.basic:ThumbnailStage",
        "histograms": "vidreason.tools.index.stages.visual:HistogramsStage",
        "embeddings": "vidreason.tools.index.stages.visual:EmbeddingsStage",
        "shots": "vidreason.tools.index.stages.perception:ShotsStage",
        "transcript": "vidreason.tools.index.stages.perception:TranscriptStage",
        "speakers": "vidreason.tools.index.stages.speakers:SpeakersStage",
        "ocr": "vidreason.tools.index.stages.perception:OcrStage",
        "graph": "vidreason.tools.index.stages.hierarchy:GraphStage",
        "captions": "vidreason.tools.index.stages.captions:CaptionsStage",
        "summaries": "vidreason.tools.index.stages.captions:SummariesStage",
    },
)

_instances: dict[str, Stage] = {}


def register_stage(name: str, target: str | Callable[[], Stage]) -> None:
    """Add (or replace) a stage: ``target`` is ``"module:Class"`` or a zero-argument factory."""
    STAGES.register(name, target)
    _instances.pop(name, None)


def registered(name: str) -> bool:
    """Whether a stage ``name`` is registered in this build."""
    return name in STAGES


def get_stage(name: str) -> Stage:
    """The stage instance registered under ``name`` (one per process; stages hold no models)."""
    if name not in _instances:
        _instances[name] = STAGES.load(name)()
    return _instances[name]


def enabled_stages(settings: Settings, only: Sequence[str] | None = None) -> list[Stage]:
    """Stages to build, in registry order; ``only`` restricts to those names plus what they require."""
    wanted: set[str] | None = None
    if only is not None:
        wanted = {"frames"}
        todo = list(only)
        while todo:
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo.extend(get_stage(name).requires)
    stages = []
    for name in STAGES:
        if wanted is not None and name not in wanted:
            continue
        stage = get_stage(name)
        if name == "frames" or stage.enabled(settings) or (only is not None and name in only):
            stages.append(stage)
    return stages


__all__ = ["STAGES", "enabled_stages", "get_stage", "register_stage", "registered"]
