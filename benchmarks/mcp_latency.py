"""Latency of ``vidreason mcp`` as an MCP client sees it (the SDK's client over stdio, the server a subprocess).

Usage: python benchmarks/mcp_latency.py [--minutes 1] [--repeats 5] [--tiny] [--set NAME=VALUE ...]

Measures: server start + handshake; ``index_video`` on a cold cache (and its progress notifications); a first
round of ``ask``s (models load on the first) and then each question again (the server keeps the reasoner, its
models and the opened index); new questions on the warm server; ``ground``, ``transcript``, ``frames``,
``video_info``; and a restarted server's first and second ``ask`` on the cached index. The video is a generated
narration over moving test patterns (``_common.make_long_video``). ``--tiny`` uses random-weight tiny CLIP (what
the tests use) instead of the configured model. Writes benchmarks/results/mcp_latency.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from _common import machine as common_machine
from _common import make_long_video, report
from mcp import ClientSession, StdioServerParameters, stdio_client

#: asked once to warm up (models load on the first), then again ``--repeats`` times each
QUESTIONS = [
    "What is said right after the budget is mentioned?",
    "When is the library first mentioned, and what is on screen then?",
    "How many times is the budget mentioned?",
    "What happens at the end?",
]
#: asked once each on the warm server: new questions, new grounding, models already loaded
NEW_QUESTIONS = [
    "What is said right after the harbor is mentioned?",
    "How many times is the bridge mentioned?",
    "Is the library mentioned before the bridge?",
]


def server_args(root: Path, cache: Path, args: argparse.Namespace) -> list[str]:
    out = ["-m", "vidreason", "mcp", "--allow", str(root), "--cache-dir", str(cache), "--device", "cpu"]
    out += ["--profile", "fast"]
    if args.tiny:
        out += ["--set", "clip_model=vidreason-tiny-vit", "--set", "clip_pretrained=random"]
    for item in args.set:
        out += ["--set", item]
    return out


async def timed(session: ClientSession, tool: str, arguments: dict[str, Any], **kw: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = await session.call_tool(tool, arguments, **kw)
    wall = time.perf_counter() - t0
    if result.is_error:
        raise RuntimeError(f"{tool} failed: {result.content[0].text}")
    return wall, result


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_s": round(statistics.median(ordered), 4),
        "p90_s": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 4),
        "max_s": round(ordered[-1], 4),
        "min_s": round(ordered[0], 4),
        "n": len(ordered),
    }


async def session(params: StdioServerParameters, video: str, repeats: int, first: bool) -> dict[str, Any]:
    """One server's life: on the first, index cold and ask every question twice over; on a restarted one, the
    first and second ``ask`` on the cached index."""
    out: dict[str, Any] = {}
    progress: list[float] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async def ask(q: str) -> tuple[float, Any]:
        return await timed(s, "ask", {"video": video, "question": q})

    t0 = time.perf_counter()
    async with stdio_client(params, errlog=sys.stderr) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        out["start_and_handshake_s"] = round(time.perf_counter() - t0, 3)
        if first:
            wall, r = await timed(s, "index_video", {"video": video}, progress_callback=on_progress)
            out["index_video_cold_s"] = round(wall, 3)
            out["progress_notifications"] = len(progress)
            out["index"] = {k: r.structured_content[k] for k in ("duration", "fps", "frames", "degraded")}
        answers: dict[str, str] = {}
        first_round: dict[str, float] = {}
        for q in QUESTIONS if first else QUESTIONS[:1]:
            wall, r = await ask(q)
            first_round[q] = round(wall, 3)
            answers[q] = r.structured_content["answer"]
        out["first_ask_s"] = first_round[QUESTIONS[0]]
        out["second_ask_same_question"] = summary([(await ask(QUESTIONS[0]))[0] for _ in range(repeats)])
        if not first:
            return out
        out["first_round_per_question_s"] = first_round
        per_question = {q: [(await ask(q))[0] for _ in range(repeats)] for q in QUESTIONS}
        out["second_ask_per_question"] = {q: summary(v) for q, v in per_question.items()}
        out["second_ask_all"] = summary([w for v in per_question.values() for w in v])
        new: list[float] = []
        for q in NEW_QUESTIONS:
            wall, r = await ask(q)
            new.append(wall)
            answers[q] = r.structured_content["answer"]
        out["new_question_on_warm_server"] = summary(new)
        out["ask_server_side_s"] = r.structured_content["seconds"]
        out["answers"] = answers
        for name, tool, arguments in [
            ("ground", "ground", {"video": video, "query": "the budget"}),
            ("transcript", "transcript", {"video": video, "start": 0, "end": 30}),
            ("frames_4", "frames", {"video": video, "start": 0, "end": 30, "n": 4}),
            ("video_info", "video_info", {"video": video}),
        ]:
            out[name] = summary([(await timed(s, tool, arguments))[0] for _ in range(repeats)])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=1.0, help="length of the generated video")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tiny", action="store_true", help="random-weight tiny CLIP (as in the tests)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a server setting")
    args = ap.parse_args()
    source = make_long_video(args.minutes, width=640, height=360, fps=25, speech=True)
    with tempfile.TemporaryDirectory(prefix="vidreason-mcp-bench-") as tmp:
        params = StdioServerParameters(
            command=sys.executable, args=server_args(source.parent, Path(tmp) / "cache", args), env=dict(os.environ)
        )
        machine = common_machine()
        warm = anyio.run(session, params, source.name, args.repeats, True)
        restarted = anyio.run(session, params, source.name, args.repeats, False)
    report(
        "mcp_latency",
        {
            "cpu": machine,
            "video": {"minutes": args.minutes, "size": "640x360", "speech": True},
            "settings": {"profile": "fast", "device": "cpu", "tiny_clip": args.tiny, "set": args.set},
            "warm_server": warm,
            "restarted_server_on_cached_index": restarted,
            "note": "wall times seen by the MCP client over stdio; the machine may have been shared (see load_avg)",
        },
    )


if __name__ == "__main__":
    main()
