"""``vidreason index / info / cache``: output, cache hits, provenance, hierarchy and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from media import make_cut_video

from vidreason.agent.cli import main


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("cli") / "cuts.mp4"
    make_cut_video(p, [("red", 2.0), ("testsrc2", 2.0), ("blue", 2.0)], audio="silence")
    return p


def test_index_info_and_cache(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--cache-dir", str(tmp_path / "cache"), "--profile", "fast", "--set", "visual_enabled=false"]
    assert main(["index", str(clip), "--json", *common]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["ok"] and first["stages"]["shots"]["status"] == "ok"
    assert first["stages"]["transcript"]["status"] == "ok"  # silent audio: empty transcript with a reason
    assert main(["index", str(clip), "--json", *common]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["root"] == first["root"] and second["seconds"] < first["seconds"]

    assert main(["info", str(clip), "--json", *common]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["video"]["duration"] == pytest.approx(6.0, abs=0.1)
    assert info["index"]["packages"]["numpy"]
    levels = {n["level"] for n in info["hierarchy"]["nodes"]}
    assert levels == {"video", "event", "scene", "shot"}
    assert main(["info", str(clip), *common]) == 0
    text = capsys.readouterr().out
    assert "shot:0002" in text and "transcript" in text

    assert main(["cache", "list", "--json", *common]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["cache", "clear", "--yes", *common]) == 0
    capsys.readouterr()
    assert main(["cache", "list", "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert main(["index", str(bad), "--cache-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "notes.mp4" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["info", str(tmp_path / "missing.mp4")]) == 1
    with pytest.raises(SystemExit) as e:
        main(["index"])
    assert e.value.code == 2
    assert main([]) == 2
