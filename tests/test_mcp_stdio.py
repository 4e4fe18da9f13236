"""``vidreason mcp`` driven by the MCP SDK's own client over stdio (the server runs as a subprocess): index a
generated clip with progress, ground, ask twice, transcript, frames, summary, trace, resources and prompts; and
every tool that takes a path refuses every way of naming a file outside the allowed folders."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import pytest
from media import has_ffmpeg, make_cut_video
from reason_helpers import TRAIN, cli_settings_args, line_spoken, quotes, speech_clip

mcp = pytest.importorskip("mcp", reason="the mcp SDK (vidreason[mcp]) is not installed")
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

#: the tools that take a video path, with the other arguments each needs
PATH_TOOLS: dict[str, dict[str, Any]] = {
    "index_video": {},
    "video_info": {},
    "ground": {"query": "the train leaves at noon"},
    "ask": {"question": "What is said right after the weather?"},
    "transcript": {},
    "frames": {"n": 1},
    "summary": {},
}


def server_params(allow: list[Path], cache: Path, cwd: Path) -> StdioServerParameters:
    args = ["-m", "vidreason", "mcp", *[a for d in allow for a in ("--allow", str(d))], *cli_settings_args(cache)]
    return StdioServerParameters(command=sys.executable, args=args, env=dict(os.environ), cwd=str(cwd))


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


def test_stdio_index_ground_ask_frames_resources(tmp_path: Path) -> None:
    root = tmp_path / "videos"
    root.mkdir()
    clip, truth = speech_clip(root)
    log = (tmp_path / "server.log").open("w")
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append((p, total, message))

    async def session_run() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        params = server_params([root], tmp_path / "cache", tmp_path)
        async with stdio_client(params, errlog=log) as (r, w), ClientSession(r, w) as s:
            init = await s.initialize()
            seen["server"] = init.server_info.name
            seen["tools"] = {t.name: t for t in (await s.list_tools()).tools}
            seen["index"] = await s.call_tool("index_video", {"video": "speech.mp4"}, progress_callback=on_progress)
            vid = seen["index"].structured_content["video_id"]
            seen["info"] = await s.call_tool("video_info", {"video": vid})
            seen["ground"] = await s.call_tool("ground", {"video": str(clip), "query": TRAIN, "top_k": 3})
            question = "What does the speaker say about the train?"
            seen["ask"] = await s.call_tool("ask", {"video": "speech.mp4", "question": question})
            seen["ask2"] = await s.call_tool("ask", {"video": clip.as_uri(), "question": question})
            seen["transcript"] = await s.call_tool("transcript", {"video": "speech.mp4", "start": 5.0})
            seen["frames"] = await s.call_tool("frames", {"video": vid, "start": 1.0, "end": 9.0, "n": 3, "size": 96})
            seen["summary"] = await s.call_tool("summary", {"video": vid})
            seen["bad_node"] = await s.call_tool("summary", {"video": vid, "node_id": "shot:9999"})
            tid = seen["ask"].structured_content["trace_id"]
            seen["trace"] = await s.call_tool("trace", {"trace_id": tid, "redact": True})
            seen["outside"] = await s.call_tool("video_info", {"video": str(tmp_path / "server.log")})
            seen["videos"] = json.loads((await s.read_resource("vidreason://videos")).contents[0].text)
            seen["video"] = json.loads((await s.read_resource(f"vidreason://video/{vid}")).contents[0].text)
            seen["trace_res"] = json.loads((await s.read_resource(f"vidreason://trace/{tid}")).contents[0].text)
            seen["traces"] = json.loads((await s.read_resource("vidreason://traces")).contents[0].text)
            with pytest.raises(MCPError):
                await s.read_resource("vidreason://video/ffffffffffffffff")
            seen["prompts"] = [p.name for p in (await s.list_prompts()).prompts]
            seen["prompt"] = await s.get_prompt("temporal_questions", {"video": "speech.mp4"})
        return seen

    try:
        seen = anyio.run(session_run)
    finally:
        log.close()
    assert seen["server"] == "vidreason"
    tools = seen["tools"]
    assert set(tools) == {*PATH_TOOLS, "trace"}
    assert tools["ground"].input_schema["properties"]["top_k"]["maximum"] == 50
    assert "spans" in tools["ground"].output_schema["properties"]
    assert "citations" in tools["ask"].output_schema["properties"]

    index = seen["index"]
    assert not index.is_error, text_of(index)
    assert index.structured_content["duration"] == pytest.approx(11.0, abs=0.3)
    assert index.structured_content["stages"]["transcript"]["status"] == "ok"
    assert progress, "index_video sent no progress notifications"
    values = [p for p, _, _ in progress]
    assert values == sorted(values) and all(t and p <= t for p, t, _ in progress)

    info = seen["info"].structured_content
    assert info["indexed"] and info["has_audio"] and info["top"][0]["node_id"] == "video"

    ground = seen["ground"].structured_content
    best = ground["spans"][0]
    assert best["rank"] == 1 and truth[TRAIN][0] - 0.6 <= best["start"] < best["end"] <= truth[TRAIN][1] + 0.6

    for key in ("ask", "ask2"):
        a = seen[key]
        assert not a.is_error, text_of(a)
        out = a.structured_content
        assert quotes(out["answer"], line_spoken(tmp_path / "cache", clip, truth[TRAIN]))
        assert out["trace_id"] and out["citations"]
        assert all(truth[TRAIN][0] - 0.5 <= c["time"] <= truth[TRAIN][1] + 0.5 for c in out["citations"])
    assert seen["ask"].structured_content["trace_id"] != seen["ask2"].structured_content["trace_id"]

    lines = seen["transcript"].structured_content["lines"]
    heard = line_spoken(tmp_path / "cache", clip, truth[TRAIN])
    assert len(lines) == 1 and quotes(lines[0]["text"], heard) and lines[0]["start"] >= 5.0 - 1.0  # not the first
    assert seen["transcript"].structured_content["speakers"] is None  # espeak's clip is not diarized

    frames = seen["frames"]
    images = [c for c in frames.content if c.type == "image"]
    assert len(images) == 3 and all(c.mime_type == "image/jpeg" for c in images)
    from PIL import Image

    for c in images:
        img = Image.open(io.BytesIO(base64.b64decode(c.data)))
        assert img.format == "JPEG" and min(img.size) == 96
    times = [f["time"] for f in frames.structured_content["frames"]]
    assert times == sorted(times) and times[0] >= 1.0 and times[-1] <= 9.0

    summary = seen["summary"].structured_content
    assert summary["node"]["node_id"] == "video" and summary["children"] and summary["parent"] is None
    assert seen["bad_node"].is_error and text_of(seen["bad_node"]).startswith("vidreason: error: no node")

    trace = seen["trace"].structured_content
    assert trace["redacted"] and trace["complete"] and trace["steps"][0]["node"] == "plan"

    outside = seen["outside"]
    assert outside.is_error and text_of(outside).startswith("vidreason: error:") and "outside" in text_of(outside)

    assert [v["path"] for v in seen["videos"]] == [str(clip.resolve())]
    assert seen["video"]["hierarchy"][0]["node_id"] == "video" and seen["video"]["indexed"]
    assert seen["trace_res"]["trace_id"] == seen["ask"].structured_content["trace_id"]
    assert {t["trace_id"] for t in seen["traces"]} >= {seen["ask"].structured_content["trace_id"]}
    assert set(seen["prompts"]) == {"temporal_questions", "investigate"}
    assert "right after" in seen["prompt"].messages[0].content.text


def _traversal_layout(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """An allowed folder with a video, and a real video outside it reachable by every trick we know."""
    if not has_ffmpeg():
        pytest.skip("ffmpeg is needed to generate the videos")
    root, outside, sibling = tmp_path / "allowed", tmp_path / "outside", tmp_path / "allowed-evil"
    for d in (root, outside, sibling, root / "sub"):
        d.mkdir()
    make_cut_video(root / "inside.mp4", [("red", 1.0), ("blue", 1.0)])
    secret = outside / "secret.mp4"
    shutil.copy(root / "inside.mp4", secret)
    shutil.copy(root / "inside.mp4", sibling / "x.mp4")
    (root / "link.mp4").symlink_to(secret)
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / "sub" / "up").symlink_to(Path("../.."), target_is_directory=True)
    attempts = [
        "../outside/secret.mp4",
        "sub/../../outside/secret.mp4",
        str(secret),
        f"{root}/../outside/secret.mp4",
        "link.mp4",
        "linkdir/secret.mp4",
        "sub/up/outside/secret.mp4",
        "../allowed-evil/x.mp4",
        str(sibling / "x.mp4"),
        secret.as_uri(),
        "file://" + quote(str(root)) + "/%2e%2e/outside/secret.mp4",
        "file://" + quote(str(root)) + "/..%2Foutside%2Fsecret.mp4",
        "file://localhost" + quote(str(secret)),
        "file://evil.example.com" + quote(str(secret)),
        "%2e%2e/outside/secret.mp4",
        "..%2Foutside%2Fsecret.mp4",
        "..\\outside\\secret.mp4",
        "~/" + os.path.relpath(secret, Path.home()),
        "inside.mp4\x00/../../outside/secret.mp4",
        "https://example.com/secret.mp4",
        "sub",
        ".",
        "",
    ]
    return root, secret, attempts


def test_stdio_refuses_paths_outside_roots(tmp_path: Path) -> None:
    root, secret, attempts = _traversal_layout(tmp_path)
    cache = tmp_path / "cache"
    # an index of the outside video in the shared cache: reachable by id, it must still be refused
    fake = cache / "index" / "planted-fps1"
    fake.mkdir(parents=True)
    (fake / "manifest.json").write_text(json.dumps({"video": {"path": str(secret)}, "fps": 1, "stages": {}}))
    from vidreason.agent.access import video_id

    secret_id = video_id(secret)

    async def session_run() -> tuple[dict[tuple[str, str], Any], Any, list[Any], Any]:
        results: dict[tuple[str, str], Any] = {}
        async with stdio_client(server_params([root], cache, tmp_path)) as (r, w), ClientSession(r, w) as s:
            await s.initialize()
            ok = await s.call_tool("video_info", {"video": "inside.mp4"})
            for tool, extra in PATH_TOOLS.items():
                for attempt in [*attempts, secret_id]:
                    results[(tool, attempt)] = await s.call_tool(tool, {"video": attempt, **extra})
            listed = json.loads((await s.read_resource("vidreason://videos")).contents[0].text)
            with pytest.raises(MCPError):
                await s.read_resource(f"vidreason://video/{secret_id}")
            missing = await s.call_tool("trace", {"trace_id": "../../etc/passwd"})
        return results, ok, listed, missing

    results, ok, listed, missing = anyio.run(session_run)
    assert not ok.is_error, text_of(ok)
    for (tool, attempt), result in results.items():
        assert result.is_error, f"{tool}({attempt!r}) was not refused: {text_of(result)[:200]}"
        text = text_of(result)
        if attempt:  # an empty path fails schema validation (minLength) before the tool runs
            assert text.startswith("vidreason: error:") and "\n" not in text, f"{tool}({attempt!r}): {text[:200]}"
    assert all(v["video_id"] != secret_id for v in listed)
    assert missing.is_error and "malformed trace id" in text_of(missing)
    # nothing was indexed or asked about the outside videos
    manifests = [json.loads(m.read_text()) for m in cache.glob("index/*/manifest.json")]
    assert all(m["video"]["path"] == str(secret) for m in manifests) and len(manifests) == 1
    assert not (cache / "traces.sqlite").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_http_transport_on_loopback(tmp_path: Path) -> None:
    """``--http`` serves streamable HTTP on loopback; a request naming another host is refused (no DNS
    rebinding), and the same path checks apply."""
    import subprocess
    import time

    import httpx
    from mcp.client.streamable_http import streamable_http_client

    root, secret, _ = _traversal_layout(tmp_path)
    port = _free_port()
    cmd = [*server_params([root], tmp_path / "cache", tmp_path).args, "--http", "--port", str(port)]
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, *cmd], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not start: {(tmp_path / 'server.log').read_text()}") from None
                time.sleep(0.3)
        rebinding = httpx.post(url, json={}, headers={"Host": "evil.example.com", "Content-Type": "application/json"})
        assert rebinding.status_code in (403, 421)

        async def session_run() -> tuple[Any, Any]:
            async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as s:
                await s.initialize()
                ok = await s.call_tool("video_info", {"video": "inside.mp4"})
                refused = await s.call_tool("video_info", {"video": str(secret)})
            return ok, refused

        ok, refused = anyio.run(session_run)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    assert not ok.is_error and ok.structured_content["duration"] == pytest.approx(2.0, abs=0.2)
    assert refused.is_error and "outside the folders" in text_of(refused)
