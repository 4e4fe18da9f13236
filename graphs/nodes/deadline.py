"""The run's deadline (``Settings.ask_timeout_s``) as the graph sees it, and what a node does once it has passed.

The clock starts when the run's entry node starts (``run_started`` in the state, unix seconds, so a LangGraph
server's runs have it too). ``traced`` checks it before every node; inside a node the LLM client gets the time
left (``tools.core.deadline``). Past the deadline the search nodes are skipped, and ``answer`` and ``verify`` run
without the LLM (they only write and check the answer from what was already found: the template answer); the run
ends with that best answer so far, or, when nothing was searched yet, with an answer saying the time ran out. The
run is flagged degraded with the reason.
"""

from __future__ import annotations

import time
from typing import Any

from vidreason.graphs.state import ReasonState
from vidreason.tools.core.deadline import Deadline

#: the graph's entry node (graphs/reason.py: START -> plan); it starts a run's clock unless it is re-planning
ENTRY_NODE = "plan"
#: nodes that still run after the deadline, without the LLM (cheap: they write and check the answer)
OFFLINE_NODES = ("answer", "verify")
DEGRADED_PREFIX = "run deadline"


def run_started(node: str, state: ReasonState) -> float | None:
    """When the run started (unix seconds): None when ``node`` starts it now."""
    if node == ENTRY_NODE and not state.get("feedback"):
        return None
    started = state.get("run_started")
    return float(started) if started is not None else None


def run_deadline(started: float, limit_s: float) -> Deadline:
    """The run's deadline on the monotonic clock, ``limit_s`` after ``started`` (unix seconds)."""
    left = started + limit_s - time.time()
    return Deadline(time.monotonic() + left, f"ask_timeout_s={limit_s:g}")


def timeout_answer(limit_s: float) -> dict[str, Any]:
    """The answer of a run whose time ran out before it collected evidence."""
    return {
        "text": f"No answer: the time limit of this run ({limit_s:g} s, ask_timeout_s) ran out before the video "
        "was searched.",
        "citations": [],
        "confidence": 0.0,
        "source": "deadline",
        "found": False,
    }


def runs_offline(node: str, state: ReasonState) -> bool:
    """Whether ``node`` still runs (without the LLM) after the deadline: ``verify``, and ``answer`` once the
    evidence step has run."""
    return node in OFFLINE_NODES and (node != "answer" or state.get("evidence") is not None)


def degraded_once(node: str, state: ReasonState, limit_s: float) -> list[str]:
    """The degraded reason, unless an earlier node of this run already gave it."""
    if any(str(d).startswith(DEGRADED_PREFIX) for d in state.get("degraded") or []):
        return []
    return [
        f"{DEGRADED_PREFIX}: ask_timeout_s={limit_s:g} s ran out before {node!r}; the run ended with the best "
        "answer so far"
    ]


def skipped_update(node: str, state: ReasonState, limit_s: float) -> tuple[dict[str, Any], str]:
    """What a node skipped after the deadline writes (the time-out answer if there is none, no loop-back), and
    the note for its trace step."""
    update: dict[str, Any] = {"feedback": ""}
    if not state.get("answer"):
        update["answer"] = timeout_answer(limit_s)
    return update, f"skipped: the run's time limit (ask_timeout_s={limit_s:g}) has passed"


__all__ = [
    "DEGRADED_PREFIX",
    "ENTRY_NODE",
    "OFFLINE_NODES",
    "degraded_once",
    "run_deadline",
    "run_started",
    "runs_offline",
    "skipped_update",
    "timeout_answer",
]
