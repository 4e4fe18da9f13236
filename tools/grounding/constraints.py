"""Ordering constraints between sub-events and the search for the best consistent assignment.

This generalises TFVTG's two relations (spec: ../shared/docs/tfvtg-algorithm.md, section 4.2) for the
planner: pairwise relations ``before``/``after``/``during``/``overlaps``/``simultaneous`` and ``sequence``
over a list; one proposal is picked per sub-event, maximising the product of ``max(conf, 0)``. Exact
enumeration (vectorised) when the number of combinations is small, a deterministic beam search otherwise.
When nothing satisfies every constraint, the best relaxed assignment (fewest violations, then highest
score) is returned with the list of violated constraints, so the planner can explain or relax."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, pairwise
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.grounding.proposals import as_triples

RelationKind = Literal["before", "after", "during", "overlaps", "simultaneous"]


class Constraint(BaseModel):
    """A relation between sub-events ``a`` and ``b`` (indices into the candidate lists), in seconds:

    * ``before``: a ends no later than b starts (``end_a <= start_b``; TFVTG's "sequentially" test);
    * ``after``: b ends no later than a starts;
    * ``during``: a lies inside b (``start_b <= start_a`` and ``end_a <= end_b``);
    * ``overlaps``: they overlap for a positive time (``min end - max start > 0``);
    * ``simultaneous``: they share an instant (``max start <= min end``; TFVTG's "simultaneously" test).

    ``tolerance`` (seconds) relaxes every inequality by that much."""

    model_config = ConfigDict(frozen=True)

    kind: RelationKind
    a: int = Field(ge=0)
    b: int = Field(ge=0)
    tolerance: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _distinct(self) -> Constraint:
        if self.a == self.b:
            raise ValueError(f"a constraint relates two different sub-events; got a == b == {self.a}")
        return self

    def holds(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Vectorised test over assignments: ``starts``/``ends`` are ``[M, n]``; returns bool ``[M]``."""
        sa, ea, sb, eb = starts[:, self.a], ends[:, self.a], starts[:, self.b], ends[:, self.b]
        tol = self.tolerance
        if self.kind == "before":
            return ea <= sb + tol
        if self.kind == "after":
            return eb <= sa + tol
        if self.kind == "during":
            return (sb <= sa + tol) & (ea <= eb + tol)
        inter = np.minimum(ea, eb) - np.maximum(sa, sb)
        if self.kind == "overlaps":
            return inter + tol > 0
        return inter + tol >= 0

    def describe(self) -> str:
        """Short human-readable form, e.g. ``"#0 before #1"``."""
        tol = f" (±{self.tolerance:g}s)" if self.tolerance else ""
        return f"#{self.a} {self.kind} #{self.b}{tol}"


def sequence(ids: Sequence[int], tolerance: float = 0.0) -> list[Constraint]:
    """``ids[0]`` before ``ids[1]`` before ... as consecutive ``before`` constraints."""
    return [Constraint(kind="before", a=x, b=y, tolerance=tolerance) for x, y in pairwise(ids)]


def relation_constraints(relation: str, n: int) -> list[Constraint]:
    """TFVTG's relationship for ``n`` sub-queries as constraints (spec section 4.2): ``sequentially`` is a
    sequence in listed order, ``simultaneously`` is pairwise ``simultaneous`` (intervals that pairwise share
    an instant share a common one), anything else no constraint."""
    if relation == "sequentially":
        return sequence(list(range(n)))
    if relation == "simultaneously":
        return [Constraint(kind="simultaneous", a=i, b=j) for i, j in combinations(range(n), 2)]
    return []


class Assignment(BaseModel):
    """The chosen proposal per sub-event. ``score`` is the product of ``max(conf, 0)``; ``satisfied`` tells
    whether every constraint holds; otherwise ``violated`` lists the ones that do not (best relaxed pick)."""

    model_config = ConfigDict(frozen=True)

    choice: tuple[int, ...]
    spans: tuple[tuple[float, float], ...]
    score: float
    satisfied: bool
    violated: tuple[Constraint, ...] = ()
    method: Literal["exact", "beam"] = "exact"

    @property
    def union(self) -> tuple[float, float]:
        """``[min start, max end]`` over the chosen spans."""
        return (min(s for s, _ in self.spans), max(e for _, e in self.spans))


def _rank(violations: np.ndarray, score: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """Order: fewest violations, then highest score, then lexicographically smallest choice."""
    keys = [choice[:, i] for i in range(choice.shape[1] - 1, -1, -1)]
    return np.lexsort((*keys, -score, violations))


def _violations(cons: Sequence[Constraint], starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """bool ``[M, len(cons)]``: True where a constraint is violated."""
    if not cons:
        return np.zeros((starts.shape[0], 0), dtype=bool)
    return np.stack([~c.holds(starts, ends) for c in cons], axis=1)


def best_assignment(
    candidates: Sequence[Sequence[Any] | np.ndarray],
    constraints: Sequence[Constraint],
    *,
    exact_limit: int = 200_000,
    beam_width: int = 256,
) -> Assignment:
    """Pick one candidate per sub-event maximising ``prod(max(conf, 0))`` under ``constraints``.

    ``candidates[i]`` holds sub-event i's proposals (:class:`Proposal` or ``(start, end, conf)``). With at
    most ``exact_limit`` combinations all are enumerated (exact); otherwise a beam search of ``beam_width``
    partial assignments, checking each constraint once both its sub-events are assigned. Deterministic."""
    cands = [as_triples(c) for c in candidates]
    if not cands:
        raise ConfigError("best_assignment needs at least one sub-event's candidates; got none")
    for i, c in enumerate(cands):
        if c.shape[0] == 0:
            raise ConfigError(f"sub-event {i} has no candidate proposals")
    n = len(cands)
    for con in constraints:
        if max(con.a, con.b) >= n:
            raise ConfigError(f"constraint {con.describe()} names a sub-event >= {n} (the number of sub-events)")
    sizes = [c.shape[0] for c in cands]
    total = int(np.prod([float(s) for s in sizes]))
    if total <= exact_limit:
        choice = np.indices(sizes).reshape(n, -1).T
        method: Literal["exact", "beam"] = "exact"
    else:
        choice = _beam(cands, constraints, beam_width)
        method = "beam"
    starts = np.stack([cands[i][choice[:, i], 0] for i in range(n)], axis=1)
    ends = np.stack([cands[i][choice[:, i], 1] for i in range(n)], axis=1)
    score = np.prod(np.stack([np.clip(cands[i][choice[:, i], 2], 0, None) for i in range(n)], axis=1), axis=1)
    viol = _violations(constraints, starts, ends)
    best = int(_rank(viol.sum(axis=1), score, choice)[0])
    violated = tuple(c for c, v in zip(constraints, viol[best], strict=True) if v)
    return Assignment(
        choice=tuple(int(x) for x in choice[best]),
        spans=tuple((float(s), float(e)) for s, e in zip(starts[best], ends[best], strict=True)),
        score=float(score[best]),
        satisfied=not violated,
        violated=violated,
        method=method,
    )


def _beam(cands: list[np.ndarray], constraints: Sequence[Constraint], width: int) -> np.ndarray:
    """Beam search over sub-events in order; returns the final beam's choices ``[B, n]``.

    A partial assignment is ranked by its violations so far plus the constraints it has already doomed (one
    end assigned, and no candidate of the other end can satisfy it), then by score."""
    if width < 1:
        raise ConfigError(f"beam_width must be >= 1; got {width}")
    n = len(cands)
    choice = np.zeros((1, 0), dtype=np.int64)
    score = np.ones(1)
    viol = np.zeros(1, dtype=np.int64)
    for i, c in enumerate(cands):
        b, m = choice.shape[0], c.shape[0]
        choice = np.concatenate([np.repeat(choice, m, axis=0), np.tile(np.arange(m), b)[:, None]], axis=1)
        score = np.repeat(score, m) * np.tile(np.clip(c[:, 2], 0, None), b)
        viol = np.repeat(viol, m)
        starts = np.stack([cands[j][choice[:, j], 0] for j in range(i + 1)], axis=1)
        ends = np.stack([cands[j][choice[:, j], 1] for j in range(i + 1)], axis=1)
        ready = [k for k in constraints if max(k.a, k.b) == i]
        if ready:
            viol = viol + _violations(ready, starts, ends).sum(axis=1)
        doomed = np.zeros(choice.shape[0], dtype=np.int64)
        for k in constraints:
            if min(k.a, k.b) <= i < max(k.a, k.b):
                doomed += ~_satisfiable(k, starts, ends, cands[max(k.a, k.b)], n)
        keep = _rank(viol + doomed, score, choice)[:width]
        choice, score, viol = choice[keep], score[keep], viol[keep]
    return choice


def _satisfiable(k: Constraint, starts: np.ndarray, ends: np.ndarray, other: np.ndarray, n: int) -> np.ndarray:
    """For a constraint with only its lower end assigned: can any candidate of the other end satisfy it?"""
    lo = min(k.a, k.b)
    rows, m = starts.shape[0], other.shape[0]
    full_s = np.zeros((rows * m, n))
    full_e = np.zeros((rows * m, n))
    full_s[:, lo] = np.repeat(starts[:, lo], m)
    full_e[:, lo] = np.repeat(ends[:, lo], m)
    hi = max(k.a, k.b)
    full_s[:, hi] = np.tile(other[:, 0], rows)
    full_e[:, hi] = np.tile(other[:, 1], rows)
    return np.asarray(k.holds(full_s, full_e).reshape(rows, m).any(axis=1), dtype=bool)
