"""The MCP server in-process (the SDK's ``Client`` over memory streams): the allowed-roots rules, cancellation of
long work, one-line errors, and traces of videos outside the roots."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp", reason="the mcp SDK (vidreason[mcp]) is not installed")
from mcp import Client

from vidreason.agent.access import PathNotAllowed, VideoEntry, video_id
from vidreason.agent.mcp.roots import AllowedRoots
from vidreason.tools.core.errors import ConfigError


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """Two allowed folders, files outside them, and symlinks that point out."""
    a, b, out, evil = tmp_path / "a", tmp_path / "b", tmp_path / "out", tmp_path / "a-evil"
    for d in (a, b, out, evil, a / "sub"):
        d.mkdir()
    for f in (a / "one.mp4", b / "two.mp4", out / "secret.mp4", evil / "x.mp4", a / "sub" / "three.mp4"):
        f.write_bytes(b"not really a video")
    (a / "out.mp4").symlink_to(out / "secret.mp4")
    (a / "in.mp4").symlink_to(a / "sub" / "three.mp4")
    (a / "outdir").symlink_to(out, target_is_directory=True)
    return {"a": a, "b": b, "out": out, "evil": evil}


def test_allowed_roots_accept_files_inside(layout: dict[str, Path]) -> None:
    a, b = layout["a"], layout["b"]
    roots = AllowedRoots([a, b, a])
    assert roots.dirs == [a.resolve(), b.resolve()]
    assert roots.resolve("one.mp4") == (a / "one.mp4").resolve()
    assert roots.resolve("two.mp4") == (b / "two.mp4").resolve()  # relative paths are tried under every root
    assert roots.resolve(str(a / "sub" / ".." / "one.mp4")) == (a / "one.mp4").resolve()
    assert roots.resolve("in.mp4") == (a / "sub" / "three.mp4").resolve()  # a symlink that stays inside
    assert roots.resolve((a / "sub" / "three.mp4").as_uri()) == (a / "sub" / "three.mp4").resolve()
    assert roots.resolve(f"file://localhost{a}/sub%2Fthree.mp4") == (a / "sub" / "three.mp4").resolve()


@pytest.mark.parametrize(
    ("attempt", "why"),
    [
        ("../out/secret.mp4", "outside"),
        ("sub/../../out/secret.mp4", "outside"),
        ("{out}/secret.mp4", "outside"),
        ("out.mp4", "outside"),
        ("outdir/secret.mp4", "outside"),
        ("../a-evil/x.mp4", "outside"),
        ("{evil}/x.mp4", "outside"),
        ("file://{out}/secret.mp4", "outside"),
        ("file://{a}/%2E%2E/out/secret.mp4", "outside"),
        ("file://remote.example/{a}/one.mp4", "only local"),
        ("https://example.com/one.mp4", "only file paths"),
        ("%2e%2e/out/secret.mp4", "no such file"),
        ("missing.mp4", "no such file"),
        ("sub", "not a regular file"),
        ("one.mp4\x00../../out/secret.mp4", "not a valid path"),
        ("one.mp4\n", "not a valid path"),
        ("   ", "empty path"),
        ("x" * 5000, "not a valid path"),
    ],
)
def test_allowed_roots_refuse(layout: dict[str, Path], attempt: str, why: str) -> None:
    roots = AllowedRoots([layout["a"]])
    text = attempt.format(out=layout["out"], a=layout["a"], evil=layout["evil"])
    with pytest.raises(PathNotAllowed, match=why) as e:
        roots.resolve(text)
    assert "\n" not in str(e.value)


def test_allowed_roots_refuse_outside_before_telling_existence(layout: dict[str, Path]) -> None:
    roots = AllowedRoots([layout["a"]])
    for name in ("secret.mp4", "does-not-exist.mp4"):
        with pytest.raises(PathNotAllowed, match="outside"):
            roots.resolve(str(layout["out"] / name))


def test_allowed_roots_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such folder"):
        AllowedRoots([tmp_path / "nope"])
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        AllowedRoots([tmp_path / "f"])


def _server(tmp_path: Path, root: Path) -> tuple[Any, Any]:
    from vidreason.agent.mcp.server import build_server
    from vidreason.agent.mcp.service import VidreasonService
    from vidreason.tools.core.settings import Settings

    service = VidreasonService(
        Settings(profile="fast", device="cpu", cache_dir=tmp_path / "cache"), AllowedRoots([root])
    )
    return service, build_server(service)


def test_cancelling_index_video_stops_the_build(tmp_path: Path, layout: dict[str, Path]) -> None:
    """The client cancels a long build: the call returns at once, the worker stops at its next progress
    report, and the server keeps serving."""
    from vidreason.agent.mcp.work import Cancelled

    service, mcp = _server(tmp_path, layout["a"])
    entry = VideoEntry(id=video_id(layout["a"] / "one.mp4"), path=(layout["a"] / "one.mp4").resolve(), source="mcp")
    service.video = lambda text: entry  # type: ignore[method-assign]
    service.build_steps = lambda: 3  # type: ignore[method-assign]
    steps = 400
    seen = {"reports": 0}
    stopped = threading.Event()

    def slow_index(entry: VideoEntry, progress: Any, *, force: bool = False) -> Any:
        try:
            for i in range(steps):
                progress("decode", i / steps)
                seen["reports"] += 1
                time.sleep(0.05)
        except Cancelled:
            stopped.set()
            raise
        raise AssertionError("the build was not cancelled")

    service.index = slow_index  # type: ignore[method-assign]
    progress: list[float] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async def run() -> Any:
        async with Client(mcp) as c:
            with anyio.move_on_after(1.5) as scope:
                await c.call_tool("index_video", {"video": "one.mp4"}, progress_callback=on_progress)
            assert scope.cancelled_caught
            await anyio.to_thread.run_sync(stopped.wait, 30)
            return await c.call_tool("trace", {"trace_id": "not/valid"})

    after = anyio.run(run)
    assert stopped.is_set() and seen["reports"] < steps
    assert progress and progress == sorted(progress)
    assert after.is_error and after.content[0].text.startswith("vidreason: error: malformed trace id")


def test_errors_are_one_line_tool_errors(tmp_path: Path, layout: dict[str, Path]) -> None:
    from vidreason.graphs.traces import Trace

    service, mcp = _server(tmp_path, layout["a"])

    def crash(entry: Any) -> Any:
        raise RuntimeError("boom\nsecond line")

    service.info = crash  # type: ignore[method-assign]
    service.registry.register = lambda path, source="mcp": VideoEntry(video_id(path), path, source)  # type: ignore[method-assign]
    tid = "0123456789abcdef0123456789abcdef"
    service.traces.get = lambda trace_id, redact=False: Trace(  # type: ignore[method-assign]
        trace_id=trace_id, video=str(layout["out"] / "secret.mp4"), question="what is secret?"
    )

    async def run() -> list[Any]:
        async with Client(mcp) as c:
            return [
                await c.call_tool("video_info", {"video": "one.mp4"}),
                await c.call_tool("video_info", {"video": "../out/secret.mp4"}),
                await c.call_tool("trace", {"trace_id": tid}),
                await c.call_tool("frames", {"video": "one.mp4", "n": 99}),
            ]

    crashed, outside, foreign_trace, invalid = anyio.run(run)
    assert crashed.is_error
    assert crashed.content[0].text.startswith("vidreason: unexpected error: RuntimeError: boom second line")
    assert outside.is_error and outside.content[0].text.startswith("vidreason: error: '../out/secret.mp4': outside")
    text = foreign_trace.content[0].text
    assert foreign_trace.is_error and "no trace" in text and "secret" not in text
    assert invalid.is_error and "n" in invalid.content[0].text  # schema validation (le=16) before the tool runs


def test_detached_run_is_cancelled_and_holds_the_lock_until_it_winds_down() -> None:
    """A cancelled ``ask`` stops waiting at once; its graph run is cancelled, and the next run waits for it."""
    import asyncio

    from vidreason.agent.mcp.work import detached

    events: list[str] = []

    async def run_graph(name: str, seconds: float) -> str:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            events.append(f"{name} cancelled")
            await asyncio.sleep(0.2)  # winding down (a node finishing in its thread)
            events.append(f"{name} wound down")
            raise
        events.append(f"{name} done")
        return name

    async def main() -> str:
        lock = asyncio.Lock()
        with anyio.move_on_after(0.2) as scope:
            await detached(run_graph("first", 60), lock)
        assert scope.cancelled_caught and lock.locked()
        events.append("caller returned")
        return await detached(run_graph("second", 0.01), lock)

    assert anyio.run(main) == "second"
    assert events == ["caller returned", "first cancelled", "first wound down", "second done"]


def test_cli_refuses_a_missing_allowed_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vidreason.agent.cli import main

    assert main(["mcp", "--allow", str(tmp_path / "nope"), "--cache-dir", str(tmp_path / "cache")]) == 1
    assert capsys.readouterr().err.strip() == f"vidreason: error: --allow {tmp_path / 'nope'}: no such folder"
