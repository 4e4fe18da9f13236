"""Shot-boundary quality and speed: vidreason's detectors against PySceneDetect, side by side, on the real clips of
../shared/data/videos (reference cuts established by eye, below) and on generated videos with hard cuts, fades
and dissolves at known frames.

Run: ``python benchmarks/shot_quality.py`` (needs ffmpeg and the ``bench`` extra: ``pip install scenedetect``;
``--skip-transnet`` leaves out the two TransNetV2 runs, which take minutes on a CPU). Writes
``benchmarks/results/shot_quality.json``.

Detectors (each decodes the file itself; times are wall-clock seconds including the decode):

* ``vidreason fast``: the colour content detector at its own 4 fps, boundaries refined to the exact frame;
* ``vidreason fast (grid)``: the same without refinement (boundaries on the 4 fps grid: the old behaviour);
* ``vidreason accurate``: TransNetV2 (packaged weights, CPU) at its own 25 fps, refined;
* ``transnetv2 at 4 fps``: TransNetV2 fed the 4 fps grid (the old accurate profile);
* ``PySceneDetect content`` / ``PySceneDetect adaptive``: scenedetect's ContentDetector / AdaptiveDetector with
  their default parameters (OpenCV backend), boundaries at the first frame of each new scene.

Scoring: a reference transition is a time (hard cut: the first frame of the new shot) or a span (a fade or
dissolve, from its first changed frame to its last). A detected boundary matches an unmatched reference when it
lies within ``tol`` of the span (one-to-one, nearest first); detections in a clip's ``ignore`` spans (a fade in
from black at the very start, a title animation) count neither way. Precision, recall and F1 at ``tol`` = 0.5 s
and at one frame (1 / the clip's frame rate).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _common import report

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
MIN_SHOT_LEN = 1.0


@dataclass
class Reference:
    """The transitions of one video: hard cuts (time of the first new frame) and gradual spans (seconds)."""

    cuts: list[float]
    gradual: list[tuple[float, float]] = field(default_factory=list)
    ignore: list[tuple[float, float]] = field(default_factory=list)
    note: str = ""

    def spans(self) -> list[tuple[float, float]]:
        return sorted([(c, c) for c in self.cuts] + list(self.gradual))


# Reference transitions of the real clips, established by looking at the frames: 2 fps contact sheets of each
# clip, then every native frame around each candidate (peaks of a full-rate frame-difference scan and every
# detector's output). Times are presentation times of the clip's first video stream.
REAL: dict[str, Reference] = {
    "scenedetect_testvideo.mp4": Reference(
        cuts=[1.001, 6.006],
        gradual=[(7.04, 8.0), (11.0, 12.05), (13.15, 14.1), (17.65, 18.65), (22.2, 23.1)],
        note="black leader cut to a leaf at 1.001, cut to black at 6.006, fade in (deer) 7.04-8.0, fade out "
        "11.0-12.05, fade in (rock) 13.15-14.1, dissolve to a tyre 17.65-18.65, fade out at the end 22.2-23.1",
    ),
    "bbb_0_30.webm": Reference(
        cuts=[11.795, 15.67, 22.961],
        ignore=[(0.0, 2.2)],
        note="opens with a fade in from black (ignored); titles fade over the last shot (not boundaries)",
    ),
    "nasa_13013.mp4": Reference(cuts=[8.08], gradual=[(5.06, 6.0)], note="a dissolve, then a hard cut"),
    "opencv_Megamind.avi": Reference(
        cuts=[4.129, 6.465, 8.383], ignore=[(0.0, 0.2)], note="two black frames at the start (ignored)"
    ),
    "scenedetect_documentary_speech.mp4": Reference(cuts=[2.8, 6.8, 12.04, 16.84, 19.36]),
    "scenedetect_goldeneye-vfr-drop3.mp4": Reference(cuts=[3.754, 8.759], note="variable frame rate"),
    "iscc_demo.mp4": Reference(
        cuts=[
            *(7.625, 10.125, 15.208, 16.458, 20.208, 23.0, 29.417, 30.875, 36.0, 38.458, 39.958, 42.667),
            *(46.625, 48.417, 49.5, 54.167, 57.042, 59.667),
        ],
        gradual=[(4.54, 5.5)],
        ignore=[(0.0, 1.5)],
        note="176x144 live band; the encode pulses at every keyframe (every 1.25 s), which is not a boundary; "
        "title animation at the start (ignored), title dissolves into the drums at 4.54-5.5",
    ),
    "videoagent_kitchen_egocentric.mp4": Reference(cuts=[], note="one continuous head-mounted shot, fast motion"),
    "videollama_dog_barking.mp4": Reference(cuts=[], note="one shot"),
}
#: pdvc_xukun.mp4 is left out: its changes of framing are fast digital zooms and possible jump cuts inside one
#: continuous take, with no reference an annotator could defend frame by frame.


# -------------------------------------------------------------------------------------------- generated videos
#: (source, seconds) segments and xfade transitions (joint index -> (name, seconds)), as tests/media.py takes
#: them; every other joint is a hard cut. The first joint is a hard cut at exactly 1.0 s.
SYNTHETIC = {
    "segments": [
        ("red", 1.0),
        ("testsrc2", 4.0),
        ("mandelbrot", 5.0),
        ("smptebars", 3.0),
        ("cellauto", 4.0),
        ("0x336699", 1.0),
        ("gradients", 4.0),
        ("life", 5.0),
        ("rgbtestsrc", 3.0),
        ("testsrc", 4.0),
        ("pal75bars", 3.0),
        ("mandelbrot", 4.0),
        ("yellow", 2.0),
        ("testsrc2", 4.0),
    ],
    "transitions": {
        3: ("fade", 1.0),
        7: ("fadeblack", 1.0),
        8: ("dissolve", 1.5),
        10: ("fade", 0.5),
        13: ("fadeblack", 0.6),
    },
}


def _shots(name: str) -> list[tuple[str, float, float]]:
    """Single-shot pieces of the real clips (``(file, start, seconds)``), chosen from the references."""
    return {
        "montage": [
            ("bbb_0_30.webm", 2.5, 4.0),
            ("videoagent_kitchen_egocentric.mp4", 8.0, 5.0),
            ("scenedetect_documentary_speech.mp4", 7.0, 4.0),
            ("iscc_demo.mp4", 23.2, 5.0),
            ("videollama_dog_barking.mp4", 0.5, 1.0),
            ("scenedetect_testvideo.mp4", 1.2, 4.0),
            ("videoagent_kitchen_egocentric.mp4", 18.0, 6.0),
            ("bbb_0_30.webm", 16.0, 4.0),
            ("opencv_Megamind.avi", 0.5, 3.5),
            ("iscc_demo.mp4", 31.0, 4.5),
            ("scenedetect_documentary_speech.mp4", 20.0, 4.0),
            ("pdvc_xukun.mp4", 15.0, 5.0),
            ("scenedetect_testvideo.mp4", 14.5, 3.0),
            ("videoagent_kitchen_egocentric.mp4", 30.0, 5.0),
        ]
    }[name]


#: joint index -> xfade transition (the 1 s dog piece sits between two hard cuts)
MONTAGE_TRANSITIONS = {
    2: ("fade", 1.0),
    6: ("fadeblack", 0.8),
    8: ("dissolve", 1.0),
    10: ("fade", 0.6),
    12: ("fadeblack", 1.2),
}


def make_montage(path: Path, pieces: Sequence[tuple[str, float, float]], transitions: dict, fps: int = 25) -> Reference:
    """Real footage joined with hard cuts and xfade transitions at known frames (640x360, ``fps``)."""
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error"]
    filters = []
    for i, (name, start, seconds) in enumerate(pieces):
        cmd += ["-ss", f"{start}", "-t", f"{seconds}", "-i", str(VIDEOS / name)]
        filters.append(
            f"[{i}:v]scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,setsar=1,"
            f"fps={fps},format=yuv420p,trim=duration={seconds},setpts=PTS-STARTPTS,settb=AVTB[s{i}]"
        )
    cuts, gradual = [], []
    acc, total = "s0", float(pieces[0][2])
    for i in range(1, len(pieces)):
        seconds = float(pieces[i][2])
        if i in transitions:
            kind, d = transitions[i]
            offset = total - d
            filters.append(f"[{acc}][s{i}]xfade=transition={kind}:duration={d}:offset={offset:.6f}[j{i}]")
            gradual.append((offset, total))
            total += seconds - d
        else:
            filters.append(f"[{acc}][s{i}]concat=n=2:v=1:a=0[j{i}]")
            cuts.append(total)
            total += seconds
        acc = f"j{i}"
    cmd += ["-filter_complex", ";".join(filters), "-map", f"[{acc}]", "-c:v", "libx264", "-preset", "veryfast"]
    subprocess.run([*cmd, "-pix_fmt", "yuv420p", str(path)], check=True)
    return Reference(
        cuts=cuts, gradual=gradual, note="real footage joined by ffmpeg at known frames; hard cuts snapped"
    )


def snap_cuts(path: Path, ref: Reference, reach: float = 0.15) -> Reference:
    """The reference with each nominal hard cut moved to the largest frame change within ``reach`` seconds
    of it in the rendered file. (ffmpeg's ``concat`` after an ``xfade`` starts the next segment one frame
    later than the sum of the segment lengths says: measured on a red-blue-green clip, the nominal cut at
    5.0 s lands at 5.04 s. The sources on either side differ completely, so the change is unambiguous.)"""
    from vidreason.tools.media.video import decode_windows

    cuts = list(ref.cuts)
    for i, frames, pts in decode_windows(path, [(c - reach, c + reach) for c in ref.cuts], short_side=64):
        if len(frames) >= 2:
            step = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
            cuts[i] = round(float(pts[int(np.argmax(step)) + 1]), 4)
    return Reference(cuts=cuts, gradual=ref.gradual, ignore=ref.ignore, note=ref.note)


def generated(folder: Path) -> dict[str, tuple[Path, Reference]]:
    from media import make_cut_video

    out = {}
    for fps in (25, 30):
        p = folder / f"synthetic_{fps}fps.mp4"
        bounds = make_cut_video(p, SYNTHETIC["segments"], transitions=SYNTHETIC["transitions"], fps=fps)
        ref = Reference(
            cuts=[b.start for b in bounds if b.kind == "cut"],
            gradual=[(b.start, b.end) for b in bounds if b.kind != "cut"],
            note=f"lavfi test patterns (some moving) at {fps} fps joined by tests/media.make_cut_video; hard cuts "
            "snapped to the rendered frames",
        )
        out[p.name] = (p, snap_cuts(p, ref))
    p = folder / "montage_25fps.mp4"
    out[p.name] = (p, snap_cuts(p, make_montage(p, _shots("montage"), MONTAGE_TRANSITIONS)))
    return out


# -------------------------------------------------------------------------------------------------- detectors
def vidreason(detector: str, fps: float, refine: bool) -> Callable[[Path], list[float]]:
    def run(path: Path) -> list[float]:
        from vidreason.tools.media.video import iter_frames, probe
        from vidreason.tools.shots import create_detector
        from vidreason.tools.shots.refine import Refiner

        info = probe(path)
        det = create_detector(detector, fps=fps, device="cpu", min_shot_len=MIN_SHOT_LEN)
        for chunk in iter_frames(path, fps, short_side=224):
            det.update(chunk.frames, chunk.timestamps)
        table = np.arange(0.0, info.duration, 1.0)
        res = det.finalize(table, info.duration, refine=Refiner(path) if refine else None)
        return [s.start for s in res.shots[1:]]

    return run


def pyscenedetect(kind: str) -> Callable[[Path], list[float]]:
    def run(path: Path) -> list[float]:
        from scenedetect import AdaptiveDetector, ContentDetector, detect

        det = ContentDetector() if kind == "content" else AdaptiveDetector()
        scenes = detect(str(path), det)
        return [float(start.get_seconds()) for start, _ in scenes[1:]]

    return run


DETECTORS: dict[str, Callable[[Path], list[float]]] = {
    "vidreason fast": vidreason("content", 4.0, refine=True),
    "vidreason fast (grid)": vidreason("content", 4.0, refine=False),
    "vidreason accurate": vidreason("transnetv2", 25.0, refine=True),
    "transnetv2 at 4 fps": vidreason("transnetv2", 4.0, refine=False),
    "PySceneDetect content": pyscenedetect("content"),
    "PySceneDetect adaptive": pyscenedetect("adaptive"),
}
TRANSNET = ("vidreason accurate", "transnetv2 at 4 fps")


# ---------------------------------------------------------------------------------------------------- scoring
def match(found: Sequence[float], ref: Reference, tol: float) -> dict[str, int]:
    """One-to-one matching of detections to reference spans within ``tol`` (nearest pairs first)."""
    dets = [t for t in found if not any(a - 1e-6 <= t <= b + 1e-6 for a, b in ref.ignore)]
    spans = ref.spans()
    pairs = []
    for i, t in enumerate(dets):
        for j, (a, b) in enumerate(spans):
            dist = max(a - t, 0.0, t - b)
            if dist <= tol + 1e-6:
                pairs.append((dist, i, j))
    used_d, used_r = set(), set()
    for _, i, j in sorted(pairs):
        if i not in used_d and j not in used_r:
            used_d.add(i)
            used_r.add(j)
    tp = len(used_d)
    return {"tp": tp, "fp": len(dets) - tp, "fn": len(spans) - tp}


def prf(counts: dict[str, int]) -> dict[str, float]:
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 3)}


def cpu() -> dict[str, Any]:
    info: dict[str, Any] = {"machine": platform.machine(), "cores": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["model"] = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                info["flags"] = sorted(set(line.split()) & {"avx2", "avx512f", "fma", "avx512_bf16", "amx_bf16"})
                break
    except OSError:
        pass
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-transnet", action="store_true", help="leave out the TransNetV2 runs (slow on CPU)")
    ap.add_argument("--detectors", nargs="*", help="only these detectors (names as in the JSON)")
    args = ap.parse_args()
    from vidreason.tools.media.video import probe

    names = [n for n in DETECTORS if not (args.skip_transnet and n in TRANSNET)]
    if args.detectors:
        names = [n for n in names if n in args.detectors]
    with tempfile.TemporaryDirectory() as tmp:
        videos: dict[str, tuple[Path, Reference, str]] = {}
        if VIDEOS.is_dir():
            videos.update({k: (VIDEOS / k, ref, "real") for k, ref in REAL.items() if (VIDEOS / k).is_file()})
        videos.update({k: (p, ref, "generated") for k, (p, ref) in generated(Path(tmp)).items()})
        per_video: dict[str, Any] = {}
        for vname, (path, ref, group) in videos.items():
            info = probe(path)
            frame = 1.0 / (info.fps or 25.0)
            entry: dict[str, Any] = {
                "group": group,
                "duration_s": round(info.duration, 3),
                "fps": round(info.fps or 0.0, 3),
                "reference": {"cuts": ref.cuts, "gradual": ref.gradual, "ignore": ref.ignore, "note": ref.note},
                "detectors": {},
            }
            for name in names:
                t0, c0 = time.perf_counter(), time.process_time()
                found = DETECTORS[name](path)
                wall, cpu_s = time.perf_counter() - t0, time.process_time() - c0
                entry["detectors"][name] = {
                    "boundaries": [round(t, 3) for t in found],
                    "wall_s": round(wall, 3),
                    "cpu_s": round(cpu_s, 3),
                    "tol_0.5s": match(found, ref, 0.5),
                    "tol_1frame": match(found, ref, frame),
                }
                m = entry["detectors"][name]
                print(f"{vname:40s} {name:24s} {wall:7.2f}s  0.5s:{m['tol_0.5s']}  1f:{m['tol_1frame']}", flush=True)
            per_video[vname] = entry
    summary: dict[str, Any] = {}
    for group in ("real", "generated", "all"):
        rows = {k: v for k, v in per_video.items() if group == "all" or v["group"] == group}
        if not rows:
            continue
        seconds = sum(v["duration_s"] for v in rows.values())
        summary[group] = {"videos": len(rows), "video_s": round(seconds, 1), "detectors": {}}
        for name in names:
            out: dict[str, Any] = {}
            for tol in ("tol_0.5s", "tol_1frame"):
                counts = {c: sum(v["detectors"][name][tol][c] for v in rows.values()) for c in ("tp", "fp", "fn")}
                out[tol] = {**counts, **prf(counts)}
            wall = sum(v["detectors"][name]["wall_s"] for v in rows.values())
            out["wall_s"] = round(wall, 2)
            out["x_realtime"] = round(seconds / wall, 1) if wall else None
            summary[group]["detectors"][name] = out
    for group, s in summary.items():
        print(f"\n{group}: {s['videos']} videos, {s['video_s']} s")
        print(
            f"{'detector':26s} {'P':>6s} {'R':>6s} {'F1':>6s} | {'P 1f':>6s} {'R 1f':>6s} {'F1 1f':>6s} | {'time':>8s}"
        )
        for name, d in s["detectors"].items():
            a, b = d["tol_0.5s"], d["tol_1frame"]
            print(
                f"{name:26s} {a['precision']:6.3f} {a['recall']:6.3f} {a['f1']:6.3f} | {b['precision']:6.3f} "
                f"{b['recall']:6.3f} {b['f1']:6.3f} | {d['wall_s']:7.1f}s ({d['x_realtime']}x realtime)"
            )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    report(
        "shot_quality",
        {
            "cpu": cpu(),
            "load_avg_1min_at_end": load,
            "min_shot_len": MIN_SHOT_LEN,
            "summary": summary,
            "videos": per_video,
        },
    )


if __name__ == "__main__":
    main()
