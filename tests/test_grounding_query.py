"""vote (spec section 2), combine and ground_query (sections 3-4), and every recorded decomposition."""

from __future__ import annotations

import itertools
import json
import logging
import zlib
from pathlib import Path

import numpy as np
import pytest
from grounding_helpers import peaked_curve
from hypothesis import given, settings
from hypothesis import strategies as st

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.grounding import (
    Decomposition,
    Proposal,
    combine,
    ground_query,
    localize,
    parse_decomposition,
    vote,
)
from vidreason.tools.grounding.voting import vote_scores

LLM_OUTPUTS = Path(__file__).resolve().parents[2] / "shared/data/annotations/charades_sta/tfvtg_llm_outputs.json"


def test_vote_hand_computed() -> None:
    props = [(20.0, 30.0, 0.5), (0.0, 10.0, 1.0), (1.0, 10.0, 1.0)]
    scores = vote_scores(np.asarray(props))
    assert scores == pytest.approx([0.5, 1 + 0.9**0.6, 1 + 0.9**0.6])
    assert vote(props) == [props[1], props[2], props[0]]  # the tie keeps input order
    assert vote(list(reversed(props)))[:2] == [props[2], props[1]]


def test_vote_negative_confidence_has_no_weight_and_types_are_kept() -> None:
    arr = np.array([[0.0, 10.0, -5.0], [0.0, 10.0, 0.1], [50.0, 60.0, 0.2]])
    # both [0, 10] score 0.1 (the negative one adds no weight, the positive one votes for both): a tie
    assert vote(arr).tolist() == [[50.0, 60.0, 0.2], [0.0, 10.0, -5.0], [0.0, 10.0, 0.1]]
    objs = [
        Proposal(start=0, static_start=1, end=5, confidence=0.1),
        Proposal(start=9, static_start=9, end=12, confidence=1),
    ]
    assert vote(objs) == [objs[1], objs[0]]
    assert vote([]) == []
    with pytest.raises(ConfigError):
        vote(objs, gamma=0)


def test_vote_degenerate_proposals_go_last() -> None:
    """Three [0, 0] fallbacks have an empty union with each other: NaN scores, sorted last (reference)."""
    props = [(0.0, 0.0, 1.0), (2.0, 5.0, 0.3), (0.0, 0.0, 1.0)]
    assert vote(props)[0] == (2.0, 5.0, 0.3)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 50), st.integers(1, 30), st.floats(-1, 1)).map(
            lambda t: (float(t[0]), float(t[0] + t[1]), t[2])
        ),
        min_size=1,
        max_size=12,
        unique=True,
    ),
    seed=st.integers(0, 1000),
)
def test_vote_invariant_to_input_order(rows: list[tuple[float, float, float]], seed: int) -> None:
    shuffled = list(rows)
    np.random.default_rng(seed).shuffle(shuffled)
    a, b = vote(rows), vote(shuffled)
    sa = dict(zip(rows, vote_scores(np.asarray(rows)), strict=True))
    assert sorted(a) == sorted(b)
    # same scores position by position (items with equal scores may swap)
    assert np.allclose([sa[r] for r in a], [sa[r] for r in b], rtol=1e-12)


def _brute_combine(subs, relation, merge="union"):
    out = []
    for combo in itertools.product(*subs):
        if relation == "sequentially" and any(combo[i][0] < combo[i - 1][1] for i in range(1, len(combo))):
            continue
        if relation == "simultaneously" and max(c[0] for c in combo) > min(c[1] for c in combo):
            continue
        if merge == "intersection" and relation == "simultaneously":
            span = (max(c[0] for c in combo), min(c[1] for c in combo))
        else:
            span = (min(c[0] for c in combo), max(c[1] for c in combo))
        out.append((*span, float(np.prod([max(c[2], 0) for c in combo]))))
    return vote(out)[:2]


def test_combine_hand_computed() -> None:
    a = [(0.0, 5.0, 1.0), (10.0, 15.0, 0.5)]
    b = [(6.0, 9.0, 0.8), (2.0, 4.0, 0.9)]
    assert combine([a, b], "sequentially") == [(0.0, 9.0, 0.8)]
    assert combine([a, b], "simultaneously") == [(0.0, 5.0, 0.9)]
    assert combine([a, b], "simultaneously", merge="intersection") == [(2.0, 4.0, 0.9)]
    assert combine([b, a], "sequentially") == [(2.0, 15.0, 0.45), (6.0, 15.0, 0.4)]
    assert len(combine([a, b], "single-query")) == 2
    assert combine([], "sequentially") == []
    assert combine([a, []], "sequentially") == []
    with pytest.raises(ConfigError, match="merge"):
        combine([a, b], "simultaneously", merge="both")  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(
    subs=st.lists(
        st.lists(
            st.tuples(st.integers(0, 40), st.integers(1, 20), st.floats(-0.5, 1)).map(
                lambda t: (float(t[0]), float(t[0] + t[1]), t[2])
            ),
            min_size=1,
            max_size=3,
        ),
        min_size=1,
        max_size=4,
    ),
    relation=st.sampled_from(["sequentially", "simultaneously", "single-query"]),
    merge=st.sampled_from(["union", "intersection"]),
)
def test_combine_matches_brute_force(subs, relation, merge) -> None:
    got = combine(subs, relation, merge=merge)
    want = _brute_combine(subs, relation, merge)
    assert np.allclose(np.asarray(got).reshape(-1, 3), np.asarray(want).reshape(-1, 3))
    if relation == "sequentially":
        assert all(s <= e for s, e, _ in got)


def _scorer(peaks: dict[str, float], n: int = 90):
    """Deterministic synthetic curves: a text peaks where ``peaks`` says (fraction of the video)."""

    def score(text: str) -> np.ndarray:
        rng = np.random.default_rng(zlib.crc32(text.encode()))
        t = np.arange(n)
        curve = 0.15 + rng.normal(0, 0.02, n)
        for key, where in peaks.items():
            if key in text:
                curve += 0.25 * np.exp(-0.5 * ((t - where * n) / 4) ** 2)
        return curve.astype(np.float32)

    return score


def test_ground_query_single_query_is_vote_of_top3() -> None:
    score = _scorer({"door": 0.5})
    got = ground_query(score, "person opens the door", None, 30.0, 20, 45)
    top3 = [p.as_tuple() for p in localize(score("person opens the door"), 30.0, 20, 45)[:3]]
    assert got == vote(top3)
    assert got[0][0] <= 15.0 <= got[0][1]  # the peak (frame 45 of 90) is inside the prediction


def test_ground_query_sequential_decomposition() -> None:
    dec = {
        "relationship": "sequentially",
        "query_json": [
            {"sub_query_id": 0, "descriptions": ["door then phone", "opens door and takes phone"]},
            {"sub_query_id": 1, "descriptions": ["opens the door", "a door is opened", "door opening"]},
            {"sub_query_id": 2, "descriptions": ["takes a phone", "picks up the phone", "grabs phone"]},
        ],
    }
    score = _scorer({"door": 0.3, "phone": 0.7})
    got = ground_query(score, "person opens the door and then takes a phone", dec, 30.0, 20, 45)
    assert 1 <= len(got) <= 9
    per_sub = []
    for sub in dec["query_json"][1:]:
        answers = [localize(score(t), 30.0, 20, 45) for t in sub["descriptions"]]
        pool = [a[r].as_tuple() for r in range(3) for a in answers if len(a) > r]
        per_sub.append(vote(pool)[:3])
    combined = combine(per_sub, "sequentially")
    assert combined, "door (9 s) before phone (21 s) must give a sequential combination"
    assert combined[0][0] < 12 and combined[0][1] > 18
    assert set(combined) <= set(got)


def test_parse_decomposition_malformed_is_single_query(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert parse_decomposition(None) is None
    assert parse_decomposition({"relationship": "sequentially"}) is None
    assert parse_decomposition({"query_json": []}) is None
    assert parse_decomposition({"query_json": [{"descriptions": 3}]}) is None
    assert parse_decomposition("not a dict") is None  # type: ignore[arg-type]
    assert "single" in caplog.text
    ok = parse_decomposition({"query_json": [{"descriptions": "one text"}], "reasoning": "x"})
    assert isinstance(ok, Decomposition) and ok.rewrites == ["one text"] and ok.relationship == "single-query"
    score = _scorer({})
    assert ground_query(score, "a query", {"query_json": "bad"}, 10.0, 20, 15) == ground_query(
        score, "a query", None, 10.0, 20, 15
    )


def _recorded_queries() -> list[tuple[str, dict, float]]:
    data = json.loads(LLM_OUTPUTS.read_text())
    return [
        (sentence, response, ann["duration"])
        for ann in data.values()
        for sentence, response in zip(ann["sentences"], ann["response"], strict=True)
    ]


def _run_recorded(queries: list[tuple[str, dict, float]]) -> set[str]:
    rng = np.random.default_rng(0)
    curves = [peaked_curve(rng, 24) for _ in range(16)]

    def score(text: str) -> np.ndarray:
        return curves[zlib.crc32(text.encode()) % len(curves)]

    relations = set()
    for sentence, response, duration in queries:
        dec = parse_decomposition(response)
        assert dec is not None, response
        relations.add(dec.relationship)
        out = ground_query(score, sentence, dec, duration, 20, 12)
        assert 1 <= len(out) <= 9
        s, e, _ = out[0]
        assert 0 <= s <= e <= duration + 1e-3
    return relations


needs_llm_outputs = pytest.mark.skipif(not LLM_OUTPUTS.exists(), reason=f"{LLM_OUTPUTS} is not present")


@pytest.mark.shared_data
@needs_llm_outputs
def test_every_recorded_decomposition_parses_and_multi_step_ones_run() -> None:
    """All 3,720 parse; a third of the multi-step ones and every 20th single-query run through
    ground_query (all of them: the slow test below)."""
    queries = _recorded_queries()
    assert len(queries) == 3720
    decs = [parse_decomposition(r) for _, r, _ in queries]
    assert all(d is not None for d in decs)
    counts = {
        rel: sum(d is not None and d.relationship == rel for d in decs)
        for rel in ("sequentially", "simultaneously", "single-query")
    }
    assert counts == {"sequentially": 389, "simultaneously": 181, "single-query": 3150}
    multi = [q for q, d in zip(queries, decs, strict=True) if d and d.sub_queries]
    single = [q for q, d in zip(queries, decs, strict=True) if d and not d.sub_queries]
    subset = multi[::3] + single[::20]
    assert _run_recorded(subset) == {"single-query", "sequentially", "simultaneously"}


@pytest.mark.slow
@pytest.mark.shared_data
@needs_llm_outputs
def test_every_recorded_decomposition_runs() -> None:
    """All 3,720 through ground_query (15-55 s on 2 shared cores, hence slow)."""
    assert len(_run_recorded(_recorded_queries())) == 3
