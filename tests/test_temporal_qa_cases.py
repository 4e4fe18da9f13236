"""The temporal-QA case format: validation errors, video lookup, the packaged real-clip file and the committed
generated case files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from vidreason.evals.temporal_qa import REAL_CASES
from vidreason.evals.temporal_qa.cases import QUESTION_TYPES, TemporalCase, load_cases, read_cases, resolve_video
from vidreason.evals.temporal_qa.real import AUDIO_CLIPS, SHARED_VIDEOS
from vidreason.tools.core.errors import DatasetError

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "benchmarks" / "results" / "temporal_qa").glob("*.jsonl"))

GOOD = {
    "id": "x-1",
    "video": "v.mp4",
    "question": "What does the speaker say right after mentioning the budget?",
    "type": "after",
    "answer": {"keys": ["Berlin"]},
    "target": [[8.5, 12.0]],
    "anchor": [[4.1, 6.3]],
}


def _write(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_valid_case_normalises_its_keys(tmp_path: Path) -> None:
    [(n, c)] = read_cases(_write(tmp_path / "c.jsonl", GOOD))
    assert n == 1 and c.answer.keys == ["berlin"] and c.channels == ["speech"] and not c.absent


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "sometime"}, "type"),
        ({"type": "absent"}, "absent: true"),
        ({"absent": True}, "no target"),
        ({"target": []}, "at least one target"),
        ({"target": [[5.0, 1.0]]}, "start <= end"),
        ({"type": "count", "answer": {"count": 2}}, "one target span per occurrence"),
        ({"type": "order", "answer": {}}, "yes_no or keys"),
        ({"answer": {"keys": ["a"], "choices": ["b", "c"]}}, "choices must include"),
        ({"answer": {"speaker": "Bob"}}, "SPEAKER_1"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_invalid_cases_name_the_line(tmp_path: Path, change: dict, message: str) -> None:
    path = _write(tmp_path / "c.jsonl", GOOD, {**GOOD, "id": "x-2", **change})
    with pytest.raises(DatasetError, match=rf"c\.jsonl:2: .*{message}"):
        read_cases(path)


def test_duplicate_ids_and_bad_json_are_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="already used"):
        load_cases([_write(tmp_path / "a.jsonl", GOOD), _write(tmp_path / "b.jsonl", GOOD)])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(DatasetError, match=r"bad\.jsonl:1"):
        read_cases(bad)
    with pytest.raises(DatasetError, match="does not exist"):
        read_cases(tmp_path / "missing.jsonl")


def test_videos_resolve_next_to_the_file_then_in_search_folders(tmp_path: Path) -> None:
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "v.mp4").write_bytes(b"x")
    other = tmp_path / "other"
    other.mkdir()
    (other / "w.mp4").write_bytes(b"y")
    assert resolve_video("s1/v.mp4", tmp_path) == tmp_path / "s1" / "v.mp4"
    assert resolve_video("clips/w.mp4", tmp_path, [other]) == other / "w.mp4"  # by file name
    assert resolve_video("nope.mp4", tmp_path, [other]) is None
    cases = load_cases([_write(tmp_path / "c.jsonl", {**GOOD, "video": "w.mp4"})], [other])
    assert cases[0].video_path == str(other / "w.mp4")


def test_the_real_clip_cases_are_valid_and_cover_the_types() -> None:
    cases = [c for _, c in read_cases(REAL_CASES)]
    counted = [c for c in cases if not c.optional]
    assert len(counted) >= 20
    assert {c.type for c in counted} >= set(QUESTION_TYPES) - {"while"}  # the only while case needs a VLM
    assert sum(c.absent for c in cases) >= 4
    known = set(AUDIO_CLIPS.values()) | {Path(v).name for v in SHARED_VIDEOS}
    assert {c.video for c in cases} == known
    for c in cases:  # keys are content words, not short function words
        for key in [*c.answer.keys, *(k for alt in c.answer.alternatives for k in alt)]:
            assert len(key) >= 3, (c.id, key)


def test_real_clip_spans_lie_inside_the_recordings(shared_data: Path) -> None:
    from vidreason.evals.haystack import probe_media

    durations = {Path(v).name: probe_media(shared_data / v).duration for v in SHARED_VIDEOS}
    durations |= {name: probe_media(shared_data / src).duration for src, name in AUDIO_CLIPS.items()}
    for _, c in read_cases(REAL_CASES):
        for _s, e in [*c.target, *c.anchor]:
            assert e <= durations[c.video] + 0.2, (c.id, e, durations[c.video])


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_generated_cases_are_valid(path: Path) -> None:
    cases: list[TemporalCase] = [c for _, c in read_cases(path)]
    per_type = Counter(c.type for c in cases)
    assert set(per_type) == set(QUESTION_TYPES)
    assert all(c.id.startswith("gen-") for c in cases)
