"""Index stages for shot captions and the chain of summaries (register them after ``graph``)::

    register_stage("captions", "vidreason.tools.index.stages.captions:CaptionsStage")
    register_stage("summaries", "vidreason.tools.index.stages.captions:SummariesStage")

``captions`` decodes the frame table once more (shots are only known after the shared decode pass) at
``CAPTION_SHORT_SIDE`` and captions every shot of the ``graph`` artefact; with no backend, or weights that do
not load, it is recorded as degraded with the reason. ``summaries`` copies the graph, writes the captions into
it, and summarises every scene, event and the video; its artefact is the annotated graph.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from vidreason.tools.captioning.base import Captioner, CaptionSet, cache_key_parts
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.caption_run import shot_spans, start_caption_run, write_captions
from vidreason.tools.index.stage import JsonStage, Stage, StageContext, StageOutput
from vidreason.tools.index.stages import get_stage, registered

log = logging.getLogger(__name__)

#: short side (px) of the frames decoded for the VLM (the analysis frame table is smaller)
CAPTION_SHORT_SIDE = 448


class CaptionsStage(JsonStage):
    """VLM captions per shot (keyframes with near-duplicates skipped); artefact: :class:`CaptionSet`."""

    name = "captions"
    version = "1"
    requires: ClassVar[tuple[str, ...]] = ("graph",)
    artefact_type = CaptionSet

    def __init__(self, captioner: Captioner | None = None) -> None:
        self._captioner = captioner  # tests inject one; otherwise it loads once per model registry

    def enabled(self, settings: Settings) -> bool:
        return settings.captions.backend != "none"

    def params(self, settings: Settings) -> dict[str, Any]:
        return {**cache_key_parts(settings.captions), "short_side": CAPTION_SHORT_SIDE}

    def run(self, ctx: StageContext) -> StageOutput:
        from vidreason.tools.media.video import iter_frames

        s = ctx.settings
        graph = ctx.artefact("graph")
        run = start_caption_run(s.captions, shot_spans(graph), captioner=self._captioner, models=ctx.models)
        if run.captioner is not None:
            for chunk in iter_frames(ctx.path, s.fps, short_side=CAPTION_SHORT_SIDE, chunk=s.decode_chunk):
                run.consume(chunk)
        result = run.close()
        status = result.status
        return StageOutput(
            artefact=result,
            status="ok" if status.status == "ok" else "degraded",
            reason=status.reason,
            models={"caption": result.model_id or "none"},
            metrics={
                "shots": float(len(result.captions)),
                "frames_seen": float(result.frames_seen),
                "frames_sent": float(result.frames_sent),
                "duplicates": float(result.duplicates),
                "caption_s": result.caption_s,
            },
        )


class SummariesStage(Stage):
    """The graph with captions written in and summaries at every level; artefact: ``VideoGraph``."""

    name = "summaries"
    version = "2"
    requires: ClassVar[tuple[str, ...]] = ("graph",)
    uses: ClassVar[tuple[str, ...]] = ("captions",)
    llm_built: ClassVar[bool] = True

    def params(self, settings: Settings) -> dict[str, Any]:
        from vidreason.tools.index.summary import cache_key_parts as summary_key_parts

        return summary_key_parts(settings.summaries, settings.llm_config)

    def run(self, ctx: StageContext) -> StageOutput:
        from vidreason.tools.index.hierarchy import VideoGraph
        from vidreason.tools.index.summary import summarize_graph

        graph = VideoGraph.from_dict(ctx.artefact("graph").to_dict())  # never mutate the cached graph
        wanted = registered("captions") and get_stage("captions").enabled(ctx.settings)
        captions = ctx.artefact("captions") if wanted and ctx.index.has("captions") else None
        if captions is not None:
            write_captions(graph, captions)
        report = summarize_graph(graph, ctx.settings.summaries, ctx.settings.llm_config)
        st = report.status
        return StageOutput(
            artefact=graph,
            status="ok" if st.status == "ok" else "degraded",
            reason=st.reason,
            models={"summary": st.models.get("summary", "")},
            metrics={
                "computed": float(len(report.computed)),
                **{k: float(v) for k, v in report.methods.items()},
            },
        )

    def save(self, artefact: Any, folder: Path) -> None:
        (folder / "graph.json").write_text(artefact.to_json())

    def load(self, folder: Path) -> Any:
        from vidreason.tools.index.hierarchy import VideoGraph

        return VideoGraph.from_json((folder / "graph.json").read_text())


__all__ = ["CAPTION_SHORT_SIDE", "CaptionsStage", "SummariesStage"]
