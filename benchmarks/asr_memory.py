"""Peak memory of transcription against the length of the audio (the audio streams through VAD and Whisper in
blocks, so it should not grow).

The audio: ten minutes of quiet noise (-45 dBFS) with one spoken line (espeak-ng, a different line each minute)
near the start of every minute, looped to 10, 60 and 180 minutes and stored as AAC (small on disk; decoding is
part of the measurement). Each length is transcribed in a fresh process (fast profile model, ``tiny.en`` beam 1);
its peak RSS, wall time and the number of lines found are recorded, next to the size the whole 16 kHz float32
audio would take in memory. Variants: the language check ``off`` (streaming alone) and ``switch`` (the default:
a low-confidence pack loads the multilingual model once, about 220 MB more, whatever the length).

    python benchmarks/asr_memory.py                   # -> benchmarks/results/asr_memory.json
    python benchmarks/asr_memory.py --minutes 10 60
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from speech_data import LONG_LINES, VOICES, synthesize, write_wav
from speech_eval import cpu_record

HERE = Path(__file__).resolve().parent
CACHE = Path.home() / ".cache" / "vidreason-bench" / "speech"

CHILD = """
import json, resource, sys, time
from vidreason.tools.speech.options import AsrOptions
from vidreason.tools.speech.whisper import WhisperTranscriber
tr = WhisperTranscriber("tiny.en", device="cpu", options=AsrOptions(beam_size=1, language_check=sys.argv[2]))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
out = tr.transcribe(sys.argv[1])
wall = time.perf_counter() - t
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_after_load_mb": base,
                  "wall_s": wall, "duration_s": out.duration, "lines": len(out.segments),
                  "regions": len(out.speech_regions), "multilingual_model_loaded": bool(tr._fallback)}))
"""


def long_audio(minutes: int) -> Path:
    """The looped test audio (cached)."""
    out = CACHE / f"long_{minutes}min_varied.m4a"
    if out.is_file():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rng = np.random.default_rng(0)
        cycle = (rng.standard_normal(600 * 16000) * 10 ** (-45 / 20)).astype(np.float32)
        for i, text in enumerate(LONG_LINES[:10]):
            line = synthesize(text, VOICES[i % len(VOICES)], work)
            at = (60 * i + 5) * 16000
            cycle[at : at + len(line)] += 0.5 * line
        write_wav(work / "cycle.wav", cycle)
        cmd = [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-stream_loop",
            str(max(0, minutes // 10 - 1)),
            "-i",
            str(work / "cycle.wav"),
        ]
        subprocess.run([*cmd, "-c:a", "aac", "-b:a", "48k", str(out)], check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", nargs="*", type=int, default=[10, 60, 180], help="multiples of 10")
    ap.add_argument("--language-check", nargs="*", default=["off", "switch"], choices=["off", "switch", "drop"])
    ap.add_argument("--out", type=Path, default=HERE / "results" / "asr_memory.json")
    args = ap.parse_args()
    rows = []
    for check, minutes in [(c, m) for c in args.language_check for m in args.minutes]:
        path = long_audio(minutes)
        cmd = [sys.executable, "-c", CHILD, str(path), check]
        proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
        row = {"minutes": minutes, "language_check": check, **json.loads(proc.stdout.strip().splitlines()[-1])}
        row["whole_audio_array_mb"] = round(minutes * 60 * 16000 * 4 / 2**20, 1)
        row["x_realtime"] = round(row["duration_s"] / row["wall_s"], 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    spread = {}
    for check in args.language_check:
        peaks = [r["peak_rss_mb"] for r in rows if r["language_check"] == check]
        spread[check] = round(100 * (max(peaks) - min(peaks)) / min(peaks), 1) if peaks else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": "asr_memory", "machine": cpu_record(), "peak_spread_percent": spread, "runs": rows}
    args.out.write_text(json.dumps(result, indent=1))
    print(f"peak RSS spread across lengths: {spread}")


if __name__ == "__main__":
    main()
