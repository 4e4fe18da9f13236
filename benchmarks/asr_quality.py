"""ASR quality and speed: word error rate, missed and hallucinated lines, x realtime, per model and setting.

Data: the real speech in ``../shared/data`` with this project's reference transcripts
(``benchmarks/data/speech_refs``; the en/de licence reading is scored per half), seeded multi-voice dialogues
over music and pink noise at known SNRs (``speech_data.generate``), recordings without speech (ambience,
barking) and with singing (hallucination checks), and Mandarin speech (language handling).

Settings: ``vad`` = vidreason's streamed VAD-windowed transcriber with the chosen defaults (Silero threshold
0.35, padding 400 ms), ``vad-old`` = the previous defaults (0.5, 200 ms), ``novad`` = faster-whisper's plain
``transcribe`` on the whole file. A ``conf<0.4`` column re-scores each run with lines whose mean word
probability is below 0.4 dropped (the hallucination filter measured, not used by default).

Speed: wall-clock x realtime with 2 CPU threads, and the same from CPU time (audio seconds / (CPU seconds / 2)),
which depends less on other load on a shared machine; the load average is recorded with each run.

    python benchmarks/asr_quality.py                        # all settings -> benchmarks/results/asr_quality.json
    python benchmarks/asr_quality.py --data ../shared/data --settings "tiny.en b5 vad" --seeds 7
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from speech_data import generate, normalize, real_references, tools_available
from speech_eval import (
    Hyp,
    Line,
    cpu_record,
    cpu_seconds,
    hallucinated,
    heard,
    hyp_text,
    word_errors,
)

HERE = Path(__file__).resolve().parent
CACHE = Path.home() / ".cache" / "vidreason-bench" / "speech"
NO_SPEECH = {"videos/bbb_0_30.webm": "no-speech", "videos/videollama_dog_barking.mp4": "no-speech"}
SINGING = {"videos/iscc_demo.mp4": "singing"}
OTHER_LANGUAGE = {"videos/pdvc_xukun.mp4": "zh"}
DE_SPLIT_S = 30.0

SETTINGS: dict[str, dict[str, Any]] = {
    "tiny.en b1 vad": {"model": "tiny.en", "beam": 1, "mode": "vad"},
    "tiny.en b1 bo2 vad": {"model": "tiny.en", "beam": 1, "mode": "vad", "best_of": 2},
    "tiny.en b5 vad": {"model": "tiny.en", "beam": 5, "mode": "vad"},
    "tiny.en b5 vad-old": {"model": "tiny.en", "beam": 5, "mode": "vad", "vad_threshold": 0.5, "speech_pad_ms": 200},
    "tiny.en b5 novad": {"model": "tiny.en", "beam": 5, "mode": "novad"},
    "base b1 vad": {"model": "base", "beam": 1, "mode": "vad"},
    "base b5 vad": {"model": "base", "beam": 5, "mode": "vad"},
    "base b5 novad": {"model": "base", "beam": 5, "mode": "novad"},
}


# ---------------------------------------------------------------------------------------------- files
def eval_files(data: Path, seeds: list[int]) -> list[dict[str, Any]]:
    """Every file to score: name, path, group, reference lines."""
    files: list[dict[str, Any]] = []
    for ref in real_references():
        path = data / ref["path"]
        if path.is_file():
            lines = [Line(s["start"], s["end"], s["text"], s.get("language", "en")) for s in ref["segments"]]
            files.append({"name": ref["name"], "path": path, "group": "real", "lines": lines})
    for rel, group in {**NO_SPEECH, **SINGING}.items():
        if (data / rel).is_file():
            files.append({"name": Path(rel).stem, "path": data / rel, "group": group, "lines": []})
    for rel, lang in OTHER_LANGUAGE.items():
        if (data / rel).is_file():
            files.append({"name": Path(rel).stem, "path": data / rel, "group": f"lang-{lang}", "lines": None})
    if tools_available():
        for seed in seeds:
            ref_path = CACHE / "gen" / f"dialogue_s{seed}.json"
            ref = json.loads(ref_path.read_text()) if ref_path.is_file() else generate(seed, CACHE / "gen")
            lines = [Line(s["start"], s["end"], s["text"], "en", s["speaker"]) for s in ref["segments"]]
            for cond, wav in ref["files"].items():
                files.append(
                    {
                        "name": f"{ref['uri']}_{cond}",
                        "path": CACHE / "gen" / wav,
                        "group": f"gen-{cond}",
                        "lines": lines,
                    }
                )
    return files


# ---------------------------------------------------------------------------------------------- running
def transcribe(setting: dict[str, Any], path: Path) -> dict[str, Any]:
    """One run: recognised lines, wall and CPU seconds, load."""
    from vidreason.tools.speech.options import AsrOptions
    from vidreason.tools.speech.whisper import WhisperTranscriber, load_audio

    opts = {k: setting[k] for k in ("vad_threshold", "speech_pad_ms", "best_of") if k in setting}
    tr = WhisperTranscriber(setting["model"], device="cpu", options=AsrOptions(beam_size=setting["beam"], **opts))
    load = os.getloadavg()[0]
    if setting["mode"] == "vad":
        c0, t0 = cpu_seconds(), time.perf_counter()
        out = tr.transcribe(path)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        hyps = [
            Hyp(s.start, s.end, s.text, [(w.start, w.end, w.text, w.probability or 0.0) for w in s.words])
            for s in out.segments
        ]
        duration, language, notes = out.duration, out.languages, out.notes + ([out.degraded] if out.degraded else [])
    else:
        audio = load_audio(path)
        model = tr._model
        c0, t0 = cpu_seconds(), time.perf_counter()
        raw, info = model.transcribe(
            audio,
            beam_size=setting["beam"],
            vad_filter=False,
            word_timestamps=True,
            language="en" if not tr.multilingual else None,
        )
        hyps = [
            Hyp(
                s.start, s.end, s.text.strip(), [(w.start, w.end, w.word.strip(), w.probability) for w in s.words or []]
            )
            for s in raw
        ]
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        duration, language, notes = len(audio) / 16000, {str(info.language): len(audio) / 16000}, []
    return {
        "duration": duration,
        "wall": wall,
        "cpu": cpu,
        "load": round((load + os.getloadavg()[0]) / 2, 2),
        "languages": language,
        "notes": notes,
        "hyps": [asdict(h) for h in hyps],
    }


def cached_run(name: str, setting: dict[str, Any], f: dict[str, Any], fresh: bool) -> dict[str, Any]:
    path = CACHE / "runs" / name.replace(" ", "_") / f"{f['name']}.json"
    if path.is_file() and not fresh:
        return dict(json.loads(path.read_text()))
    rec = transcribe(setting, f["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))
    print(f"  {name:20s} {f['name']:34s} {rec['duration'] / rec['wall']:5.1f}x rt (load {rec['load']})", flush=True)
    return rec


# ---------------------------------------------------------------------------------------------- scoring
def score(f: dict[str, Any], rec: dict[str, Any], min_conf: float = 0.0) -> list[dict[str, Any]]:
    """Rows per scored part (the en/de file gives two)."""
    hyps = [Hyp(h["start"], h["end"], h["text"], [tuple(w) for w in h["words"]]) for h in rec["hyps"]]
    hyps = [h for h in hyps if h.confidence >= min_conf]
    lines: list[Line] = f["lines"] or []
    if f["lines"] is None:  # other language, no reference: what came out
        return [
            {
                "file": f["name"],
                "group": f["group"],
                "languages": rec["languages"],
                "notes": rec["notes"],
                "lines_out": len(hyps),
                "text": " ".join(h.text for h in hyps)[:300],
            }
        ]
    parts = [(f["name"], f["group"], -1.0, 1e12, lines)]
    if f["name"] == "multilingual_en_de":
        parts = [
            (f"{f['name']}:{lang}", f"real-{lang}", t0, t1, [ln for ln in lines if ln.language == lang])
            for lang, t0, t1 in (("en", -1.0, DE_SPLIT_S), ("de", DE_SPLIT_S, 1e12))
        ]
    rows = []
    for name, group, t0, t1, part in parts:
        mine = [h for h in hyps if t0 <= h.start < t1]
        n_ref, errors = word_errors(normalize(" ".join(ln.text for ln in part)), hyp_text(mine))
        halls = [h for h in mine if hallucinated(h, lines)]
        rows.append(
            {
                "file": name,
                "group": "real-en" if group == "real" else group,
                "ref_words": n_ref,
                "errors": errors,
                "lines": len(part),
                "missed": [f"{ln.start:.1f}s {ln.text!r}" for ln in part if not heard(ln, hyps)],
                "hallucinated": [f"{h.start:.1f}s {h.text!r}" for h in halls],
                "duration": rec["duration"] / len(parts),
                "wall": rec["wall"] / len(parts),
                "cpu": rec["cpu"] / len(parts),
                "load": rec["load"],
            }
        )
    return rows


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        if "ref_words" not in r:
            continue
        for g in {r["group"], "gen-all" if r["group"].startswith("gen-") else r["group"]}:
            a = groups.setdefault(
                g,
                {
                    "ref_words": 0,
                    "errors": 0,
                    "lines": 0,
                    "missed": 0,
                    "hallucinated": 0,
                    "duration": 0.0,
                    "wall": 0.0,
                    "cpu": 0.0,
                },
            )
            for k in ("ref_words", "errors", "lines", "duration", "wall", "cpu"):
                a[k] += r[k]
            a["missed"] += len(r["missed"])
            a["hallucinated"] += len(r["hallucinated"])
    for a in groups.values():
        a["wer"] = round(100 * a["errors"] / a["ref_words"], 1) if a["ref_words"] else None
        a["x_realtime"] = round(a["duration"] / a["wall"], 1) if a["wall"] else None
        a["x_realtime_cpu2"] = round(a["duration"] / (a["cpu"] / 2), 1) if a["cpu"] else None
    return groups


def summary(groups: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    speech = [r for r in rows if "ref_words" in r and r["group"] not in ("no-speech", "singing")]
    dur = sum(r["duration"] for r in speech)
    return {
        "wer_real_en": groups.get("real-en", {}).get("wer"),
        "wer_real_de": groups.get("real-de", {}).get("wer"),
        "wer_gen": {
            g: groups[g]["wer"] for g in ("gen-clean", "gen-snr10", "gen-snr5", "gen-snr0", "gen-all") if g in groups
        },
        "missed": sum(len(r["missed"]) for r in speech),
        "lines": sum(r["lines"] for r in speech),
        "hallucinated_speech_files": sum(len(r["hallucinated"]) for r in speech),
        "hallucinated_no_speech": sum(groups.get(g, {}).get("hallucinated", 0) for g in ("no-speech", "singing")),
        "x_realtime_speech": round(dur / sum(r["wall"] for r in speech), 1) if speech else None,
        "x_realtime_speech_cpu2": round(dur / (sum(r["cpu"] for r in speech) / 2), 1) if speech else None,
        "mean_load": round(sum(r["load"] for r in speech) / len(speech), 1) if speech else None,
    }


def table(results: dict[str, Any]) -> str:
    head = (
        "| setting | WER real English | WER German half | WER generated clean / 10 / 5 / 0 dB | missed lines | "
        "hallucinated (speech files / no-speech + singing) | x realtime wall (CPU-time, 2 cores) | "
        "conf<0.4 filter: WER real / missed / halluc |"
    )
    out = [head, "|" + "---|" * 8]
    for name, r in results.items():
        s, f = r["summary"], r["filtered"]
        gen = " / ".join(str(s["wer_gen"].get(g, "-")) for g in ("gen-clean", "gen-snr10", "gen-snr5", "gen-snr0"))
        out.append(
            f"| {name} | {s['wer_real_en']} | {s['wer_real_de']} | {gen} | {s['missed']} / {s['lines']} | "
            f"{s['hallucinated_speech_files']} / {s['hallucinated_no_speech']} | {s['x_realtime_speech']}x "
            f"({s['x_realtime_speech_cpu2']}x) | {f['wer_real_en']} / {f['missed']} / "
            f"{f['hallucinated_speech_files'] + f['hallucinated_no_speech']} |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    ap.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--seeds", nargs="*", type=int, default=[7, 11])
    ap.add_argument("--fresh", action="store_true", help="ignore cached runs")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "asr_quality.json")
    args = ap.parse_args()
    files = eval_files(args.data, args.seeds)
    results: dict[str, Any] = {}
    for name in args.settings:
        rows, filtered = [], []
        for f in files:
            rec = cached_run(name, SETTINGS[name], f, args.fresh)
            rows += score(f, rec)
            filtered += score(f, rec, min_conf=0.4)
        groups = aggregate(rows)
        results[name] = {
            "setting": SETTINGS[name],
            "summary": summary(groups, rows),
            "filtered": summary(aggregate(filtered), filtered),
            "groups": groups,
            "files": rows,
        }
    print(table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"benchmark": "asr_quality", "machine": cpu_record(), "table": table(results), "results": results}, indent=1
        )
    )


if __name__ == "__main__":
    main()
