"""Speaker diarization error rate (pyannote.metrics, collar 0.25 s, overlapped speech scored) and speed.

Data: seeded three-voice dialogues at clean / 10 / 5 / 0 dB SNR (``speech_data.generate``, exact references),
the two-speaker phone call ``audio/pyannote_sample.wav`` (this project's reference turns in
``benchmarks/data/speech_refs``; pass pyannote-audio's own ``sample.rttm`` with ``--upstream-rttm`` to score
against it too), and single-speaker recordings (JFK, NASA narration, the en/de licence reading) plus two short
multi-voice clips (documentary, film) where only the number of speakers found is reported.

    python benchmarks/diarization.py                     # -> benchmarks/results/diarization.json
    python benchmarks/diarization.py --seeds 7 11 --upstream-rttm /path/to/sample.rttm
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from speech_data import generate, real_references, tools_available
from speech_eval import cpu_record, cpu_seconds, der, read_rttm

HERE = Path(__file__).resolve().parent
CACHE = Path.home() / ".cache" / "vidreason-bench" / "speech"
COUNT_ONLY = {"scenedetect_documentary_speech": "2+ voices", "opencv_Megamind": "2 voices"}


def reference_turns(ref: dict[str, Any]) -> list[tuple[float, float, str]]:
    return [(s["start"], s["end"], s.get("speaker") or "narrator") for s in ref["segments"]]


def run_file(diarizer: Any, path: Path) -> tuple[Any, float, float]:
    c0, t0 = cpu_seconds(), time.perf_counter()
    result = diarizer.run(path)
    return result, time.perf_counter() - t0, cpu_seconds() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    ap.add_argument("--seeds", nargs="*", type=int, default=[7, 11, 23, 42, 99, 123])
    ap.add_argument("--upstream-rttm", type=Path, help="pyannote-audio's sample.rttm for pyannote_sample.wav")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "diarization.json")
    args = ap.parse_args()

    from vidreason.tools.speech.diarization import DiarizationParams, Diarizer
    from vidreason.tools.speech.ge2e import load_encoder

    encoder = load_encoder()
    estimate = Diarizer(encoder)
    rows: list[dict[str, Any]] = []

    def record(name: str, group: str, path: Path, ref: list[tuple[float, float, str]] | None, **extra: Any) -> None:
        for variant, diarizer in (("estimated", estimate), *extra.get("variants", ())):
            result, wall, cpu = run_file(diarizer, path)
            hyp = [(t.start, t.end, t.speaker) for t in result.turns]
            row: dict[str, Any] = {
                "file": name,
                "group": group,
                "variant": variant,
                "speakers_found": result.num_speakers,
                "speakers_true": len({s for _, _, s in ref}) if ref else extra.get("true"),
                "duration": round(result.duration, 2),
                "x_realtime": round(result.duration / wall, 1),
                "x_realtime_cpu2": round(result.duration / (cpu / 2), 1) if cpu else None,
            }
            if ref:
                row.update({k: round(v, 4) for k, v in der(ref, hyp, result.duration).items()})
            for label, other in extra.get("also", {}).items():
                row[f"der_vs_{label}"] = round(der(other, hyp, result.duration)["der"], 4)
            rows.append(row)
            score = f"DER {100 * row['der']:5.1f}%" if "der" in row else "         "
            print(
                f"{name:30s} {variant:10s} {score} speakers {row['speakers_found']}/{row['speakers_true']}", flush=True
            )

    if tools_available():
        for seed in args.seeds:
            ref_path = CACHE / "gen" / f"dialogue_s{seed}.json"
            gen = json.loads(ref_path.read_text()) if ref_path.is_file() else generate(seed, CACHE / "gen")
            turns = [(s["start"], s["end"], s["speaker"]) for s in gen["segments"]]
            known = Diarizer(encoder, DiarizationParams(speakers_count=len({t[2] for t in turns})))
            for cond, wav in gen["files"].items():
                record(
                    f"{gen['uri']}_{cond}", f"gen-{cond}", CACHE / "gen" / wav, turns, variants=[("count given", known)]
                )
    for ref in real_references():
        path = args.data / ref["path"]
        if not path.is_file():
            continue
        if ref["name"] in COUNT_ONLY:
            record(ref["name"], "count-only", path, None, true=COUNT_ONLY[ref["name"]])
            continue
        group = "real-2-speakers" if ref.get("speakers") == 2 else "real-1-speaker"
        also = {}
        if ref["name"] == "pyannote_sample" and args.upstream_rttm and args.upstream_rttm.is_file():
            also["upstream"] = read_rttm(args.upstream_rttm)
        record(ref["name"], group, path, reference_turns(ref), also=also)

    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        if "der" not in r:
            continue
        for g in {r["group"], "gen-all" if r["group"].startswith("gen-") else r["group"]}:
            a = groups.setdefault(f"{g} ({r['variant']})", {"files": 0, "total": 0.0, "errors": 0.0, "right_count": 0})
            a["files"] += 1
            a["total"] += r["total"]
            a["errors"] += r["der"] * r["total"]
            a["right_count"] += r["speakers_found"] == r["speakers_true"]
    for a in groups.values():
        a["der"] = round(100 * a["errors"] / a["total"], 1)
    for key in sorted(groups):
        print(
            f"{key:40s} DER {groups[key]['der']:5.1f}% right count {groups[key]['right_count']}/{groups[key]['files']}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"benchmark": "diarization", "machine": cpu_record(), "collar": 0.25, "groups": groups, "files": rows},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
