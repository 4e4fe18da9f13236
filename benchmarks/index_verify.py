"""Cost of the self-checking index: what a cache hit pays for sizes and checksums, what ``probe`` pays for
reading the display rotation, and the checksum throughput (to extrapolate to long videos).

Run: ``python benchmarks/index_verify.py [--video PATH] [--repeats N]`` (default video: the PySceneDetect
documentary clip from ../shared/data, else a generated one). Writes benchmarks/results/index_verify.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import report

from vidreason.tools.core.settings import Settings
from vidreason.tools.index import integrity
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.media import inputs
from vidreason.tools.media.video import _open, probe

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "scenedetect_documentary_speech.mp4"


def cpu() -> dict[str, Any]:
    """CPU model and the flags that matter for hashing and inference."""
    info: dict[str, Any] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and "model" not in info:
                info["model"] = value.strip()
            if key.strip() == "flags" and "flags" not in info:
                wanted = ("avx2", "avx512f", "sha_ni", "amx_bf16", "avx512_bf16")
                info["flags"] = [f for f in value.split() if f in wanted]
    except OSError:
        pass
    return info


def median_s(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times), 5)


def video_or_generated(path: str | None, folder: Path) -> Path:
    if path:
        return Path(path)
    if SHARED.exists():
        return SHARED
    import subprocess

    out = folder / "clip.mp4"
    source = ["-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=60"]
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *source, "-c:v", "libx264", str(out)], check=True)
    return out


def rotation_read(video: Path) -> None:
    container = _open(video)
    with container:
        inputs.first_frame_rotation(container, container.streams.video[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--video")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = video_or_generated(args.video, folder)
        settings = Settings(
            profile="fast",
            device="cpu",
            cache_dir=folder / "cache",
            clip_model="vidreason-tiny-vit",
            clip_pretrained="random",
        )
        t = time.perf_counter()
        index = VideoIndex.build(video, settings)
        build_s = time.perf_counter() - t
        files = [f for f in index.root.rglob("*") if f.is_file()]
        total = sum(f.stat().st_size for f in files)
        blob = folder / "blob.bin"
        blob.write_bytes(bytes(range(256)) * (1 << 20))  # 256 MB
        digest_s = median_s(lambda: integrity.file_digest(blob), 3)
        result = {
            "cpu": cpu(),
            "note": "measured on a shared 2-core machine while others worked: re-run on an idle one",
            "video": str(video),
            "duration_s": index.duration,
            "index_files": len(files),
            "index_bytes": total,
            "first_build_s": round(build_s, 3),
            "probe_s": median_s(lambda: probe(video), args.repeats),
            "probe_rotation_read_s": median_s(lambda: rotation_read(video), args.repeats),
            "load_sizes_only_s": median_s(lambda: VideoIndex.load(video, settings), args.repeats),
            "build_cache_hit_sizes_and_checksums_s": median_s(lambda: VideoIndex.build(video, settings), args.repeats),
            "cache_verify_all_files_s": median_s(lambda: integrity.verify_root(index.root), args.repeats),
            "blake2b_mb_per_s": round(256 / digest_s, 1),
        }
        report("index_verify", result)


if __name__ == "__main__":
    main()
