"""How fast the command line answers, each command in a fresh process, offline (``HF_HUB_OFFLINE=1``).

    python benchmarks/cli_speed.py                 # 5 runs per command; writes benchmarks/results/cli_speed.json
    python benchmarks/cli_speed.py --runs 3 --cache-dir /tmp/vr-bench   # reuse a cache between invocations

First it prepares a cache (timed as "first run"): builds the demo video, indexes it, asks the demo question
once. Then it times, in fresh processes, ``vidreason --help``, ``info sample``, ``cache list``, ``trace --list``,
``trace ID``, ``index sample`` (a cache hit) and ``ask sample QUESTION`` on the cached index: wall seconds, CPU
seconds (user + sys of that process) and peak RSS, median/min/max over the runs, and whether the command
imported torch (``python -X importtime``). ``--steps`` adds an in-process breakdown of one ``ask`` (imports,
settings, index load, planner, text-model load, graph run). The load average before and after is recorded:
numbers taken while other work runs are not the machine's speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import report

QUESTION = "What is said after the singer is introduced?"
FAST = ["--profile", "fast"]


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDREASON_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", VIDREASON_CACHE_DIR=str(cache))
    return env


def run_once(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One fresh process: wall seconds, and CPU seconds (user + sys) and peak RSS from the kernel's
    accounting of that child (``wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "rc": proc.returncode,
            "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


def _stats(xs: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(xs), 3), "min": round(min(xs), 3), "max": round(max(xs), 3)}


def timed(argv: list[str], env: dict[str, str], runs: int) -> dict[str, Any]:
    """``runs`` fresh processes of ``argv`` after one warm-up: median/min/max wall, CPU and peak RSS."""
    run_once(argv, env)  # warm-up: file cache, .pyc
    done = []
    for _ in range(runs):
        r = run_once(argv, env)
        if r["rc"] != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {r['rc']}: {r['stderr'][-800:]}")
        done.append(r)
    imports = subprocess.run([sys.executable, "-X", "importtime", *argv[1:]], env=env, capture_output=True, text=True)
    modules = [line.rsplit("|", 1)[-1].strip() for line in imports.stderr.splitlines() if "|" in line]
    return {
        "argv": " ".join(argv[1:]),
        "wall_s": _stats([r["wall_s"] for r in done]),
        "cpu_s": _stats([r["cpu_s"] for r in done]),
        "peak_rss_mb": _stats([r["rss_mb"] for r in done]),
        "modules_imported": len(modules),
        "imports_torch": "torch" in modules,
        "imports_langgraph": any(m.startswith("langgraph") for m in modules),
    }


_STEPS = """
import json, sys, time
t = {{}}
c = time.perf_counter(); p = time.process_time()
def lap(name):
    global c, p
    t[name] = {{"wall_s": round(time.perf_counter() - c, 3), "cpu_s": round(time.process_time() - p, 3)}}
    c = time.perf_counter(); p = time.process_time()
from vidreason.agent.reasoner import VideoReasoner
from vidreason.graphs.reason import builder
from vidreason.tools.planning.planner import make_plan
from vidreason.tools.retrieval.grounder import text_matcher
lap("imports")
from vidreason.tools.core.settings import Settings
vr = VideoReasoner(Settings(profile="fast"))
lap("settings + reasoner")
index = vr.index("sample")
lap("index load (cache hit)")
make_plan({q!r}, vr.settings.llm_config, vr.llm, max_chars=vr.settings.max_question_chars)
lap("planner (offline)")
m = text_matcher(index); m.uses_dense
lap("text model load")
a = vr.ask("sample", {q!r})
lap("graph run (ask)")
print(json.dumps({{"steps": t, "sys_modules_torch": "torch" in sys.modules, "answer": a.text,
                  "citations": len(a.citations)}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cache-dir", type=Path, help="cache to prepare and use (default: a fresh temporary one)")
    ap.add_argument("--no-steps", action="store_true", help="skip the in-process breakdown of ask")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="vr-cli-speed-") as tmp:
        cache = args.cache_dir or Path(tmp)
        env = _env(cache)
        vr = [sys.executable, "-m", "vidreason"]
        load_before = os.getloadavg()
        first = {}
        for name, argv in (
            ("index sample (builds the demo if needed)", [*vr, "index", "sample", *FAST]),
            ("ask sample (first)", [*vr, "ask", "sample", QUESTION, *FAST]),
        ):
            r = run_once(argv, env)
            if r["rc"] != 0:
                raise RuntimeError(f"{name} failed: {r['stderr'][-1500:]}")
            first[name] = {
                "wall_s": round(r["wall_s"], 2),
                "cpu_s": round(r["cpu_s"], 2),
                "output": r["stdout"].strip().splitlines()[:3],
            }
        trace_id = run_once([*vr, "trace", "--list"], env)["stdout"].split()[0]
        commands = {
            "--help": [*vr, "--help"],
            "info sample": [*vr, "info", "sample", *FAST],
            "cache list": [*vr, "cache", "list"],
            "trace --list": [*vr, "trace", "--list"],
            "trace ID": [*vr, "trace", trace_id],
            "index sample (cache hit)": [*vr, "index", "sample", *FAST],
            "ask sample (cached index)": [*vr, "ask", "sample", QUESTION, *FAST],
        }
        results = {}
        for name, argv in commands.items():
            results[name] = timed(argv, env, args.runs)
            print(f"{name:<28} wall {results[name]['wall_s']}  cpu {results[name]['cpu_s']}", file=sys.stderr)
        steps = None
        if not args.no_steps:
            out = subprocess.run(
                [sys.executable, "-c", _STEPS.format(q=QUESTION)], env=env, capture_output=True, text=True, check=True
            )
            steps = json.loads(out.stdout.strip().splitlines()[-1])
        load_after = os.getloadavg()
    from vidreason.tools.core.devices import cpu_model

    report(
        "cli_speed",
        {
            "cpu_model": cpu_model(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
            "runs": args.runs,
            "question": QUESTION,
            "first_run": first,
            "commands": results,
            "ask_steps": steps,
        },
    )


if __name__ == "__main__":
    main()
