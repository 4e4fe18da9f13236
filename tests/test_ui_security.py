"""What the trace viewer refuses: path traversal (``..``, encoded ``%2e%2e``, absolute paths), symlinks out of
the cache, non-video files, foreign Host headers and cross-origin writes (loopback by default; an explicit
``--allowed-host`` list elsewhere), large request bodies, validation errors that would echo the request, and
registrations outside the ``--allow`` folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import indexed_clip, ui_settings

BASE = "http://127.0.0.1:8765"
SECRET = "TOP-SECRET-CONTENT-42"


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Any]:
    """A private copy of the indexed clip's cache (so tests can plant symlinks), a secret file outside it,
    and a client."""
    from fastapi.testclient import TestClient

    from vidreason.ui.app import create_app

    video, cache = indexed_clip()
    mine = tmp_path / "cache"
    shutil.copytree(cache, mine, symlinks=True)
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    client = TestClient(create_app(ui_settings(mine)), base_url=BASE)
    vid = next(v["id"] for v in client.get("/api/videos").json()["videos"] if v["name"] == "speech.mp4")
    return {"client": client, "cache": mine, "secret": secret, "vid": vid, "video": video}


def assert_not_leaked(r: Any) -> None:
    assert r.status_code in (400, 404, 405, 422), (r.status_code, r.text[:200])
    assert SECRET not in r.text and "root:x:0:0" not in r.text


TRAVERSALS = [
    "/static/../agent/settings.py",
    "/static/%2e%2e/agent/settings.py",
    "/static/%2e%2e%2fagent%2fsettings.py",
    "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static//etc/passwd",
    "/static/%2Fetc%2Fpasswd",
    "/api/videos/..%2f..%2f..%2fetc%2fpasswd/media",
    "/api/videos/%2e%2e/media",
    "/api/videos/%2Fetc%2Fpasswd/media",
    "/api/videos//etc/passwd/media",
    "/api/videos/..%2fsecret.txt/media",
    "/api/videos/{vid}/frames/..%2f..%2fmanifest.json",
    "/api/videos/{vid}/frames/%2e%2e%2fmanifest.jpg",
    "/api/videos/{vid}/frames/-1.jpg",
    "/api/runs/..%2f..%2fetc%2fpasswd",
    "/api/runs/%2e%2e%2ftraces.sqlite/export",
]


@pytest.mark.parametrize("url", TRAVERSALS)
def test_path_traversal_is_refused(setup: dict[str, Any], url: str) -> None:
    r = setup["client"].get(url.format(vid=setup["vid"]))
    assert_not_leaked(r)
    assert "settings_from_args" not in r.text and "pydantic" not in r.text  # no source file either


def test_raw_paths_are_never_served(setup: dict[str, Any]) -> None:
    c = setup["client"]
    for path in [str(setup["secret"]), "/etc/passwd", str(setup["video"])]:
        r = c.get("/api/videos/media", params={"path": path})
        assert_not_leaked(r)
    r = c.post("/api/videos", json={"path": str(setup["secret"])})
    assert r.status_code == 400
    assert all(v["path"] != str(setup["secret"]) for v in c.get("/api/videos").json()["videos"])


def test_thumbnail_symlinked_out_of_the_cache_is_refused(setup: dict[str, Any]) -> None:
    c, vid = setup["client"], setup["vid"]
    assert c.get(f"/api/videos/{vid}/frames/3.jpg").status_code == 200
    thumb = next(setup["cache"].glob("index/*/stages/thumbnails-*/000003.jpg"))
    thumb.unlink()
    thumb.symlink_to(setup["secret"])
    assert_not_leaked(c.get(f"/api/videos/{vid}/frames/3.jpg"))


def test_manifests_cannot_smuggle_files(setup: dict[str, Any], tmp_path: Path) -> None:
    """A manifest naming a non-video file, and an index folder symlinked out of the cache."""
    c, cache, secret = setup["client"], setup["cache"], setup["secret"]
    fake = cache / "index" / "fake-fps1"
    fake.mkdir()
    (fake / "manifest.json").write_text(json.dumps({"video": {"path": str(secret)}, "fps": 1, "updated": 9e9}))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    other = tmp_path / "other.txt"
    other.write_text(SECRET)
    (outside / "manifest.json").write_text(json.dumps({"video": {"path": str(other)}, "fps": 1}))
    (cache / "index" / "linked-fps1").symlink_to(outside, target_is_directory=True)
    videos = c.get("/api/videos").json()["videos"]
    assert all(v["path"] != str(other) for v in videos)  # the symlinked folder is ignored
    smuggled = [v for v in videos if v["path"] == str(secret)]
    for v in smuggled:  # listed by name at most, never served
        assert_not_leaked(c.get(f"/api/videos/{v['id']}/media"))
        assert_not_leaked(c.get(f"/api/videos/{v['id']}/frames/0.jpg"))
    assert_not_leaked(c.get("/api/videos/" + "f" * 16 + "/media"))


def test_video_served_through_a_symlink_is_the_real_file(setup: dict[str, Any], tmp_path: Path) -> None:
    link = tmp_path / "link.mp4"
    link.symlink_to(setup["video"])
    r = setup["client"].post("/api/videos", json={"path": str(link)})
    assert r.status_code == 200 and r.json()["id"] == setup["vid"]  # same resolved file, same id


def test_foreign_host_headers_are_refused_on_loopback(setup: dict[str, Any]) -> None:
    c = setup["client"]
    assert c.get("/api/health", headers={"Host": "evil.example"}).status_code == 400
    assert c.get("/api/health", headers={"Host": "evil.example:8765"}).status_code == 400
    for ok in ["localhost:8765", "127.0.0.1", "[::1]:8765"]:
        assert c.get("/api/health", headers={"Host": ok}).status_code == 200, ok


def test_cross_origin_writes_are_refused(setup: dict[str, Any]) -> None:
    c, vid = setup["client"], setup["vid"]
    r = c.post("/api/ask", json={"video_id": vid, "question": "what?"}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = c.post(f"/api/videos/{vid}/index", headers={"Origin": "http://localhost:9999"})
    assert r.status_code == 403
    assert c.post(f"/api/videos/{vid}/index", headers={"Origin": BASE}).status_code == 200
    r = c.post("/api/ground", content='{"video_id": "x", "query": "y"}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 422  # a "simple" cross-site form post is not parsed as JSON


def test_responses_carry_security_headers(setup: dict[str, Any]) -> None:
    for url in ["/", "/api/health", "/static/app.js", "/api/runs/nope"]:
        h = setup["client"].get(url).headers
        assert "script-src" not in h["content-security-policy"] or "unsafe" not in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY", url


def test_loopback_detection_and_exposure_warning() -> None:
    from vidreason.ui.security import exposure_warning, is_loopback

    for host in ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"]:
        assert is_loopback(host) and exposure_warning(host, 1) is None, host
    for host in ["0.0.0.0", "::", "192.168.1.10", "example.com"]:
        assert not is_loopback(host)
        warning = exposure_warning(host, 8765)
        assert warning is not None and host in warning and "127.0.0.1" in warning


def test_non_loopback_bind_answers_only_the_allowed_hosts(setup: dict[str, Any]) -> None:
    """DNS rebinding: on 0.0.0.0 only the names given with --allowed-host (and loopback ones) are answered."""
    from fastapi.testclient import TestClient

    from vidreason.ui.app import create_app

    app = create_app(ui_settings(setup["cache"]), host="0.0.0.0", allowed_hosts=["viewer.lan", "192.168.1.10"])
    c = TestClient(app, base_url="http://viewer.lan:8765")
    for ok in ["viewer.lan:8765", "VIEWER.lan", "192.168.1.10:8765", "localhost:8765", "127.0.0.1"]:
        assert c.get("/api/health", headers={"Host": ok}).status_code == 200, ok
    for bad in ["evil.example", "evil.example:8765", "192.168.1.11:8765", "viewer.lan.evil.example", ""]:
        r = c.get("/api/health", headers={"Host": bad})
        assert r.status_code == 400 and "not allowed" in r.json()["error"], bad
    vid = setup["vid"]
    r = c.post(f"/api/videos/{vid}/index", headers={"Origin": "http://viewer.lan:8765"})
    assert r.status_code == 200
    for origin in ["http://evil.example", "http://viewer.lan:9999", "null"]:
        r = c.post(f"/api/videos/{vid}/index", headers={"Origin": origin})
        assert r.status_code == 403, origin
    # a specific address is its own name; 0.0.0.0 names nothing
    alone = TestClient(create_app(ui_settings(setup["cache"]), host="10.1.2.3"), base_url="http://10.1.2.3:8765")
    assert alone.get("/api/health").status_code == 200
    assert alone.get("/api/health", headers={"Host": "evil.example"}).status_code == 400
    nobody = TestClient(create_app(ui_settings(setup["cache"]), host="0.0.0.0"), base_url="http://192.168.1.10:8765")
    assert nobody.get("/api/health").status_code == 400


def test_registration_is_limited_to_the_allowed_folders(setup: dict[str, Any], tmp_path: Path) -> None:
    """Outside the --allow folders a path is refused with the same words whether it exists or not; a symlink
    inside pointing outside, and ``..``, do not get out."""
    from fastapi.testclient import TestClient

    from vidreason.ui.app import create_app

    allowed = tmp_path / "videos"
    allowed.mkdir()
    inside = allowed / "clip.mp4"
    shutil.copy(setup["video"], inside)
    (allowed / "out.mp4").symlink_to(setup["video"])
    (allowed / "loop.mp4").symlink_to(allowed / "loop.mp4")
    settings = ui_settings(setup["cache"])
    remote = create_app(settings, host="0.0.0.0", allowed_hosts=["viewer.lan"], allow_roots=[allowed])
    c = TestClient(remote, base_url="http://viewer.lan:8765")
    assert c.post("/api/videos", json={"path": str(inside)}).status_code == 200
    refusals = set()
    for path in [
        str(setup["video"]),
        str(setup["secret"]),
        str(tmp_path / "missing.mp4"),
        "/etc/passwd",
        str(allowed / ".." / "secret.txt"),
        str(allowed / "out.mp4"),
    ]:
        r = c.post("/api/videos", json={"path": path})
        assert r.status_code == 403, path
        refusals.add(r.json()["error"].replace(path[:200], "PATH"))
    assert len(refusals) == 1  # existing or not, readable or not: the same answer
    r = c.post("/api/videos", json={"path": str(allowed / "missing.mp4")})
    assert r.status_code == 400 and "no such file" in r.json()["error"]
    r = c.post("/api/videos", json={"path": str(allowed / "loop.mp4")})
    assert r.status_code == 400 and "symlink loop" in r.json()["error"]  # one line, not a 500
    # without --allow a non-loopback viewer registers nothing (videos named at start and indexed ones still show)
    closed = TestClient(
        create_app(settings, host="0.0.0.0", allowed_hosts=["viewer.lan"]), base_url="http://viewer.lan"
    )
    r = closed.post("/api/videos", json={"path": str(inside)})
    assert r.status_code == 403 and "--allow" in r.json()["error"]
    assert any(v["name"] == "speech.mp4" for v in closed.get("/api/videos").json()["videos"])
    # on loopback, --allow limits too; without it anything readable that probes as a video
    local = TestClient(create_app(settings, allow_roots=[allowed]), base_url=BASE)
    assert local.post("/api/videos", json={"path": str(setup["video"])}).status_code == 403
    assert setup["client"].post("/api/videos", json={"path": str(allowed / "loop.mp4")}).status_code == 400


def test_request_bodies_are_limited(setup: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    from vidreason.ui.app import create_app

    c = TestClient(create_app(ui_settings(setup["cache"]), max_body_bytes=2000), base_url=BASE)
    big = json.dumps({"video_id": setup["vid"], "question": "q" * 5000})
    r = c.post("/api/ask", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "qqqq" not in r.text and "2000 bytes" in r.json()["error"]

    def chunks() -> Any:  # no Content-Length: counted while read
        for _ in range(10):
            yield b'{"path": "' + b"x" * 400

    r = c.post("/api/videos", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "xxxx" not in r.text
    r = c.post("/api/videos", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "abc"})
    assert r.status_code in (400, 413)
    ok = c.post("/api/ask", json={"video_id": "f" * 16, "question": "what?"})
    assert ok.status_code == 404  # small bodies pass through to the app
    default = setup["client"].post("/api/ask", content=b"x" * (2 << 20), headers={"Content-Type": "application/json"})
    assert default.status_code == 413  # 1 MiB by default


def test_validation_errors_never_echo_the_request(setup: dict[str, Any]) -> None:
    c, vid = setup["client"], setup["vid"]
    marker = "ECHO-ME-" * 40
    cases = [
        ("/api/ask", {"video_id": vid, "question": marker * 400}),
        ("/api/ask", {"video_id": marker, "question": "what?"}),
        ("/api/ask", {"video_id": vid, "question": {"nested": marker}}),
        ("/api/videos", {"path": [marker]}),
        ("/api/ground", {"video_id": vid, "query": "x", "channels": [marker]}),
        ("/api/jobs", {"kind": marker, "video_id": vid}),
    ]
    for url, body in cases:
        r = c.post(url, json=body)
        assert r.status_code == 422, (url, r.status_code)
        assert "ECHO-ME" not in r.text and r.json()["kind"] == "ValidationError", url
        assert r.json()["error"].startswith("invalid request: ")
    r = c.post("/api/ask", content=b'{"question": "ECHO-ME', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "ECHO-ME" not in r.text


def test_json_endpoints_fuzzed(setup: dict[str, Any]) -> None:
    """Arbitrary JSON to every JSON endpoint: a 4xx with a short one-line error, never a 500; validation errors
    never carry the input back."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    c = setup["client"]
    text = st.text(min_size=0, max_size=60)
    scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text
    value = st.recursive(
        scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=8
    )
    keys = st.sampled_from(["video_id", "question", "path", "query", "channels", "kind"])
    body = st.dictionaries(keys, value, max_size=4)

    @settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(url=st.sampled_from(["/api/ask", "/api/videos", "/api/ground", "/api/jobs"]), payload=body)
    def check(url: str, payload: dict[str, Any]) -> None:
        if url in ("/api/ask", "/api/ground", "/api/jobs") and payload.get("video_id") == setup["vid"]:
            payload = {**payload, "video_id": "f" * 16}  # never start real work
        r = c.post(url, json=payload)
        assert 400 <= r.status_code < 500, (url, payload, r.status_code, r.text[:200])
        error = r.json()["error"]
        assert isinstance(error, str) and "\n" not in error and len(r.content) < 1000
        if r.status_code == 422:  # validation errors name fields, never values
            for v in payload.values():
                if isinstance(v, str) and len(v) >= 12:
                    assert v not in r.text

    check()


def test_cli_binds_loopback_by_default_and_warns_otherwise(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import uvicorn

    from vidreason.agent.cli import main

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    common = ["--cache-dir", str(tmp_path), "--profile", "fast", "--device", "cpu"]
    assert main(["ui", *common]) == 0
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 8765
    assert "WARNING" not in capsys.readouterr().err
    assert main(["ui", "--host", "0.0.0.0", "--port", "9001", *common]) == 1  # which names may reach it?
    assert "--allowed-host" in capsys.readouterr().err
    args = ["ui", "--host", "0.0.0.0", "--port", "9001", "--allowed-host", "viewer.lan", "--allow", str(tmp_path)]
    assert main([*args, "--max-runs", "3", "--max-body", "5000", *common]) == 0
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 9001
    err = capsys.readouterr().err
    assert "WARNING" in err and "0.0.0.0:9001" in err
    app = calls[-1]["app"]
    assert app.state.ui.jobs.max_running == 3 and app.state.ui.registry.allow_roots == [tmp_path.resolve()]
    with pytest.raises(SystemExit):
        main(["ui", "--port", "70000", *common])
    assert main(["ui", "--video", str(tmp_path / "nope.mp4"), *common]) == 1
    assert "no such file" in capsys.readouterr().err
