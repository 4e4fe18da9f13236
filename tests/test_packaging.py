"""The repository root installs as the single namespace ``vidreason``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"vidreason"}
    for init in ROOT.rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if (rel.parts and rel.parts[0] in {"tests", "benchmarks", ".mypy", "build"}) or ".egg-info" in str(rel):
            continue
        if rel.parts:
            found.add("vidreason." + ".".join(rel.parts))
    assert found == listed


def test_namespace_imports_and_no_top_level_modules() -> None:
    code = (
        "import importlib.util, vidreason, vidreason.tools, vidreason.agent, vidreason.graphs, vidreason.evals\n"
        "assert all(importlib.util.find_spec(n) is None for n in ('agent', 'tools', 'graphs', 'evals'))\n"
        "import sys; assert 'torch' not in sys.modules and 'litellm' not in sys.modules, 'import must stay light'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")


def test_cli_entry_point_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "vidreason", "--help"], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0 and "index" in out.stdout and "ask" in out.stdout


def test_cli_works_without_the_optional_extras() -> None:
    """`pip install .[offline]` has no fastapi, uvicorn, mcp or ray: every command's parser must still build, and
    the commands that need an extra say which (a fresh install once failed on `import fastapi` in `ui --help`)."""
    code = (
        "import sys\n"
        "for name in ('fastapi', 'starlette', 'uvicorn', 'mcp', 'ray', 'playwright'):\n"
        "    sys.modules[name] = None  # any import of it raises ImportError\n"
        "from vidreason.agent.cli import build_parser\n"
        "parser = build_parser()\n"
        "for args in (['--help'], ['ask', '--help'], ['ui', '--help'], ['mcp', '--help'], ['eval', '--help']):\n"
        "    try:\n"
        "        parser.parse_args(args)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, args\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_import_asks_openmp_threads_to_sleep_when_idle_unless_the_user_chose() -> None:
    code = "import os, vidreason; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", env=env)
    assert out.stdout.strip() == "PASSIVE", out.stderr[-2000:]
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", env=env)
    assert out.stdout.strip() == "ACTIVE", out.stderr[-2000:]
