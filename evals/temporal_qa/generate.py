"""``vidreason eval make-temporal-qa``: seeded videos with exact ground truth, and their temporal-QA cases.

Each video is a short slide show (20-60 s, 640x360, 25 fps): coloured (or test-pattern) slides with a large
title (ffmpeg drawtext) and hard cuts between them, and speech lines from espeak-ng in two or three voices,
each line synthesised whole, its audible span measured from the samples and placed with gaps inside a slide.
One word is said in two or three lines (first / last / n-th / count questions). Every question type of the
format is asked about every video (:mod:`.questions`); before a case is kept the words it relies on are
checked to be recognised by faster-whisper ``tiny.en`` and ``base`` on the video's audio and the titles by
the OCR (:mod:`.checks`); a video that loses a needed case is re-rolled (up to ``max_attempts``).

Outputs: ``out/cases_s<seed>.jsonl`` (video paths ``s<seed>/vNN.mp4``, relative to it) and in ``out/s<seed>/``
the videos ``vNN.mp4``, their ground truth ``vNN.timeline.json`` and ``generation.json`` (what the checks
found). The same seed gives a byte-identical case file and the same video bytes on one machine (x264 with one
thread, bit-exact muxing) as long as the recognisers agree with themselves (see :mod:`.checks`).
"""

from __future__ import annotations

import logging
import random
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from vidreason.evals.temporal_qa.cases import TemporalCase, dump_cases
from vidreason.evals.temporal_qa.timeline import Slide, SpokenLine, Timeline
from vidreason.evals.temporal_qa.vocab import BACKGROUNDS, REPEAT, SINGLE, TITLES, VOICES, LineSpec
from vidreason.tools.core.errors import ConfigError, VideoOpenError
from vidreason.tools.core.storage import write_text_atomic

logger = logging.getLogger(__name__)

SIZE = (640, 360)
FPS = 25
SAMPLE_RATE = 22050  # espeak-ng's own rate: no resampling before the AAC encoder
WPM = 150
BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)


class VideoReport(BaseModel):
    """What happened to one video: the attempts, failed checks and dropped cases of the kept attempt."""

    video: str
    attempt: int
    duration: float
    cases: int
    dropped: dict[str, str] = Field(default_factory=dict, description="case id -> why")
    failed_checks: list[str] = Field(default_factory=list)
    rejected_attempts: list[str] = Field(default_factory=list, description="why earlier attempts were re-rolled")


class GenerationResult(BaseModel):
    seed: int
    out_dir: str
    cases_file: str
    cases: int
    per_type: dict[str, int]
    videos: list[VideoReport]
    check_models: list[str]
    ocr_checked: bool
    font: str


def find_font(explicit: str | Path | None = None) -> Path:
    """A TrueType font for drawtext: ``explicit``, fontconfig's DejaVuSans Bold, or a known path
    (:class:`ConfigError` with the reason when there is none)."""
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise ConfigError(f"font {str(p)!r} does not exist")
        return p
    if shutil.which("fc-match"):
        proc = subprocess.run(
            ["fc-match", "-f", "%{file}", "DejaVuSans:style=Bold"], capture_output=True, text=True, check=False
        )
        found = Path(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None
        if found is not None and found.suffix.lower() in (".ttf", ".otf") and found.is_file():
            return found
    for cand in FONT_CANDIDATES:
        if Path(cand).is_file():
            return Path(cand)
    raise ConfigError("no TrueType font found for the on-screen titles (install fonts-dejavu-core or pass --font PATH)")


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VideoOpenError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")


def synthesize(text: str, voice: str, tmp: Path) -> np.ndarray:
    """espeak-ng speech of ``text`` as int16 samples at 22050 Hz, cut to its audible part."""
    wav = tmp / "line.wav"
    _run(["espeak-ng", "-v", voice, "-s", str(WPM), "-w", str(wav), text], f"espeak-ng ({voice})")
    with wave.open(str(wav)) as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1:
            raise VideoOpenError(f"espeak-ng wrote {w.getframerate()} Hz x{w.getnchannels()}, expected 22050 Hz mono")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    loud = np.flatnonzero(np.abs(data.astype(np.int32)) > 160)  # about -46 dBFS
    if loud.size == 0:
        raise VideoOpenError(f"espeak-ng produced silence for {text!r}")
    return data[loud[0] : loud[-1] + 1].copy()


def _pick_lines(rng: random.Random) -> tuple[str, list[tuple[LineSpec, bool]]]:
    """The repeated word and the lines in spoken order (spec, is_repeat); the word is said in 2 or 3 lines."""
    repeat = rng.choice(sorted(REPEAT))
    phrase, variants = REPEAT[repeat]
    count = rng.choice((2, 3))
    lines: list[tuple[LineSpec, bool]] = [
        (LineSpec(repeat, phrase, key, text), True) for key, text in rng.sample(variants, count)
    ]
    words = {repeat} | {k for k, _ in variants}
    singles = [s for s in SINGLE if not _mentions(f"{s.text} {s.topic} {s.key}", words)]
    rng.shuffle(singles)
    wanted = rng.choice((5, 6))
    chosen: list[LineSpec] = []
    for spec in singles:
        if len(chosen) == wanted:
            break
        texts = [ln.text for ln, _ in lines] + [c.text for c in chosen]
        if any(_mentions(t, {spec.topic, spec.key}) for t in texts):
            continue
        if any(_mentions(spec.text, {c.topic, c.key}) for c in chosen) or _mentions(spec.text, words):
            continue
        chosen.append(spec)
    lines += [(c, False) for c in chosen]
    rng.shuffle(lines)
    return repeat, lines


def _mentions(text: str, words: set[str]) -> bool:
    from vidreason.evals.temporal_qa.score import has_key

    return any(has_key(text, w) for w in words)


def layout(number: int, seed: int, attempt: int, rng: random.Random, tmp: Path) -> tuple[Timeline, np.ndarray]:
    """Choose the content of video ``number`` and place it in time; returns the timeline and the audio."""
    repeat, picked = _pick_lines(rng)
    voices = rng.sample(VOICES, rng.choice((2, 3)))
    used = {spec.topic for spec, _ in picked} | {spec.key for spec, _ in picked}
    texts = " ".join(spec.text for spec, _ in picked)
    absent = rng.choice(
        [s for s in SINGLE if s.topic not in used and s.key not in used and not _mentions(texts, {s.topic})]
    )
    titles = rng.sample(TITLES, len(TITLES))
    # group consecutive lines into slides of one or two lines
    groups: list[list[int]] = []
    i = 0
    while i < len(picked):
        size = 1 if i == len(picked) - 1 else rng.choice((1, 2))
        groups.append(list(range(i, i + size)))
        i += size
    speakers: dict[str, str] = {}
    lines: list[SpokenLine] = []
    slides: list[Slide] = []
    clips: list[tuple[int, np.ndarray]] = []
    frame = 0
    prev_bg = ""
    for s, group in enumerate(groups):
        t = frame / FPS + rng.uniform(0.6, 1.0)
        for j in group:
            spec, is_repeat = picked[j]
            voice = rng.choice(voices)
            samples = synthesize(spec.text, voice, tmp)
            i0 = round(t * SAMPLE_RATE)
            clips.append((i0, samples))
            speaker = speakers.setdefault(voice, f"SPEAKER_{len(speakers) + 1}")
            lines.append(
                SpokenLine(
                    index=j,
                    start=round(i0 / SAMPLE_RATE, 3),
                    end=round((i0 + len(samples)) / SAMPLE_RATE, 3),
                    text=spec.text,
                    topic=spec.topic,
                    phrase=spec.phrase,
                    key=spec.key,
                    repeat=is_repeat,
                    voice=voice,
                    speaker=speaker,
                    slide=s,
                )
            )
            t = (i0 + len(samples)) / SAMPLE_RATE + rng.uniform(0.8, 1.4)
        end_frame = int(np.ceil((lines[-1].end + rng.uniform(0.6, 1.0)) * FPS))
        bg = rng.choice([b for b in BACKGROUNDS if b != prev_bg])
        prev_bg = bg
        slides.append(Slide(index=s, start=frame / FPS, end=end_frame / FPS, title=titles[s], background=bg))
        frame = end_frame
    audio = np.zeros(round(frame / FPS * SAMPLE_RATE), dtype=np.int16)
    for i0, samples in clips:
        audio[i0 : i0 + len(samples)] = samples
    absent_title = next(t for t in titles if t not in {sl.title for sl in slides})
    timeline = Timeline(
        video=f"s{seed}/v{number:02d}.mp4",
        seed=seed,
        number=number,
        attempt=attempt,
        duration=frame / FPS,
        fps=FPS,
        sample_rate=SAMPLE_RATE,
        lines=lines,
        slides=slides,
        repeat_topic=repeat,
        repeat_phrase=REPEAT[repeat][0],
        absent_topic=absent.topic,
        absent_phrase=absent.phrase,
        absent_title=absent_title,
    )
    return timeline, audio


def _slide_source(slide: Slide) -> str:
    w, h = SIZE
    dur = f"{slide.end - slide.start:.2f}"
    if slide.background == "smptebars":
        return f"smptebars=s={w}x{h}:r={FPS}:d={dur}"
    return f"color=c={slide.background}:s={w}x{h}:r={FPS}:d={dur}"


def render(timeline: Timeline, audio: np.ndarray, path: Path, font: Path, tmp: Path) -> None:
    """Encode the slides and the audio into ``path`` (H.264 + AAC, bit-exact flags, one encoder thread)."""
    wav = tmp / "mix.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(audio.tobytes())
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-nostdin", "-threads", "1"]
    chains = []
    for s in timeline.slides:
        cmd += ["-f", "lavfi", "-i", _slide_source(s)]
        box = "drawbox=x=0:y=ih/2-70:w=iw:h=140:color=black@0.75:t=fill," if s.background == "smptebars" else ""
        text = (
            f"drawtext=fontfile='{font}':text='{s.title}':fontsize=72:fontcolor=white:borderw=4:"
            "bordercolor=black:x=(w-tw)/2:y=(h-th)/2"
        )
        chains.append(f"[{s.index}:v]{box}{text},format=yuv420p,setsar=1[v{s.index}]")
    n = len(timeline.slides)
    graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v]"
    cmd += ["-i", str(wav), "-filter_complex", graph, "-map", "[v]", "-map", f"{n}:a"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-g", str(2 * FPS)]
    cmd += ["-threads", "1", "-c:a", "aac", "-b:a", "64k", "-ac", "1", "-ar", str(SAMPLE_RATE)]
    cmd += [*BITEXACT, "-t", f"{timeline.duration:.2f}", "-f", "mp4", str(path)]
    _run(cmd, "ffmpeg (rendering the video)")


def make_temporal_qa(
    out_dir: str | Path,
    seed: int,
    videos: int = 8,
    *,
    check_models: tuple[str, ...] | None = None,
    check_ocr: bool = True,
    font: str | Path | None = None,
    max_attempts: int = 3,
) -> GenerationResult:
    """Generate ``videos`` videos for ``seed`` into ``out_dir/s<seed>/`` with their cases (see the module
    doc). ``check_models`` are Whisper ``MODEL[@BEAM]`` specs (default ``tiny.en@1``, ``base@5``); ``()`` and
    ``check_ocr=False`` skip the recogniser checks (faster; cases unchecked)."""
    from vidreason.evals.temporal_qa.checks import DEFAULT_CHECK_MODELS, Checker
    from vidreason.evals.temporal_qa.questions import build_cases

    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            raise ConfigError(f"make-temporal-qa needs {tool} on PATH")
    if not 1 <= videos <= 200:
        raise ConfigError(f"--videos {videos} must be between 1 and 200")
    font_path = find_font(font)
    folder = Path(out_dir) / f"s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    if check_models is None:
        check_models = DEFAULT_CHECK_MODELS
    checker = Checker(check_models, check_ocr)
    all_cases: list[TemporalCase] = []
    reports: list[VideoReport] = []
    with tempfile.TemporaryDirectory(prefix="vidreason-tqa-") as d:
        tmp = Path(d)
        for number in range(1, videos + 1):
            best: tuple[Timeline, np.ndarray, list[TemporalCase], VideoReport] | None = None
            rejected: list[str] = []
            for attempt in range(max_attempts):
                rng = random.Random(f"temporal-qa:{seed}:{number}:{attempt}")
                timeline, audio = layout(number, seed, attempt, rng, tmp)
                video = folder / f"v{number:02d}.mp4"
                render(timeline, audio, video, font_path, tmp)
                verdict = checker.check(video, timeline)
                drafts = build_cases(timeline, random.Random(f"questions:{seed}:{number}:{attempt}"))
                kept, dropped = verdict.filter(drafts)
                report = VideoReport(
                    video=timeline.video,
                    attempt=attempt,
                    duration=timeline.duration,
                    cases=len(kept),
                    dropped=dropped,
                    failed_checks=verdict.failures,
                )
                logger.info("%s attempt %d: %d cases, %d dropped", video, attempt, len(kept), len(dropped))
                if best is None or len(kept) > len(best[2]):
                    best = (timeline, audio, kept, report)
                if not any(not d.case.optional for d in drafts if d.case.id in dropped):
                    break
                rejected.append(f"attempt {attempt}: {len(dropped)} case(s) dropped: " + "; ".join(verdict.failures))
            assert best is not None
            timeline, audio, kept, report = best
            report.rejected_attempts = [r for r in rejected if not r.startswith(f"attempt {timeline.attempt}:")]
            if timeline.attempt != attempt:  # an earlier attempt kept more cases: render it again
                render(timeline, audio, folder / f"v{number:02d}.mp4", font_path, tmp)
            write_text_atomic(folder / f"v{number:02d}.timeline.json", timeline.model_dump_json(indent=2))
            all_cases += kept
            reports.append(report)
    cases_file = Path(out_dir) / f"cases_s{seed}.jsonl"
    write_text_atomic(cases_file, dump_cases(all_cases))
    per_type: dict[str, int] = {}
    for c in all_cases:
        per_type[c.type] = per_type.get(c.type, 0) + 1
    result = GenerationResult(
        seed=seed,
        out_dir=str(folder),
        cases_file=str(cases_file),
        cases=len(all_cases),
        per_type=per_type,
        videos=reports,
        check_models=list(check_models),
        ocr_checked=check_ocr,
        font=str(font_path),
    )
    write_text_atomic(folder / "generation.json", result.model_dump_json(indent=2))
    return result
