"""The index stage that builds the shot -> scene -> event -> video hierarchy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vidreason.tools.index.stage import Stage, StageContext, StageOutput


class GraphStage(Stage):
    """The shot -> scene -> event -> video graph (scenes from visual similarity plus transcript continuity)."""

    name = "graph"
    version = "1"
    requires = ("frames", "shots", "histograms")
    uses = ("embeddings", "transcript", "speakers")

    def run(self, ctx: StageContext) -> StageOutput:
        from vidreason.tools.index.hierarchy_build import build_graph

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
            speakers=_turns(ctx.artefact("speakers")),
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
        from vidreason.tools.index.hierarchy import VideoGraph

        return VideoGraph.from_json((folder / "graph.json").read_text())


def _turns(diarization: Any) -> list[Any] | None:
    """The speaker turns of a speakers artefact (None when the stage did not run)."""
    return list(diarization.turns) if diarization is not None else None
