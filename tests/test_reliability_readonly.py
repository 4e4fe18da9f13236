"""Issue 19, item 4: a read-only cache serves every command that does not build (no lock, no hash memo, no
trace writes), says what it cannot build with the file and the fix, and the trace listing reports errors
instead of "no traces"."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from media import has_ffmpeg, make_cut_video
from reason_helpers import install_fast_matcher
from reliability_helpers import cli_args, fast_settings, make_writable, one_error_line, read_only, run_cli

from vidreason.agent.cli import main
from vidreason.graphs.traces import TraceStore
from vidreason.tools.core import storage
from vidreason.tools.core.errors import StorageError, TraceStoreError
from vidreason.tools.index.video_index import VideoIndex

pytestmark = pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg is needed to generate the test clip")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("ro") / "cuts.mp4"
    make_cut_video(p, [("red", 2.0), ("blue", 2.0)])
    return p


@pytest.fixture
def built_cache(clip: Path, cache_dir: Path) -> Iterator[Path]:
    """An indexed clip and one stored run in ``cache_dir`` (made writable again afterwards)."""
    install_fast_matcher(fast_settings(cache_dir))
    assert main(["index", str(clip), "--no-progress", *cli_args(cache_dir)]) == 0
    assert main(["ask", str(clip), "when does the screen turn blue?", *cli_args(cache_dir)]) == 0
    yield cache_dir
    make_writable(cache_dir)


def test_cache_hit_takes_no_lock(clip: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = fast_settings(cache_dir)
    VideoIndex.build(clip, settings)

    @contextlib.contextmanager
    def no_lock(path: Path, *args: object, **kwargs: object) -> Iterator[None]:
        raise StorageError(f"cannot open the lock file {path}: Read-only file system")
        yield

    monkeypatch.setattr(storage, "file_lock", no_lock)
    assert VideoIndex.build(clip, settings).get("graph") is not None


def test_read_only_cache_serves_every_command_that_does_not_build(clip: Path, built_cache: Path) -> None:
    common = cli_args(built_cache)
    listed = run_cli(["trace", "--list", *common])
    trace_id = listed.stdout.split()[0]
    prefix = read_only(built_cache)
    for args in (
        ["index", str(clip), "--no-progress"],
        ["info", str(clip)],
        ["ground", str(clip), "the blue screen"],
        ["trace", "--list"],
        ["trace", trace_id],
        ["cache", "list"],
        ["cache", "verify"],
    ):
        done = run_cli([*args, *common], prefix)
        assert done.returncode == 0, (args, done.stderr)
        assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr, (args, done.stderr)
    assert trace_id in run_cli(["trace", "--list", *common], prefix).stdout  # was "no traces"
    asked = run_cli(["ask", str(clip), "when does the screen turn blue?", *common], prefix)
    assert asked.returncode == 0, asked.stderr
    assert "trace is not stored" in asked.stderr and "cannot be written" in asked.stderr


def test_read_only_cache_names_what_it_cannot_build(clip: Path, built_cache: Path) -> None:
    index = VideoIndex.load(clip, fast_settings(built_cache))
    damaged = index.stage_dir("shots") / "artefact.json"
    damaged.write_text(damaged.read_text()[:10])
    prefix = read_only(built_cache)
    done = run_cli(["index", str(clip), "--no-progress", *cli_args(built_cache)], prefix)
    line = one_error_line(done.stderr)
    assert done.returncode == 1 and str(damaged) in line and "cannot be written" in line and "fix:" in line
    other = run_cli(["index", str(clip), "--no-progress", "--fps", "2", *cli_args(built_cache)], prefix)
    assert other.returncode == 1 and "not built yet" in one_error_line(other.stderr)


def test_trace_listing_reports_an_unreadable_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "traces.sqlite").write_bytes(b"this is not a SQLite file" * 100)
    with pytest.raises(TraceStoreError, match="cannot be read"):
        TraceStore(cache / "traces.sqlite").list()
    assert main(["trace", "--list", "--cache-dir", str(cache)]) == 1
    err = capsys.readouterr().err
    assert "traces.sqlite" in err and len(err.strip().splitlines()) == 1
    assert TraceStore(tmp_path / "nothing.sqlite").list() == []  # no store yet: nothing to report
