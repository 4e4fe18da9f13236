"""JSON views of runs: the stored runs, one run with what its page needs (plan, steps, what was searched, the
chosen moments, the target span, evidence with roles, citations with where to seek), the similarity curves of a
run's sub-events, and the reasoning graph's outline (nodes, edges, which edges are loops) from LangGraph's own
description of it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from vidreason.graphs.traces import Snapshot, Trace, TraceStore, thread_config
from vidreason.tools.core.errors import TraceNotFound
from vidreason.tools.index.video_index import VideoIndex
from vidreason.ui.security import VideoEntry

# ------------------------------------------------------------------------------------------------ graph


def graph_outline() -> dict[str, Any]:
    """The reasoning graph as ``graphs.reason.graph.get_graph()`` describes it: nodes in reading order, edges
    (``conditional`` ones are routed at run time) and which edges go back to an earlier node (``loop``)."""
    from vidreason.graphs.reason import graph

    g = graph.get_graph()
    edges: list[dict[str, Any]] = [
        {"source": str(e.source), "target": str(e.target), "conditional": bool(e.conditional)} for e in g.edges
    ]
    out: dict[str, list[str]] = {n: [] for n in g.nodes}
    for e in edges:
        out[e["source"]].append(e["target"])
    order: list[str] = []
    on_path: set[str] = set()
    back: set[tuple[str, str]] = set()

    def visit(n: str) -> None:  # depth first from __start__: an edge to a node on the current path is a loop
        on_path.add(n)
        for t in sorted(out[n], key=lambda x: x == "__end__"):
            if t in on_path:
                back.add((n, t))
            elif t not in order and t not in on_path:
                visit(t)
        on_path.discard(n)
        order.append(n)

    start = next((n for n in g.nodes if n == "__start__"), next(iter(g.nodes)))
    visit(start)
    order.reverse()
    order += [n for n in g.nodes if n not in order]
    for e in edges:
        e["loop"] = (e["source"], e["target"]) in back
    return {"name": graph.name, "nodes": [{"id": n, "label": n.strip("_")} for n in order], "edges": edges}


def next_node(node: str, outputs: dict[str, Any]) -> str | None:
    """The node that runs after ``node`` wrote ``outputs`` (None at the end): the only edge, or for a routed
    node its loop edge when the node asked for a redo (``feedback`` in the state), else the way forward."""
    edges = [e for e in graph_outline()["edges"] if e["source"] == node]
    if not edges:
        return None
    if len(edges) > 1:
        wanted = bool(outputs.get("feedback"))
        edges = [e for e in edges if e["loop"] == wanted] or edges
    target = str(edges[0]["target"])
    return None if target == "__end__" else target


# -------------------------------------------------------------------------------------------------- runs


def list_runs(store: TraceStore, limit: int = 100) -> list[dict[str, Any]]:
    """Stored runs, most recent first: id, question, video, when, whether finished, the answer's first line.

    Reads only each thread's latest checkpoint (one SQLite connection for all)."""
    rows = []
    for tid, snap in store.latest(limit=limit):
        values = snap.values
        answer = values.get("answer") or {}
        plan = values.get("plan") or {}
        rows.append(
            {
                "trace_id": tid,
                "question": values.get("question"),
                "video": values.get("video"),
                "updated_at": snap.created_at,
                "complete": not snap.next,
                "steps": len(values.get("steps") or []),
                "answer": (answer.get("text") or "")[:200] or None,
                "found": answer.get("found"),
                "planner": plan.get("planner"),
            }
        )
    return rows


def get_trace(store: TraceStore, trace_id: str, *, redact: bool = False) -> Trace:
    """``store.get`` with a clear error for malformed ids."""
    check_trace_id(trace_id)
    return store.get(trace_id, redact=redact)


def check_trace_id(trace_id: str) -> None:
    if not trace_id or len(trace_id) > 128 or not all(ch.isalnum() or ch in "-_.:" for ch in trace_id):
        raise TraceNotFound(f"malformed trace id {trace_id[:40]!r}")


def run_state(store: TraceStore, trace_id: str) -> dict[str, Any]:
    """The run's last state (evidence, searches, assignment, target, ...) from its latest checkpoint, read-only.

    ``TraceStore`` rebuilds traces from the history but has no public reader of one thread's values; this uses
    its read-only saver (the lead may move it there as ``TraceStore.values(trace_id)``)."""
    check_trace_id(trace_id)
    with store._read_saver() as saver:
        tup = saver.get_tuple(thread_config(trace_id))
    return Snapshot.of(tup).values if tup is not None else {}


def _last_output(trace: Trace, node: str) -> dict[str, Any]:
    for step in reversed(trace.steps):
        if step.node == node:
            return step.outputs
    return {}


def _norm(text: str | None) -> str:
    return re.sub(r"\W+", " ", (text or "").lower()).strip()


def citation_target(
    c: dict[str, Any], evidence: list[dict[str, Any]], target: dict[str, Any] | None, tol: float
) -> dict[str, Any]:
    """Where a citation's player seek goes and which span it highlights: the start of the evidence it cites
    (the quoted line's start, the on-screen text's first sighting, the start of a target shot), not the frame
    the citation is pinned to. Adds ``seek``, ``span`` ``[start, end]``, ``evidence_id`` and ``role``."""
    t = float(c.get("time", 0.0))
    channel = c.get("channel")
    found: dict[str, Any] | None = None
    if channel == "visual":
        frames = [e for e in evidence if e.get("channel") == "visual" and e.get("frame_index") == c.get("frame_index")]
        found = frames[0] if frames else None
        for shot in (target or {}).get("shots") or []:
            if shot["start"] - tol <= t <= shot["end"] + tol:  # a shot the answer is about: from its start
                return {**c, "seek": shot["start"], "span": [shot["start"], shot["end"]], **_ids(found)}
        return {**c, "seek": t, "span": [t, t], **_ids(found)}
    same = [e for e in evidence if e.get("channel") == channel and e["start"] - tol <= t <= e["end"] + tol]
    quoted = _norm(c.get("text"))
    if quoted:
        same = [e for e in same if quoted in _norm(e.get("text"))] or same
    same.sort(key=lambda e: {"target": 0, "anchor": 1}.get(str(e.get("role")), 2))
    found = same[0] if same else None
    if found is None:
        return {**c, "seek": t, "span": [t, t], "evidence_id": None, "role": None}
    return {**c, "seek": found["start"], "span": [found["start"], found["end"]], **_ids(found)}


def _ids(e: dict[str, Any] | None) -> dict[str, Any]:
    return {"evidence_id": e.get("id") if e else None, "role": e.get("role") if e else None}


def run_detail(
    trace: Trace, entry: VideoEntry | None, index: VideoIndex | None, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A stored run with what its page needs: the video id, what was searched per sub-event, the assignment
    (chosen moments, missing sub-events, the order verdict), the target span and what was read there, the
    evidence with roles, citations with their seek targets and thumbnail links, and usage totals."""
    from vidreason.agent.reasoner import usage_of

    values = values or {}
    constrain = _last_output(trace, "constrain")
    assignment = values.get("assignment") or constrain.get("assignment") or {}
    target = values.get("target") or constrain.get("target")
    evidence = list(values.get("evidence") or _last_output(trace, "inspect").get("evidence") or [])
    groundings = values.get("groundings") or _last_output(trace, "ground").get("groundings") or {}
    tol = 0.5 / float(index.manifest.fps) + 1e-3 if index is not None else 0.5
    answer = dict(trace.answer or {})
    citations = []
    for c in answer.get("citations") or []:
        c = citation_target(dict(c), evidence, target, tol)
        if entry is not None and index is not None and isinstance(c.get("frame_index"), int):
            c["thumbnail"] = f"/api/videos/{entry.id}/frames/{c['frame_index']}.jpg"
        citations.append(c)
    answer["citations"] = citations
    video_name = Path(trace.video).name if trace.video else None
    return {
        "trace": trace.model_dump(mode="json", exclude={"answer"}),
        "answer": answer or None,
        "video_id": entry.id if entry is not None else None,
        "video_name": entry.path.name if entry is not None else video_name,
        "duration": index.duration if index is not None else None,
        "verdict": {
            "satisfied": assignment.get("satisfied"),
            "relaxed": assignment.get("relaxed"),
            "violated": assignment.get("violated") or [],
            "score": assignment.get("score"),
            "method": assignment.get("method"),
            "missing": assignment.get("missing") or [],
            "first": assignment.get("first"),
            "holds": assignment.get("holds"),
            "constraints": next(
                (s.inputs.get("constraints") for s in reversed(trace.steps) if s.node == "constrain"), []
            ),
            "replans": max(0, sum(1 for s in trace.steps if s.node == "plan") - 1),
            "reanswers": max(0, sum(1 for s in trace.steps if s.node == "answer") - 1),
        }
        if assignment
        else None,
        "target": target,
        "chosen": assignment.get("chosen") or {},
        "proposals": groundings,
        "searches": values.get("searches") or _last_output(trace, "ground").get("searches") or {},
        "evidence": evidence,
        "rejected": values.get("rejected") or [],
        "usage": usage_of(trace.steps).model_dump(mode="json"),
    }


def run_curves(trace: Trace, index: VideoIndex) -> dict[str, Any]:
    """Per sub-event of the run's plan: its similarity curves over the whole video (the channels it names,
    as the ``ground`` step scored them) and TFVTG's spans on them."""
    from vidreason.tools.core.plan import Plan
    from vidreason.tools.retrieval import planner_tools

    if not trace.plan:
        return {"sub_events": []}
    plan = Plan.model_validate(trace.plan)
    out = []
    for event in plan.sub_events:
        g = planner_tools.ground(index, event)
        out.append(
            {
                "id": event.id,
                "description": event.description,
                "channels": list(event.channels),
                "curve_times": g.curve_times,
                "curves": g.curves,
                "spans": [s.model_dump(mode="json") for s in g.spans[:6]],
                "degraded": g.degraded,
            }
        )
    return {"sub_events": out}


__all__ = [
    "check_trace_id",
    "citation_target",
    "get_trace",
    "graph_outline",
    "list_runs",
    "next_node",
    "run_curves",
    "run_detail",
    "run_state",
]
