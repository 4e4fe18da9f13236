"""Speech benchmark data: seeded multi-voice dialogues with exact references, our reference transcripts of the
real recordings in ``../shared/data``, and the word-error-rate text normaliser.

Dialogues: lines spoken by espeak-ng voices (one voice, speed and pitch per speaker), trimmed to their audible
extent, placed with seeded gaps (one music-only gap of 5-7 s, for hallucination checks) and mixed with a
music-like background from ffmpeg (a four-chord progression of tremolo sines plus seeded pink noise), scaled
so that speech power over the spoken spans / background power is the requested SNR. Same seed, same audio
(numpy ``default_rng(seed)`` drives every choice; espeak-ng and ffmpeg are deterministic). References are exact
(line extents measured on the synthesised audio), but what the recogniser hears depends on the espeak-ng build,
so tests never compare wording, only spans and speakers.

    ref = generate(seed=7, out_dir=Path("gen"))                 # wavs per SNR + json + rttm
    refs = real_references(shared_data)                         # benchmarks/data/speech_refs/*.json
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import unicodedata
import wave
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

SR = 16000
HERE = Path(__file__).resolve().parent
REFS = HERE / "data" / "speech_refs"


@dataclass(frozen=True)
class Voice:
    speaker: str
    name: str  # espeak-ng -v argument
    speed: int  # words per minute
    pitch: int  # 0-99


VOICES = (
    Voice("spk_a", "en-us+m3", 160, 40),
    Voice("spk_b", "en-gb+f2", 150, 70),
    Voice("spk_c", "en+m7", 175, 25),
)

LONG_LINES = (
    "did you remember to bring the keys to the workshop",
    "the train leaves at half past seven from the north platform",
    "i think the weather will clear up by the afternoon",
    "we should paint the kitchen a lighter colour this spring",
    "my sister found an old map of the harbour in the attic",
    "could you check whether the printer on the second floor is working",
    "the meeting was moved to thursday because the manager is away",
    "there is a small bakery around the corner that opens very early",
    "please put the blue folder back on the shelf when you are done",
    "the children built a tall tower out of wooden blocks",
    "he says the new bridge will be finished before the winter",
    "let us take the longer road along the river",
    "the museum has a room full of ancient coins and pottery",
    "i lost my umbrella on the bus yesterday evening",
    "we need three more chairs for the guests tonight",
)
SHORT_LINES = ("yes", "okay, sure", "no", "right", "thank you", "really", "of course", "not yet")


def tools_available() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("ffmpeg") is not None


# ---------------------------------------------------------------------------------------------- wav I/O
def read_wav(path: Path) -> np.ndarray:
    """Mono float32 samples of a 16-bit PCM wav (channels averaged)."""
    with wave.open(str(path)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    data = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data
    if rate != SR:
        from scipy.signal import resample_poly

        g = np.gcd(rate, SR)
        data = resample_poly(data, SR // g, rate // g).astype(np.float32)
    return data


def write_wav(path: Path, audio: np.ndarray) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())


# ---------------------------------------------------------------------------------------------- dialogue
def synthesize(text: str, voice: Voice, workdir: Path) -> np.ndarray:
    """``text`` spoken by ``voice``, 16 kHz mono, trimmed to its audible extent (> -50 dBFS)."""
    out = workdir / "line.wav"
    cmd = ["espeak-ng", "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch), "-w", str(out), text]
    subprocess.run(cmd, check=True, capture_output=True)
    audio = read_wav(out)
    loud = np.flatnonzero(np.abs(audio) > 10 ** (-50 / 20))
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio[:0]


def script(rng: np.random.Generator, n_lines: int, voices: tuple[Voice, ...]) -> list[tuple[str, Voice]]:
    """Seeded (text, voice) pairs: mostly long lines, 2-4 short replies (never first), speakers rarely
    repeating back to back."""
    n_short = int(rng.integers(2, 5))
    texts = [LONG_LINES[i] for i in rng.permutation(len(LONG_LINES))[: n_lines - n_short]]
    for i in rng.choice(len(SHORT_LINES), size=n_short, replace=False):
        texts.insert(int(rng.integers(1, len(texts) + 1)), SHORT_LINES[i])
    out: list[tuple[str, Voice]] = []
    prev = -1
    for t in texts:
        others = [i for i in range(len(voices)) if i != prev]
        v = int(rng.choice(others if rng.random() < 0.85 else list(range(len(voices)))))
        out.append((t, voices[v]))
        prev = v
    return out


def background(duration: float, seed: int, workdir: Path) -> np.ndarray:
    """Music-like background (unit RMS): four chords of three tremolo sines, 2 s each, plus pink noise."""
    chords = [(220.0, 277.18, 329.63), (196.0, 246.94, 293.66), (174.61, 220.0, 261.63), (196.0, 246.94, 311.13)]

    def note(i: int) -> str:
        pick = "".join(f"if(eq(mod(floor(t/2),4),{k}),{c[i]}," for k, c in enumerate(chords[:-1]))
        return pick + f"{chords[-1][i]}" + ")" * (len(chords) - 1)

    tone = "+".join(f"0.2*(0.75+0.25*sin(2*PI*{0.5 + 0.3 * i}*t))*sin(2*PI*({note(i)})*t)" for i in range(3))
    out = workdir / "bg.wav"
    graph = (
        f"aevalsrc='{tone}':s={SR}:d={duration:.3f}[music];"
        f"anoisesrc=c=pink:a=0.15:r={SR}:d={duration:.3f}:seed={seed}[noise];"
        "[music][noise]amix=inputs=2:normalize=0[out]"
    )
    cmd = ["ffmpeg", "-v", "error", "-y", "-filter_complex", graph, "-map", "[out]", "-ac", "1", str(out)]
    subprocess.run(cmd, check=True)
    audio = read_wav(out)[: int(duration * SR)]
    return (audio / (np.sqrt(np.mean(audio**2)) + 1e-12)).astype(np.float32)


def mix(speech: np.ndarray, noise: np.ndarray, lines: list[dict[str, Any]], snr_db: float | None) -> np.ndarray:
    """Speech plus background at ``snr_db`` over the spoken spans (None: speech only), peak-limited to 0.95."""
    out = speech.copy()
    if snr_db is not None:
        active = np.concatenate([speech[int(ln["start"] * SR) : int(ln["end"] * SR)] for ln in lines])
        gain = np.sqrt(float(np.mean(active**2)) / 10 ** (snr_db / 10))
        out = out + gain * np.resize(noise, len(speech))
    peak = float(np.abs(out).max())
    return (out * (0.95 / peak) if peak > 0.95 else out).astype(np.float32)


def rttm(lines: list[dict[str, Any]], uri: str) -> str:
    return "".join(
        f"SPEAKER {uri} 1 {ln['start']:.3f} {ln['end'] - ln['start']:.3f} <NA> <NA> {ln['speaker']} <NA> <NA>\n"
        for ln in lines
    )


def generate(
    seed: int,
    out_dir: Path,
    n_lines: int = 14,
    snrs: tuple[float | None, ...] = (None, 10.0, 5.0, 0.0),
    n_voices: int = 3,
    long_gap: bool = True,
) -> dict[str, Any]:
    """Write the dialogue for ``seed`` (``dialogue_s{seed}_{clean|snr10|...}.wav``, ``.json``, ``.rttm``) into
    ``out_dir`` and return its reference: lines with text, start, end (seconds), speaker and voice."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    voices = VOICES[:n_voices]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lines_script = script(rng, n_lines, voices)
        clips = [synthesize(t, v, work) for t, v in lines_script]
        gaps = [float(rng.uniform(0.25, 1.8)) for _ in clips]
        if long_gap:
            gaps[len(clips) // 2] = float(rng.uniform(5.0, 7.0))
        lead = tail = 1.5
        total = lead + sum(len(c) / SR for c in clips) + sum(gaps[:-1]) + tail
        speech = np.zeros(int(np.ceil(total * SR)) + SR, dtype=np.float32)
        lines: list[dict[str, Any]] = []
        pos = int(lead * SR)
        for (text, voice), clip, gap in zip(lines_script, clips, gaps, strict=True):
            speech[pos : pos + len(clip)] += clip
            start, end = round(pos / SR, 3), round((pos + len(clip)) / SR, 3)
            lines.append({"text": text, "speaker": voice.speaker, "voice": voice.name, "start": start, "end": end})
            pos += len(clip) + int(gap * SR)
        speech = speech[: int((lines[-1]["end"] + tail) * SR)]
        noise = background(len(speech) / SR, seed, work) if any(s is not None for s in snrs) else speech
    uri = f"dialogue_s{seed}"
    files = {}
    for snr in snrs:
        cond = "clean" if snr is None else f"snr{snr:g}"
        write_wav(out_dir / f"{uri}_{cond}.wav", mix(speech, noise, lines, snr))
        files[cond] = f"{uri}_{cond}.wav"
    ref = {
        "uri": uri,
        "seed": seed,
        "duration": round(len(speech) / SR, 3),
        "files": files,
        "language": "en",
        "voices": [asdict(v) for v in voices],
        "segments": lines,
    }
    (out_dir / f"{uri}.json").write_text(json.dumps(ref, indent=1))
    (out_dir / f"{uri}.rttm").write_text(rttm(lines, uri))
    return ref


# ---------------------------------------------------------------------------------------------- references
def real_references() -> list[dict[str, Any]]:
    """Our reference transcripts of the real recordings (``benchmarks/data/speech_refs/*.json``)."""
    return [json.loads(p.read_text()) for p in sorted(REFS.glob("*.json"))]


# ---------------------------------------------------------------------------------------------- WER text
_ONES = [
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"),
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    """English words for 0 <= n < 10**9 (``21`` -> ``twenty one``)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for size, name in ((10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return number_words(head) + " " + name + ("" if rest == 0 else " " + number_words(rest))
    raise ValueError(n)


def normalize(text: str) -> str:
    """Lowercase, apostrophes unified, ``/`` and dashes to spaces, other punctuation dropped, integers spelled
    out, whitespace collapsed (letters with diacritics kept)."""
    text = unicodedata.normalize("NFC", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = re.sub(r"\d+", lambda m: " " + number_words(int(m.group())) + " ", text)
    text = re.sub(r"[/\-\u2013\u2014]", " ", text)
    text = re.sub(r"[^\w\s']", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())
