"""Shared setup of the reliability tests: fast settings, stages that crash or degrade on demand, and running the
CLI against a read-only cache."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from vidreason.tools.core.settings import Settings
from vidreason.tools.index.stage import Stage, StageContext, StageOutput

REPO_ROOT = Path(__file__).resolve().parents[1]


def fast_settings(cache_dir: Path, **kw: Any) -> Settings:
    """CPU settings without the visual channel (no CLIP weights needed), isolated cache."""
    return Settings(profile="fast", device="cpu", cache_dir=cache_dir, visual_enabled=False, **kw)


def cli_args(cache_dir: Path) -> list[str]:
    return ["--cache-dir", str(cache_dir), "--profile", "fast", "--device", "cpu", "--set", "visual_enabled=false"]


class FlakyStage(Stage):
    """Reads the frame table; ``mode`` says how it ends: ``ok``, ``degraded`` (as if the LLM was down) or
    ``crash``. Counts its runs."""

    name = "flaky_test"
    requires = ("frames",)
    llm_built = True

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.runs = 0

    def run(self, ctx: StageContext) -> StageOutput:
        self.runs += 1
        if self.mode == "crash":
            raise ZeroDivisionError("float division by zero")
        artefact = {"frames": len(ctx.frame_times)}
        if self.mode == "degraded":
            return StageOutput(artefact=artefact, status="degraded", reason="LLM failed; extractive fallback")
        return StageOutput(artefact=artefact)

    def save(self, artefact: Any, folder: Path) -> None:
        (folder / "out.json").write_text(json.dumps(artefact))

    def load(self, folder: Path) -> Any:
        return json.loads((folder / "out.json").read_text())


CRASHY_SOURCE = '''
"""A stage module written by a test (its source file is part of a failure's fingerprint)."""
from vidreason.tools.index.stage import StageOutput
from reliability_helpers import FlakyStage


def compute(n):
    return {compute}


class CrashyStage(FlakyStage):
    name = "crashy_test"

    def run(self, ctx):
        self.runs += 1
        return StageOutput(artefact={{"value": compute(len(ctx.frame_times))}})
'''


def write_crashy_module(folder: Path, compute: str) -> Path:
    """(Re)write ``crashy_stage.py`` in ``folder`` with ``compute(n)`` returning the expression ``compute``."""
    path = folder / "crashy_stage.py"
    path.write_text(textwrap.dedent(CRASHY_SOURCE).format(compute=compute))
    return path


# ------------------------------------------------------------------------------------------------ read-only
def _make_read_only(path: Path) -> None:
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            p = Path(root) / name
            if not p.is_symlink():
                p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(path: Path) -> None:
    for root, dirs, files in os.walk(path):
        Path(root).chmod(Path(root).stat().st_mode | stat.S_IWUSR)
        for name in [*dirs, *files]:
            p = Path(root) / name
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | stat.S_IWUSR)


def _read_only_prefix() -> list[str]:
    """A command prefix under which file modes apply: root ignores them unless it drops its capabilities."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, and setpriv (util-linux) is missing to drop the file-mode override")
    prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"]
    if subprocess.run([*prefix, "true"], capture_output=True, check=False).returncode != 0:
        pytest.skip("running as root, and capabilities cannot be dropped here (setpriv failed)")
    return prefix


def read_only(cache: Path) -> list[str]:
    """Make ``cache`` read-only; returns the command prefix that makes that hold for this process' user.
    Skips when writes would still succeed."""
    _make_read_only(cache)
    prefix = _read_only_prefix()
    probe = subprocess.run([*prefix, "touch", str(cache / "probe")], capture_output=True, check=False)
    if probe.returncode == 0:
        make_writable(cache)
        pytest.skip("this file system ignores file modes: cannot make a read-only cache")
    return prefix


#: ``vidreason ARGS`` with the BM25-only text matcher installed first (loading the dense model's library takes a
#: minute on a busy machine; the matcher is not what these tests are about)
_FAST_CLI = """
import sys
sys.path.insert(0, {tests!r})
from reason_helpers import install_fast_matcher
from vidreason.agent.cli import main
from vidreason.tools.core.settings import Settings
install_fast_matcher(Settings(profile="fast", device="cpu"))
sys.exit(main(sys.argv[1:]))
"""


def run_cli(
    args: list[str], prefix: list[str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``vidreason ARGS`` in a subprocess (under ``prefix``, e.g. the read-only one), BM25 text matching."""
    code = _FAST_CLI.format(tests=str(Path(__file__).parent))
    cmd = [*(prefix or []), sys.executable, "-c", code, *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600, check=False)


def one_error_line(stderr: str) -> str:
    """The ``vidreason: error:`` line of ``stderr``; fails unless it is the only such line and has no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("vidreason: ")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("vidreason: error: "), stderr
    return lines[0]
