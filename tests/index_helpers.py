"""A deliberately slow index stage, for cache atomicity tests (imported by tests and their subprocesses)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from vidreason.tools.index.stage import Stage, StageContext, StageOutput


class SlowStage(Stage):
    """Sleeps ``seconds`` (from the environment of the test), then writes the frame count."""

    name = "slow_test"
    requires = ("frames",)

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.runs = 0

    def run(self, ctx: StageContext) -> StageOutput:
        self.runs += 1
        (ctx.folder / "partial.txt").write_text("started")
        time.sleep(self.seconds)
        return StageOutput(artefact={"frames": len(ctx.frame_times)})

    def save(self, artefact: Any, folder: Path) -> None:
        (folder / "out.json").write_text(json.dumps(artefact))

    def load(self, folder: Path) -> Any:
        return json.loads((folder / "out.json").read_text())
