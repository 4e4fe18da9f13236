"""Dataset loaders (real annotation files when present, small hand-written files always), the registry,
VideoLocator and recorded LLM decompositions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidreason.evals.datasets import available_datasets, get_loader, load_dataset, resolve_name
from vidreason.evals.datasets.llm_outputs import RecordedDecompositions
from vidreason.evals.datasets.locator import VideoLocator
from vidreason.tools.core.errors import ConfigError, DatasetError


def _ann(shared_data: Path, rel: str) -> Path:
    p = shared_data / "annotations" / rel
    if not p.is_file():
        pytest.skip(f"annotation file {p} not present")
    return p


# --- real files -------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_charades_sta_txt_with_durations_csv(shared_data: Path) -> None:
    txt = _ann(shared_data, "charades_sta/charades_sta_test.txt")
    csv = _ann(shared_data, "charades_sta/Charades_v1_test.csv")
    samples = load_dataset("charades-sta", txt, durations_csv=csv)
    assert len(samples) == 3720
    assert len({s.video_id for s in samples}) == 1334
    first = samples[0]
    assert (first.sample_id, first.video_id, first.query) == ("3MSZA#0", "3MSZA", "person turn a light on.")
    assert first.gt_spans == [(24.3, 30.4)] and first.duration == pytest.approx(30.96)
    assert all(s.duration for s in samples)
    # Without the CSV the text format has no durations.
    assert load_dataset("charades", txt)[0].duration is None


@pytest.mark.shared_data
def test_charades_sta_json_layout_matches_txt(shared_data: Path) -> None:
    txt = load_dataset("charades-sta", _ann(shared_data, "charades_sta/charades_sta_test.txt"))
    js = load_dataset("charades-sta", _ann(shared_data, "charades_sta/tfvtg_charades_test.json"))
    assert len(js) == 3720
    by_id = {s.sample_id: s for s in js}
    for s in txt[:200]:
        j = by_id[s.sample_id]
        assert (j.query, j.gt_spans) == (s.query, s.gt_spans)


@pytest.mark.shared_data
def test_activitynet_val2(shared_data: Path) -> None:
    samples = load_dataset("activitynet-captions", _ann(shared_data, "activitynet_captions/val_2.json"))
    assert len(samples) == 17031
    assert len({s.video_id for s in samples}) == 4885
    assert all(s.duration and s.duration > 0 for s in samples)
    assert not any(s.query.startswith(" ") for s in samples)


@pytest.mark.shared_data
def test_qvhighlights_val(shared_data: Path) -> None:
    samples = load_dataset("qvhighlights", _ann(shared_data, "qvhighlights/highlight_val_release.jsonl"))
    # The file has 1,550 query lines (``wc -l`` says 1,549 because the last line has no newline).
    assert len(samples) == 1550
    assert max(len(s.gt_spans) for s in samples) > 1  # several windows per query exist
    s = next(x for x in samples if x.sample_id == "2579")
    assert s.gt_spans == [(82.0, 150.0)] and s.duration == 150.0
    assert len(s.extra["saliency_scores"]) == len(s.extra["relevant_clip_ids"]) == 34


@pytest.mark.shared_data
def test_tacos_frames_and_seconds_layouts_agree(shared_data: Path) -> None:
    frames = load_dataset("tacos", _ann(shared_data, "tacos/test.json"))
    secs = load_dataset("tacos", _ann(shared_data, "tacos/tacos_test_release.jsonl"))
    assert len(frames) == len(secs) == 4001
    a, b = frames[0], secs[0]
    assert (a.sample_id, a.video_id) == (b.sample_id, b.video_id) == ("s30-d52_0", "s30-d52")
    assert a.gt_spans[0] == pytest.approx(b.gt_spans[0]) == (141 / 29.4, 354 / 29.4)
    assert a.duration == pytest.approx(b.duration)


@pytest.mark.shared_data
def test_recorded_llm_outputs(shared_data: Path) -> None:
    rec = RecordedDecompositions.load(_ann(shared_data, "charades_sta/tfvtg_llm_outputs.json"))
    assert len(rec) == 3720
    d = rec.get("3MSZA", 0)
    assert d is not None and d["relationship"] == "single-query" and d["query_json"][0]["sub_query_id"] == 0
    assert rec.get("3MSZA", sentence="Person turn a light on") is d  # by text, case/full stop ignored
    samples = load_dataset("charades-sta", _ann(shared_data, "charades_sta/charades_sta_test.txt"))
    rels = [rec.relation(s.video_id, s.query_index, s.query) for s in samples]
    assert (rels.count("single"), rels.count("sequential"), rels.count("simultaneous")) == (3150, 389, 181)


# --- hand-written files ------------------------------------------------------------------------------------


def test_charades_txt_parsing_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("V1 1.0 2.5##a man opens a door.\nV1 3 4##he sits\n\nV2 0 1.5##a dog\n")
    samples = load_dataset("charades", f)
    assert [s.sample_id for s in samples] == ["V1#0", "V1#1", "V2#0"]
    assert [s.query_index for s in samples] == [0, 1, 0]
    csv = tmp_path / "d.csv"
    csv.write_text("id,length\nV1,10.5\n")  # V2 missing: stays None (probed at run time)
    withd = load_dataset("charades-sta", f, durations_csv=csv)
    assert [s.duration for s in withd] == [10.5, 10.5, None]
    f.write_text("V1 1.0##no end time\n")
    with pytest.raises(DatasetError, match=r"a.txt:1"):
        load_dataset("charades", f)
    f.write_text("V1 5 2##end before start\n")
    with pytest.raises(DatasetError, match="start <= end"):
        load_dataset("charades", f)
    csv.write_text("vid,len\nV1,3\n")
    f.write_text("V1 1 2##ok\n")
    with pytest.raises(DatasetError, match="needs columns"):
        load_dataset("charades", f, durations_csv=csv)


def test_tfvtg_layout_errors(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"v": {"duration": 5, "timestamps": [[0, 1]], "sentences": ["a", "b"]}}))
    with pytest.raises(DatasetError, match="1 timestamps but 2 sentences"):
        load_dataset("activitynet", f)
    f.write_text("{not json")
    with pytest.raises(DatasetError, match="cannot read JSON"):
        load_dataset("anet", f)


def test_qvhighlights_and_tacos_small(tmp_path: Path) -> None:
    q = tmp_path / "q.jsonl"
    q.write_text(
        json.dumps({"qid": 7, "vid": "A_0_150", "query": "x", "duration": 150, "relevant_windows": [[0, 2], [4, 8]]})
        + "\n"
    )
    (s,) = load_dataset("qvh", q)
    assert s.sample_id == "7" and s.gt_spans == [(0, 2), (4, 8)]
    q.write_text(json.dumps({"qid": 8, "vid": "A", "query": "x", "duration": 150}) + "\n")
    with pytest.raises(DatasetError, match="no 'relevant_windows'"):
        load_dataset("qvhighlights", q)
    t = tmp_path / "t.json"
    t.write_text(json.dumps({"s1.avi": {"fps": 25, "num_frames": 250, "timestamps": [[25, 50]], "sentences": ["cut"]}}))
    (ts,) = load_dataset("tacos", t)
    assert (ts.video_id, ts.gt_spans, ts.duration) == ("s1", [(1.0, 2.0)], 10.0)


def test_registry_lazy_names_and_did_you_mean(tmp_path: Path) -> None:
    assert {"charades-sta", "activitynet-captions", "qvhighlights", "tacos", "haystack"} <= set(available_datasets())
    assert resolve_name("ANET") == "activitynet-captions"
    with pytest.raises(DatasetError, match="did you mean 'charades-sta'"):
        resolve_name("charades-st")
    with pytest.raises(DatasetError, match="Known datasets"):
        get_loader("imagenet")
    f = tmp_path / "a.txt"
    f.write_text("V 0 1##q\n")
    with pytest.raises(ConfigError, match="does not take option"):
        load_dataset("tacos", f, durations_csv="x.csv")
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("charades", tmp_path / "missing.txt")


def test_duplicate_sample_ids_rejected(tmp_path: Path) -> None:
    q = tmp_path / "q.jsonl"
    line = json.dumps({"qid": 1, "vid": "A", "query": "x", "duration": 9, "relevant_windows": [[0, 2]]})
    q.write_text(line + "\n" + line + "\n")
    with pytest.raises(DatasetError, match="occurs 2 times"):
        load_dataset("qvhighlights", q)


def test_video_locator(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    for name in ("a.mp4", "sub/b.MKV", "sub/deeper/c.webm", "d.avi", "d.mp4", "notes.txt", "e.mov"):
        (tmp_path / name).write_bytes(b"")
    loc = VideoLocator(tmp_path)
    assert len(loc) == 5
    assert loc.find("a") == tmp_path / "a.mp4"
    assert loc.find("b") == tmp_path / "sub/b.MKV"
    assert loc.find("c") == tmp_path / "sub/deeper/c.webm"
    assert loc.find("d") == tmp_path / "d.mp4"  # .mp4 preferred over .avi
    assert loc.find("e.avi") == tmp_path / "e.mov"  # ids carrying an extension match by stem
    assert loc.find("notes") is None and loc.find("zzz") is None
    assert loc.missing == {"notes", "zzz"}
    with pytest.raises(DatasetError, match="not found"):
        VideoLocator(tmp_path / "nope")


def test_recorded_decompositions_small(tmp_path: Path) -> None:
    f = tmp_path / "llm.json"
    resp = {"relationship": "sequentially", "query_json": [{"sub_query_id": 0, "descriptions": ["a"]}]}
    f.write_text(json.dumps({"V": {"sentences": ["first. ", "second"], "response": [resp, "unparsable text"]}}))
    rec = RecordedDecompositions.load(f)
    assert rec.get("V", 0) == resp and rec.relation("V", 0) == "sequential"
    assert rec.get("V", 1) is None and rec.relation("V", 1) == "single"  # unparsed -> single-query
    assert rec.get("V", sentence="First") == resp
    assert rec.get("W", 0) is None and rec.relation("W", 0) is None
    f.write_text(json.dumps({"V": {"sentences": ["a"]}}))
    with pytest.raises(DatasetError, match="no 'response'"):
        RecordedDecompositions.load(f)
