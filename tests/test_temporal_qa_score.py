"""Temporal-QA scoring on hand-made answers (no video): keys, yes/no, counts, speakers, which-first,
abstention, citations, IoU, per-type metrics and calibration."""

from __future__ import annotations

from typing import Any

import pytest

from vidreason.evals.temporal_qa.cases import TemporalCase
from vidreason.evals.temporal_qa.score import (
    AnswerRecord,
    CitedMoment,
    count_of,
    first_choice,
    has_key,
    metrics,
    says_not_found,
    score_case,
    speakers_named,
    yes_no_of,
)


def case(kind: str = "after", **kw: Any) -> TemporalCase:
    data: dict[str, Any] = {
        "id": f"c-{kind}",
        "video": "v.mp4",
        "question": "What is said right after the budget?",
        "type": kind,
        "target": [[8.5, 12.0]],
        "anchor": [[4.1, 6.3]],
    }
    data.update(kw)
    return TemporalCase.model_validate(data)


def answer(text: str, cites: tuple[float, ...] = (), spans: tuple[tuple[float, float], ...] = (), conf: float = 0.8):
    return AnswerRecord(
        sample_id="x",
        type="after",
        question="q",
        text=text,
        confidence=conf,
        citations=[CitedMoment(time=t, channel="speech") for t in cites],
        spans=[(s, e, 1.0) for s, e in spans],
    )


def test_key_matching_is_whole_word_plural_tolerant_and_case_free() -> None:
    assert has_key("The office opens in BERLIN.", "berlin")
    assert has_key("the red roses", "rose")
    assert has_key("Ask not what your country", "ask not")
    assert not has_key("a parked truck", "park")
    assert not has_key("Berliner", "berlin")


def test_keys_and_alternatives() -> None:
    c = case(answer={"keys": ["berlin", "office"], "alternatives": [["spring"]]})
    assert score_case(c, answer("Our new office is in Berlin.", (9.0,))).correct
    assert score_case(c, answer("It opens next spring.", (9.0,))).correct
    miss = score_case(c, answer("Only Berlin.", (9.0,)))
    assert not miss.correct and "missing" in miss.why


def test_span_only_case_needs_a_citation_inside_the_widened_target() -> None:
    c = case("when", answer={})
    assert score_case(c, answer("At 8.2 s.", (8.1,))).correct  # 0.4 s before the target: inside the tolerance
    s = score_case(c, answer("At 20 s.", (20.0,), spans=((19.0, 21.0),)))
    assert not s.correct and s.cited_in_target is False and s.iou == 0.0


def test_iou_uses_the_first_span() -> None:
    c = case("when", answer={}, target=[[10.0, 12.0]])
    s = score_case(c, answer("x", (11.0,), spans=((10.0, 11.0), (10.0, 12.0))))
    assert s.iou == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No speech matching the question was found around 8.5s-19.1s.", True),
        ("I could not find the budget in this video.", True),
        ("The budget isn't mentioned in the video.", True),
        ("The speaker never mentions winter.", True),
        ("Winter is mentioned 0 times.", True),
        ("At 3.7s-5.8s the speaker says: 'hi'. (The sub-events were not found in the order asked.)", False),
        ("Right after the budget, the speaker says: 'Berlin'.", False),
    ],
)
def test_not_found_detection_reads_the_first_sentence(text: str, expected: bool) -> None:
    assert says_not_found(text) is expected


def test_absent_cases_count_abstentions_and_low_confidence() -> None:
    c = case("absent", absent=True, target=[], anchor=[])
    assert score_case(c, answer("The budget is not mentioned in this video.")).correct
    assert score_case(c, answer("At 3 s the speaker says hello.", conf=0.1)).correct
    s = score_case(c, answer("At 3 s the speaker says hello.", (3.0,), conf=0.9))
    assert not s.correct and s.cited_in_target is None and s.iou is None


def test_present_case_that_abstains_is_wrong_and_counted_as_false_abstention() -> None:
    c = case(answer={"keys": ["berlin"]})
    s = score_case(c, answer("No speech matching the question was found."))
    assert not s.correct and s.abstained and s.why == "said not found"
    low = score_case(c, answer("Berlin", (9.0,), conf=0.1))
    assert low.correct and low.abstained  # right content, but it counts towards false abstention


def test_yes_no_count_speaker_and_which_first() -> None:
    assert yes_no_of("Yes, the budget comes first.") is True and yes_no_of("No.") is False
    assert yes_no_of("The budget comes first.") is None
    assert count_of("About 2 times (at 7.5s-9.3s, 21.3s-22.3s).") == 2
    assert count_of("It is said twice.") == 2
    assert count_of("Three times: at 1.5 s, 4 s and 9 s.") == 3
    assert count_of("At 12.5 s and 0:42 it is said, 3 in total") == 3
    assert speakers_named("SPEAKER_2 says it, not speaker 1") == [2, 1]
    assert speakers_named("The second voice.") == [2]
    assert first_choice("The drinking cup comes after the teeth.", ["teeth", "drinking cup"]) == "drinking cup"
    order = case("order", answer={"keys": ["teeth"], "choices": ["drinking cup", "teeth"]})
    assert score_case(order, answer("The teeth come first, then the drinking cup.")).correct
    assert not score_case(order, answer("The drinking cup, after the teeth.")).correct
    yn = case("order", answer={"yes_no": False})
    assert score_case(yn, answer("No: Maryland comes after the telescope.")).correct
    cnt = case("count", answer={"count": 2}, target=[[1, 2], [5, 6]])
    assert score_case(cnt, answer("2 times", (1.5, 5.5))).correct
    who = case("who", answer={"speaker": "SPEAKER_2"}, optional=True)
    assert score_case(who, answer("The second speaker.")).correct
    assert not score_case(who, answer("SPEAKER_1.")).correct


def test_errors_and_missing_answers_are_misses() -> None:
    c = case(answer={"keys": ["berlin"]})
    assert not score_case(c, None).correct
    err = AnswerRecord(sample_id="x", type="after", question="q", status="error", error="boom")
    s = score_case(c, err)
    assert not s.correct and s.error == "boom"


def test_metrics_per_type_overall_optional_and_calibration() -> None:
    present = case(answer={"keys": ["berlin"]})
    absent = case("absent", id="a", absent=True, target=[], anchor=[])
    who = case("who", id="w", answer={"speaker": "SPEAKER_1"}, optional=True)
    scores = [
        score_case(present, answer("Berlin", (9.0,), spans=((8.5, 12.0),), conf=0.95)),
        score_case(present.model_copy(update={"id": "p2"}), answer("Paris", (30.0,), conf=0.35)),
        score_case(absent, answer("Not found in the video.", conf=0.2)),
        score_case(who, answer("SPEAKER_2", (9.0,))),
    ]
    m = metrics(scores)
    assert m.overall.n == 3 and m.overall.correct == 2
    assert m.per_type["after"].accuracy == pytest.approx(0.5)
    assert m.per_type["after"].citation_in_target == pytest.approx(0.5)
    assert m.per_type["after"].mean_iou == pytest.approx(0.5)
    assert m.per_type["absent"].abstention == 1.0 and m.per_type["absent"].citation_in_target is None
    assert m.optional is not None and m.optional.n == 1 and "who" in m.per_type
    assert m.overall.mean_confidence_correct == pytest.approx((0.95 + 0.2) / 2)
    bins = {round(b.lo, 1): b for b in m.calibration}
    assert bins[0.9].n == 1 and bins[0.9].accuracy == 1.0
    assert bins[0.3].n == 1 and bins[0.3].accuracy == 0.0
    assert sum(b.n for b in m.calibration) == 2  # present, non-optional cases only
    assert set(m.per_channel) == {"speech"}


def test_a_real_answer_is_recorded_and_scored() -> None:
    from vidreason.evals.temporal_qa.cases import LoadedCase
    from vidreason.evals.temporal_qa.run import record_answer
    from vidreason.tools.core.results import Answer, Citation, ScoredSpan

    c = case(answer={"keys": ["berlin"]})
    a = Answer(
        question=c.question,
        text="Right after mentioning the budget, the speaker says: 'Our new office opens in Berlin.' (8.5-12.0 s)",
        citations=[Citation(frame_index=9, time=9.0, channel="speech", text="Berlin")],
        spans=[ScoredSpan(start=8.5, end=12.0, score=0.9)],
        confidence=0.8,
        trace_id="t",
    )
    rec = record_answer(LoadedCase(case=c, source="x.jsonl", line=1, video_path="v.mp4"), a, 1.0, 0.5)
    s = score_case(c, AnswerRecord.model_validate_json(rec.model_dump_json()))
    assert s.correct and s.cited_in_target and s.iou == pytest.approx(1.0) and not s.abstained
