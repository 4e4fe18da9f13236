"""``vidreason ground``, ``vidreason ask`` and ``vidreason trace``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from vidreason.agent.options import add_settings_args, settings_from_args
from vidreason.agent.samples import video_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ground",
        help="find when something happens (ranked spans, best first)",
        description="Ground a text query in a video with TFVTG over the indexed channels.",
    )
    p.add_argument("video", type=video_arg, help="a video file (or 'sample' for the demo video)")
    p.add_argument("query")
    p.add_argument("--json", action="store_true", help="print the Grounding as JSON")
    p.add_argument("--top", type=int, default=5, help="spans to print (default 5)")
    p.add_argument("--curves", action="store_true", help="include the similarity curves in --json output")
    add_settings_args(p)
    p.set_defaults(func=cmd_ground)

    p = sub.add_parser("ask", help="answer a question about a video, with cited frames and timestamps")
    p.add_argument("video", type=video_arg, help="a video file (or 'sample' for the demo video)")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    add_settings_args(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("trace", help="show the stored trace of an `ask` run")
    p.add_argument("trace_id", nargs="?", help="the trace id an answer reported (omit with --list)")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    p.add_argument("--redact", action="store_true", help="leave out LLM prompts and responses")
    p.add_argument("--list", action="store_true", help="list recent trace ids")
    add_settings_args(p)
    p.set_defaults(func=cmd_trace)


def cmd_ground(args: argparse.Namespace) -> int:
    from vidreason.agent.reasoner import VideoReasoner

    reasoner = VideoReasoner(settings_from_args(args))
    g = reasoner.ground(args.video, args.query)
    spans = g.spans[: max(args.top, 1)]
    if args.json:
        out: dict[str, Any] = {
            "query": g.query,
            "video": str(args.video),
            "spans": [{"start": s.start, "end": s.end, "score": s.score} for s in spans],
            "degraded": g.degraded,
            "plan": g.plan.model_dump(mode="json") if g.plan else None,
        }
        if args.curves:
            out.update(curve_times=g.curve_times, curves=g.curves)
        print(json.dumps(out, indent=1))
        return 0
    print(f"{g.query!r} in {args.video}:")
    for rank, s in enumerate(spans, start=1):
        print(f"  {rank}. {s.start:8.2f}s - {s.end:8.2f}s   score {s.score:.3f}")
    if not spans:
        print("  no span found")
    for why in g.degraded:
        print(f"  degraded {why}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from vidreason.agent.reasoner import VideoReasoner

    reasoner = VideoReasoner(settings_from_args(args))
    a = reasoner.ask(args.video, args.question)
    if args.json:
        print(a.model_dump_json(indent=1))
        return 0
    print(a.text)
    for c in a.citations:
        quote = f' "{c.text}"' if c.text else ""
        print(
            f"  [{c.channel}] {c.time:.2f}s (frame {c.frame_index}{', ' + c.node_id if c.node_id else ''})"
            f"{quote} - {c.why}"
        )
    print(f"confidence {a.confidence:.2f}; trace {a.trace_id} (vidreason trace {a.trace_id})")
    for why in a.degraded:
        print(f"  degraded {why}")
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from vidreason.graphs.traces import TraceStore
    from vidreason.tools.core.errors import ConfigError

    store = TraceStore.from_settings(settings_from_args(args))
    if args.list:
        ids = store.list()
        print(json.dumps(ids) if args.json else ("\n".join(ids) or f"no traces in {store.path}"))
        return 0
    if not args.trace_id:
        raise ConfigError("give a TRACE_ID (printed by `vidreason ask`) or --list")
    trace = store.get(args.trace_id, redact=args.redact)
    if args.json:
        print(trace.to_json())
        return 0
    print(f"trace {trace.trace_id}: {trace.question!r} on {trace.video} ({trace.created_at})")
    for s in trace.steps:
        extra = []
        if s.tool_calls:
            extra.append(f"{len(s.tool_calls)} tool call(s): " + ", ".join(t.name for t in s.tool_calls[:6]))
        if s.llm_calls:
            tokens = sum(c.total_tokens for c in s.llm_calls)
            extra.append(f"{len(s.llm_calls)} LLM call(s), {tokens} tokens")
        print(f"  {s.step:2d} {s.node:<10} {s.wall_s:7.3f}s  {'; '.join(extra)}")
        for n in s.notes:
            print(f"       - {n}")
    if trace.answer:
        print(f"answer: {trace.answer.get('text')}")
    if not trace.complete:
        print("  (the run did not finish)", file=sys.stderr)
    return 0
