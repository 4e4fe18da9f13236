"""vidreason with a local llama.cpp server and the packaged SmolLM2-135M: how often each LLM call returns
schema-valid output on the first attempt, and how long calls and whole ``ask``s take.

Usage::

    vidreason eval make-temporal-qa --out tqa/ --seed 1 --videos 3 --no-check     # or any temporal-QA cases
    python benchmarks/local_llm.py tqa/cases_s1.jsonl [--mode llguidance] [--threads 2] [--limit N]

Starts the server (``vidreason.tools.llm.local_server``: xllamacpp if installed, else llama-cpp-python) on
loopback, indexes each video with the LLM (its summaries are LLM calls too), asks every case, and writes
``benchmarks/results/local_llm_<mode>.json``: per purpose (plan, answer, verify, summary) the calls, the share
valid on the first reply, attempts, latency and tokens; per ``ask`` the wall time; and each answer with the
offline answer of the same question beside it (the 135M model's semantics are weak: compare them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, report


def load_cases(paths: list[Path], limit: int | None) -> list[dict[str, Any]]:
    cases = []
    for path in paths:
        for line in path.read_text().splitlines():
            if line.strip():
                case = json.loads(line)
                video = Path(case["video"])
                case["video"] = str(video if video.is_absolute() else (path.parent / video).resolve())
                cases.append(case)
    return cases[:limit] if limit else cases


def purpose_of(call: Any) -> str:
    return call.purpose.split(" ", 1)[0] or "?"


def summarise_calls(calls: list[Any]) -> dict[str, Any]:
    """Per purpose: count, first-reply validity, attempts, latency and tokens."""
    by: dict[str, list[Any]] = defaultdict(list)
    for c in calls:
        by[purpose_of(c)].append(c)
    out: dict[str, Any] = {}
    for purpose, group in sorted(by.items()):
        first_valid = [c for c in group if c.ok and not c.validation_errors]
        lat = [c.latency_s for c in group]
        out[purpose] = {
            "calls": len(group),
            "valid_first_reply": len(first_valid),
            "valid_first_reply_share": round(len(first_valid) / len(group), 4),
            "ok_after_retries": sum(c.ok for c in group),
            "timeouts": sum(1 for c in group if c.error and "LLMTimeout" in c.error),
            "modes": {m: sum(c.structured == m for c in group) for m in sorted({c.structured for c in group})},
            "attempts_mean": round(statistics.mean(c.attempts for c in group), 3),
            "latency_s_median": round(statistics.median(lat), 2),
            "latency_s_max": round(max(lat), 2),
            "prompt_tokens_mean": round(statistics.mean(c.prompt_tokens for c in group)),
            "completion_tokens_mean": round(statistics.mean(c.completion_tokens for c in group)),
            "errors": sorted({(c.error or "")[:160] for c in group if not c.ok})[:5],
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="+", type=Path, help="temporal-QA case files (JSONL)")
    ap.add_argument("--mode", default="auto", help="llm_structured_output (auto, json_schema, llguidance, ...)")
    ap.add_argument("--backend", default=None, help="xllamacpp or llama-cpp-python (default: first installed)")
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--limit", type=int, default=None, help="only the first N cases")
    ap.add_argument("--cache", type=Path, default=None, help="index cache (default: a fresh temporary folder)")
    ap.add_argument("--tag", default="", help="suffix of the result file name (local_llm_<mode>_<tag>.json)")
    ap.add_argument("--no-offline", action="store_true", help="skip the offline answers beside the LLM's")
    args = ap.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from vidreason.agent.reasoner import VideoReasoner
    from vidreason.tools.core.settings import Settings
    from vidreason.tools.llm.client import recording_calls
    from vidreason.tools.llm.local_server import installed_backends, local_server

    cases = load_cases(args.cases, args.limit)
    cache = args.cache or Path(tempfile.mkdtemp(prefix="vidreason-local-llm-"))
    backend = args.backend or installed_backends()[0]
    log_path = cache / "server.log"
    cache.mkdir(parents=True, exist_ok=True)
    t_server = time.perf_counter()
    with local_server(backend, threads=args.threads, log_path=log_path) as server:  # type: ignore[arg-type]
        startup_s = time.perf_counter() - t_server
        settings = Settings(
            profile="fast",
            device="cpu",
            cache_dir=cache / args.mode,
            llm=server.model,
            llm_api_base=server.api_base,
            llm_structured_output=args.mode,  # type: ignore[arg-type]
            llm_timeout_s=600,
            llm_max_output_tokens=512,
            ask_timeout_s=1800,
            clip_model="vidreason-tiny-vit",  # no CLIP weights offline (as benchmarks/temporal_qa.py)
            clip_pretrained="random",
        )
        offline = VideoReasoner(settings.override(llm=None))  # same cache: only the summaries differ
        reasoner = VideoReasoner(settings)
        index_calls: list[Any] = []
        index_s: dict[str, float] = {}
        asks: list[dict[str, Any]] = []
        all_calls: list[Any] = []
        for case in cases:
            video = case["video"]
            if video not in index_s:
                t = time.perf_counter()
                with recording_calls() as calls:
                    reasoner.index(video)
                index_s[video] = round(time.perf_counter() - t, 2)
                index_calls += calls
                if not args.no_offline:
                    offline.index(video)
            t = time.perf_counter()
            answer = reasoner.ask(video, case["question"])
            wall = time.perf_counter() - t
            steps = reasoner.trace(answer.trace_id).steps
            calls = [c for s in steps for c in s.llm_calls]
            all_calls += calls
            record = {
                "id": case.get("id"),
                "type": case.get("type"),
                "question": case["question"],
                "answer": answer.text,
                "confidence": answer.confidence,
                "planner": answer.plan.planner if answer.plan else None,
                "degraded": [d for d in answer.degraded if not d.startswith(("captions", "ocr"))],
                "wall_s": round(wall, 2),
                "llm_s": round(sum(c.latency_s for c in calls), 2),
                "calls": [
                    {
                        "purpose": c.purpose,
                        "mode": c.structured,
                        "ok": c.ok,
                        "attempts": c.attempts,
                        "first_reply_valid": c.ok and not c.validation_errors,
                        "latency_s": round(c.latency_s, 2),
                        "tokens": [c.prompt_tokens, c.completion_tokens],
                    }
                    for c in calls
                ],
            }
            if not args.no_offline:
                record["offline_answer"] = offline.ask(video, case["question"]).text
            asks.append(record)
            print(f"{wall:6.1f}s {case['question'][:60]!r} -> {answer.text[:80]!r}", flush=True)
    calls_total = all_calls + index_calls
    structured = [c for c in calls_total if c.structured != "text"]
    walls = [a["wall_s"] for a in asks]
    report(
        f"local_llm_{args.mode}" + (f"_{args.tag}" if args.tag else ""),
        {
            "note": "contended machine unless stated otherwise; re-run this script on an idle machine",
            "server": {"backend": backend, "threads": args.threads, "startup_s": round(startup_s, 2)},
            "mode": args.mode,
            "cases": len(cases),
            "videos": len(index_s),
            "machine_load": os.getloadavg(),
            "cpu": machine(),
            "valid_first_reply_share": round(
                sum(1 for c in structured if c.ok and not c.validation_errors) / max(1, len(structured)), 4
            ),
            "structured_calls": len(structured),
            "per_purpose": summarise_calls(calls_total),
            "index_with_llm_summaries_s": index_s,
            "ask_wall_s": {
                "median": round(statistics.median(walls), 2) if walls else None,
                "max": round(max(walls), 2) if walls else None,
                "mean": round(statistics.mean(walls), 2) if walls else None,
            },
            "asks": asks,
        },
    )


if __name__ == "__main__":
    main()
