"""Ordering constraints and the combination search (beyond TFVTG; its relations in spec section 4.2)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.grounding import Constraint, Proposal, best_assignment, relation_constraints, sequence


def _holds(c: Constraint, a: tuple[float, float], b: tuple[float, float]) -> bool:
    spans = [a, b] if c.a == 0 else [b, a]
    starts = np.array([[s for s, _ in spans]])
    ends = np.array([[e for _, e in spans]])
    return bool(c.holds(starts, ends)[0])


@pytest.mark.parametrize(
    ("kind", "a", "b", "expected"),
    [
        ("before", (0, 5), (5, 9), True),
        ("before", (0, 5), (4, 9), False),
        ("after", (6, 8), (0, 5), True),
        ("after", (0, 5), (6, 8), False),
        ("during", (2, 4), (0, 5), True),
        ("during", (2, 6), (0, 5), False),
        ("overlaps", (0, 5), (4, 9), True),
        ("overlaps", (0, 5), (5, 9), False),
        ("simultaneous", (0, 5), (5, 9), True),
        ("simultaneous", (0, 5), (6, 9), False),
    ],
)
def test_relation_semantics(kind: str, a: tuple, b: tuple, expected: bool) -> None:
    assert _holds(Constraint(kind=kind, a=0, b=1), a, b) is expected


def test_tolerance_and_validation() -> None:
    assert _holds(Constraint(kind="before", a=0, b=1, tolerance=1.0), (0, 5), (4, 9))
    with pytest.raises(ValidationError):
        Constraint(kind="before", a=1, b=1)
    with pytest.raises(ValidationError):
        Constraint(kind="later", a=0, b=1)  # type: ignore[arg-type]
    assert [c.describe() for c in sequence([2, 0, 1])] == ["#2 before #0", "#0 before #1"]
    assert relation_constraints("sequentially", 3) == sequence([0, 1, 2])
    assert len(relation_constraints("simultaneously", 3)) == 3
    assert relation_constraints("single-query", 3) == []


def test_best_assignment_hand_case() -> None:
    cands = [[(0, 5, 0.9), (10, 15, 1.0)], [(6, 9, 0.8), (2, 4, 1.0)]]
    free = best_assignment(cands, [])
    assert free.choice == (1, 1) and free.score == 1.0 and free.satisfied
    seq = best_assignment(cands, sequence([0, 1]))
    assert seq.choice == (0, 0) and seq.score == pytest.approx(0.72) and seq.satisfied
    assert seq.spans == ((0.0, 5.0), (6.0, 9.0)) and seq.union == (0.0, 9.0)
    # nothing can be both before and after: the best relaxed pick and what it violates
    both = [Constraint(kind="before", a=0, b=1), Constraint(kind="after", a=0, b=1)]
    relaxed = best_assignment(cands, both)
    assert not relaxed.satisfied and len(relaxed.violated) == 1
    assert relaxed.choice == (1, 1) and relaxed.score == 1.0  # (10-15) after (2-4): only "before" fails
    assert relaxed.violated == (both[0],)


def test_proposals_accepted_and_errors() -> None:
    p = [Proposal(start=1, static_start=2, end=3, confidence=0.5)]
    assert best_assignment([p, p], []).score == 0.25
    with pytest.raises(ConfigError, match="no candidate"):
        best_assignment([p, []], [])
    with pytest.raises(ConfigError, match="at least one"):
        best_assignment([], [])
    with pytest.raises(ConfigError, match="sub-event"):
        best_assignment([p, p], [Constraint(kind="before", a=0, b=2)])


_spans = st.tuples(st.integers(0, 30), st.integers(1, 10), st.floats(-0.2, 1.0)).map(
    lambda t: (float(t[0]), float(t[0] + t[1]), t[2])
)


@settings(max_examples=50, deadline=None)
@given(
    cands=st.lists(st.lists(_spans, min_size=1, max_size=4), min_size=2, max_size=4),
    pairs=st.lists(
        st.tuples(
            st.sampled_from(["before", "after", "during", "overlaps", "simultaneous"]),
            st.integers(0, 3),
            st.integers(0, 3),
        ),
        max_size=4,
    ),
)
def test_exact_search_is_optimal_and_satisfies(cands, pairs) -> None:
    n = len(cands)
    cons = [Constraint(kind=k, a=a % n, b=b % n) for k, a, b in pairs if a % n != b % n]
    got = best_assignment(cands, cons)
    best = None
    for choice in itertools.product(*[range(len(c)) for c in cands]):
        spans = [cands[i][j] for i, j in enumerate(choice)]
        starts = np.array([[s for s, _, _ in spans]])
        ends = np.array([[e for _, e, _ in spans]])
        nviol = sum(not c.holds(starts, ends)[0] for c in cons)
        score = float(np.prod([max(c, 0) for _, _, c in spans]))
        key = (nviol, -score)
        if best is None or key < best[0]:
            best = (key, choice)
    assert best is not None
    assert (len(got.violated), -got.score) == pytest.approx(best[0])
    assert got.choice == best[1]  # ties broken by the smallest choice, as enumeration order
    assert got.satisfied == (not got.violated)
    starts = np.array([[s for s, _ in got.spans]])
    ends = np.array([[e for _, e in got.spans]])
    assert all(c.holds(starts, ends)[0] for c in cons if c not in got.violated)


def test_beam_search_is_deterministic_and_finds_the_sequence() -> None:
    rng = np.random.default_rng(0)
    n, m = 8, 10  # 10**8 combinations: beam search
    cands = []
    for i in range(n):
        rows = [
            (float(s), float(s + 3), float(c))
            for s, c in zip(rng.uniform(0, 100, m), rng.uniform(0.1, 1, m), strict=True)
        ]
        rows.append((10.0 * i, 10.0 * i + 5, 0.05))  # a low-confidence chain that satisfies the sequence
        cands.append(rows)
    cons = sequence(list(range(n)))
    a = best_assignment(cands, cons, exact_limit=1000, beam_width=64)
    b = best_assignment(cands, cons, exact_limit=1000, beam_width=64)
    assert a == b and a.method == "beam"
    assert a.satisfied, a.violated
    assert all(a.spans[i][1] <= a.spans[i + 1][0] for i in range(n - 1))


def test_beam_equals_exact_when_wide() -> None:
    rng = np.random.default_rng(1)
    cands = [
        [(float(s), float(s + 4), float(c)) for s, c in zip(rng.uniform(0, 40, 4), rng.uniform(0, 1, 4), strict=True)]
        for _ in range(4)
    ]
    cons = [*sequence([0, 1]), Constraint(kind="simultaneous", a=2, b=3)]
    exact = best_assignment(cands, cons)
    beam = best_assignment(cands, cons, exact_limit=1, beam_width=256)
    assert exact.method == "exact" and beam.method == "beam"
    assert (exact.choice, exact.score, exact.violated) == (beam.choice, beam.score, beam.violated)
