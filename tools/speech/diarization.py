"""Speaker diarization: who speaks when, streamed in blocks like the transcript.

1. Speech regions from Silero (threshold 0.5, regions split at pauses of 250 ms, so a region rarely spans a
   change of speaker), streamed block by block (:class:`~vidreason.tools.speech.vad.RegionStream`).
2. One GE2E embedding (:mod:`~vidreason.tools.speech.ge2e`) per 1.5 s window every 0.75 s inside each region
   (a shorter region gives one window of its own audio, at least 0.4 s); each region's audio is raised to
   -30 dBFS first. Only the embeddings are kept (1 KB per window), not the audio.
3. Clustering (:mod:`~vidreason.tools.speech.clustering`): embeddings centred on their mean, the number of
   speakers from the eigengap of the normalised Laplacian (or given), average-linkage cosine clustering;
   clusters with less than ``min_speaker_windows`` windows (about 3 s of speech) join their nearest cluster.
4. Resegmentation: every 10 ms frame of a region takes the speaker whose centroid is most similar to the
   windows covering it; turns shorter than 0.3 s join a neighbour.

Labels are ``SPEAKER_00``, ``SPEAKER_01``, ... in order of first appearance.

    diarizer = Diarizer(load_encoder(models), DiarizationParams(max_speakers=4))
    result = diarizer.run("meeting.mp4")            # Diarization (turns, per-speaker totals)
    labelled = label_transcript(transcript, result.turns)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vidreason.tools.core.media import Diarization, Span, SpeakerStats, SpeakerTurn
from vidreason.tools.speech.clustering import centre, cluster_embeddings
from vidreason.tools.speech.ge2e import FRAME_S, MODEL_ID, Ge2eEncoder, loudness_gain, mel_frames
from vidreason.tools.speech.vad import SAMPLE_RATE, RegionStream, VadParams
from vidreason.tools.speech.windows import AudioTape

log = logging.getLogger(__name__)


class DiarizationParams(BaseModel):
    """Diarization knobs (defaults chosen on ``benchmarks/diarization.py``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vad: VadParams = VadParams(threshold=0.5, min_silence_ms=250, speech_pad_ms=60, min_speech_ms=150)
    win_s: float = Field(1.5, gt=0.2, le=10)
    hop_s: float = Field(0.75, gt=0.05, le=10)
    min_window_s: float = Field(0.4, gt=0, le=5)
    speakers_count: int | None = Field(None, ge=1, le=32)
    max_speakers: int = Field(6, ge=1, le=32)
    min_speaker_windows: int = Field(4, ge=1, description="smaller clusters join their nearest cluster")
    min_turn_s: float = Field(0.3, ge=0)
    max_cluster_windows: int = Field(2000, ge=50, description="longer audio: cluster a spread sample of windows")


class _Windows:
    """Embedding windows collected while the audio streams: times, vectors and the region of each."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self.vectors: list[np.ndarray] = []
        self.region_of: list[int] = []


def region_windows(start: float, end: float, p: DiarizationParams) -> list[tuple[float, float]]:
    """Embedding windows of one region: ``win_s`` every ``hop_s`` (the last flush with the region end); a
    shorter region gives one window of its own length, widened to ``min_window_s``."""
    if end - start <= p.win_s:
        if end - start < p.min_window_s:
            mid = (start + end) / 2
            start, end = max(0.0, mid - p.min_window_s / 2), mid + p.min_window_s / 2
        return [(start, end)]
    n = int(np.ceil((end - start - p.win_s) / p.hop_s - 1e-9)) + 1
    return [
        (min(start + i * p.hop_s, end - p.win_s), min(start + i * p.hop_s, end - p.win_s) + p.win_s) for i in range(n)
    ]


class Diarizer:
    """Speaker turns of a media file or a float32 16 kHz mono array (see the module doc)."""

    def __init__(self, encoder: Ge2eEncoder, params: DiarizationParams | None = None) -> None:
        self.encoder = encoder
        self.params = params or DiarizationParams()

    def run(self, media: str | Path | np.ndarray) -> Diarization:
        from vidreason.tools.speech.whisper import audio_blocks

        return self.run_blocks(audio_blocks(media))

    def run_blocks(self, blocks: Iterable[np.ndarray]) -> Diarization:
        p = self.params
        vad = RegionStream(p.vad)
        tape = AudioTape()
        regions: list[Span] = []
        wins = _Windows()
        samples = 0
        for block in blocks:
            samples += len(block)
            tape.append(np.nan_to_num(np.asarray(block, dtype=np.float32)))
            for r in vad.feed(block):
                self._embed_region(r, len(regions), tape, vad.end, wins)
                regions.append(r)
            tape.trim(vad.kept_from - p.min_window_s)
        for r in vad.close():
            self._embed_region(r, len(regions), tape, vad.end, wins)
            regions.append(r)
        duration = samples / SAMPLE_RATE
        if not wins.spans:
            return Diarization(model=MODEL_ID, duration=duration, reason="no speech detected")
        emb = np.stack(wins.vectors)
        _, centroids = cluster_embeddings(
            emb, p.speakers_count, p.max_speakers, p.min_speaker_windows, p.max_cluster_windows
        )
        turns = self._resegment(regions, wins, emb, centroids)
        return summarize(turns, duration, estimated=p.speakers_count is None)

    def _embed_region(self, r: Span, idx: int, tape: AudioTape, end: float, wins: _Windows) -> None:
        p = self.params
        a, b = max(tape.start, r.start - p.min_window_s), min(end, r.end + p.min_window_s)
        audio = tape.slice(a, b)
        core = tape.slice(r.start, r.end)
        mels = mel_frames(audio, gain=loudness_gain(core))
        spans = region_windows(r.start, r.end, p)
        vectors = self.encoder.embed(mels, [(s - a, e - a) for s, e in spans])
        for span, v in zip(spans, vectors, strict=True):
            wins.spans.append(span)
            wins.vectors.append(v)
            wins.region_of.append(idx)

    def _resegment(
        self, regions: list[Span], wins: _Windows, emb: np.ndarray, centroids: np.ndarray
    ) -> list[SpeakerTurn]:
        p = self.params
        sim = centre(emb) @ centroids.T  # [W, K]
        starts = np.array([s for s, _ in wins.spans])
        ends = np.array([e for _, e in wins.spans])
        region_of = np.array(wins.region_of)
        turns: list[SpeakerTurn] = []
        for i, r in enumerate(regions):
            idx = np.flatnonzero(region_of == i)
            t = np.arange(r.start, r.end, FRAME_S) + FRAME_S / 2
            if not len(idx) or not len(t):
                continue
            cover = (starts[idx, None] <= t[None, :]) & (t[None, :] < ends[idx, None])  # [w, T]
            none = ~cover.any(axis=0)
            if none.any():  # frames no window covers: the nearest window
                dist = np.minimum(np.abs(starts[idx, None] - t[None, :]), np.abs(ends[idx, None] - t[None, :]))
                cover[:, none] = dist[:, none] == dist[:, none].min(axis=0)
            score = (cover.T.astype(np.float64) @ sim[idx]) / cover.sum(axis=0)[:, None]  # [T, K]
            labels = _merge_short_runs(score.argmax(axis=1), score, max(1, round(p.min_turn_s / FRAME_S)))
            for s0, e0, k in _runs(labels):
                turns.append(
                    SpeakerTurn(
                        start=round(r.start + s0 * FRAME_S, 3),
                        end=round(min(r.end, r.start + e0 * FRAME_S), 3),
                        speaker=str(k),
                    )
                )
        return turns


def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    out, s = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[s]:
            out.append((s, i, int(labels[s])))
            s = i
    return out


def _merge_short_runs(labels: np.ndarray, score: np.ndarray, min_frames: int) -> np.ndarray:
    """Runs shorter than ``min_frames`` take the neighbouring label that scores higher over the run."""
    labels = labels.copy()
    while True:
        runs = _runs(labels)
        short = [j for j, (s, e, _) in enumerate(runs) if e - s < min_frames]
        if len(runs) < 2 or not short:
            return labels
        j = short[0]
        s, e, _ = runs[j]
        nb = [runs[x][2] for x in (j - 1, j + 1) if 0 <= x < len(runs)]
        labels[s:e] = max(nb, key=lambda k: float(score[s:e, k].mean()))


def summarize(turns: list[SpeakerTurn], duration: float, estimated: bool = True) -> Diarization:
    """Turns relabelled ``SPEAKER_NN`` by first appearance, touching turns of one speaker joined, with totals."""
    names: dict[str, str] = {}
    out: list[SpeakerTurn] = []
    for t in sorted(turns, key=lambda t: (t.start, t.end)):
        label = names.setdefault(t.speaker, f"SPEAKER_{len(names):02d}")
        if out and out[-1].speaker == label and t.start - out[-1].end <= 1e-6:
            out[-1] = SpeakerTurn(start=out[-1].start, end=t.end, speaker=label)
        else:
            out.append(SpeakerTurn(start=t.start, end=t.end, speaker=label))
    stats = []
    for label in names.values():
        mine = [t for t in out if t.speaker == label]
        stats.append(
            SpeakerStats(
                speaker=label,
                seconds=round(sum(t.end - t.start for t in mine), 3),
                turns=len(mine),
                first=mine[0].start,
                last=mine[-1].end,
            )
        )
    return Diarization(
        model=MODEL_ID,
        duration=duration,
        num_speakers=len(names),
        estimated=estimated,
        turns=out,
        speakers=stats,
        reason=None if out else "no speech detected",
    )


__all__ = ["DiarizationParams", "Diarizer", "region_windows", "summarize"]
