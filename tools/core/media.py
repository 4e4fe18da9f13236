"""Typed data shared by the indexing stages and the tools. Times are seconds (float) from the video start;
frames are identified by their index in the index's sampled-frame table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class Span(BaseModel):
    """A time interval in seconds, ``start <= end``."""

    model_config = ConfigDict(frozen=True)

    start: float = Field(ge=0)
    end: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end < self.start:
            raise ValueError(f"span end {self.end} is before its start {self.start}")
        return self

    @property
    def duration(self) -> float:
        return self.end - self.start

    def overlaps(self, other: Span) -> bool:
        return min(self.end, other.end) > max(self.start, other.start)

    def contains(self, t: float) -> bool:
        return self.start <= t <= self.end


class StreamInfo(BaseModel):
    index: int
    kind: Literal["video", "audio", "subtitle", "data", "attachment", "unknown"]
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    duration: float | None = None
    frames: int | None = None


class VideoInfo(BaseModel):
    """What ``tools.video.probe`` finds in a file."""

    path: str
    container: str | None = None
    size_bytes: int
    duration: float = Field(ge=0, description="seconds; the longest of the container and the chosen video stream")
    fps: float = Field(gt=0, description="average frame rate of the chosen video stream")
    frame_count: int = Field(ge=0, description="frames in the chosen video stream (estimated when not stored)")
    width: int = Field(description="frame width as displayed (rotation applied)")
    height: int = Field(description="frame height as displayed (rotation applied)")
    variable_frame_rate: bool = False
    rotation: int = Field(0, description="display rotation (degrees counter-clockwise) applied to decoded frames")
    video_stream: int = Field(description="index of the video stream used (the first one)")
    audio_stream: int | None = Field(None, description="index of the audio stream used (the first), if any")
    streams: list[StreamInfo] = Field(default_factory=list)

    @property
    def has_audio(self) -> bool:
        return self.audio_stream is not None


@dataclass
class FrameChunk:
    """A bounded batch of decoded frames: ``frames`` is uint8 ``[N, H, W, 3]`` RGB, ``timestamps`` float64 [N]
    (exact presentation times, seconds) and ``indices`` int64 [N] (positions in the sampled-frame table, or -1
    for a frame decoded only for a second, faster analysis grid, which ``extra`` [N] bool marks)."""

    frames: np.ndarray
    timestamps: np.ndarray
    indices: np.ndarray
    extra: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.timestamps)

    def table(self) -> FrameChunk:
        """Only the frames of the sampled-frame table."""
        keep = self.indices >= 0
        return FrameChunk(self.frames[keep], self.timestamps[keep], self.indices[keep])

    def analysis(self) -> FrameChunk:
        """Only the frames of the second analysis grid (all frames when there is none)."""
        if self.extra is None:
            return self
        keep = self.extra
        return FrameChunk(self.frames[keep], self.timestamps[keep], self.indices[keep])


class Shot(BaseModel):
    """A shot: ``[start, end)`` seconds and the sampled-frame-table indices it covers (inclusive)."""

    index: int
    start: float
    end: float
    start_frame: int
    end_frame: int


class ShotBoundaries(BaseModel):
    """Output of a shot detector: the shots tiling the video and its per-frame boundary scores (for the UI)."""

    detector: str
    shots: list[Shot]
    score_times: list[float] = Field(default_factory=list, description="time of each boundary score (seconds)")
    scores: list[float] = Field(default_factory=list, description="boundary score per analysed frame, 0..1")
    threshold: float | None = None


class Word(BaseModel):
    text: str
    start: float
    end: float
    probability: float | None = None
    speaker: str | None = Field(None, description="speaker label from diarization (None: not diarized)")


class TranscriptSegment(BaseModel):
    id: int
    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    language: str | None = Field(None, description="language detected for this segment (multilingual models)")
    confidence: float | None = Field(None, ge=0, le=1, description="mean probability of the line's words")
    speaker: str | None = Field(None, description="speaker label from diarization (None: not diarized)")


class Transcript(BaseModel):
    """ASR output. ``segments`` is empty when there is no speech; ``reason`` then says why."""

    model: str | None = None
    language: str | None = None
    language_probability: float | None = None
    duration: float = 0.0
    segments: list[TranscriptSegment] = Field(default_factory=list)
    speech_regions: list[Span] = Field(default_factory=list, description="VAD speech regions (seconds)")
    reason: str | None = Field(None, description="why the transcript is empty, when it is")
    notes: list[str] = Field(default_factory=list, description="substitutions/degradations (e.g. packaged model)")
    languages: dict[str, float] = Field(default_factory=dict, description="seconds of speech per detected language")
    degraded: str | None = Field(
        None, description="speech the model could not transcribe (e.g. a language an English-only model lacks)"
    )

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()

    def in_span(self, span: Span) -> list[TranscriptSegment]:
        return [s for s in self.segments if min(s.end, span.end) > max(s.start, span.start)]


class SpeakerTurn(BaseModel):
    """A stretch of speech by one speaker (seconds); labels are ``SPEAKER_00``, ``SPEAKER_01``, ... in order of
    first appearance."""

    start: float = Field(ge=0)
    end: float = Field(ge=0)
    speaker: str


class SpeakerStats(BaseModel):
    """How much one speaker talks: seconds of speech, turns, first and last time heard."""

    speaker: str
    seconds: float = Field(ge=0)
    turns: int = Field(ge=0)
    first: float = Field(ge=0)
    last: float = Field(ge=0)


class Diarization(BaseModel):
    """Who speaks when: speaker turns, per-speaker totals and the transcript with ``speaker`` on its lines and
    words (lines are split where the speaker changes)."""

    model: str | None = None
    duration: float = 0.0
    num_speakers: int = Field(0, ge=0)
    estimated: bool = Field(True, description="False when the number of speakers was given")
    turns: list[SpeakerTurn] = Field(default_factory=list)
    speakers: list[SpeakerStats] = Field(default_factory=list)
    transcript: Transcript | None = None
    reason: str | None = Field(None, description="why there are no turns, when there are none")

    def to_rttm(self, uri: str) -> str:
        """NIST RTTM lines (``SPEAKER uri 1 start duration <NA> <NA> label <NA> <NA>``)."""
        uri = "_".join(uri.split()) or "audio"
        return "".join(
            f"SPEAKER {uri} 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n" for t in self.turns
        )


class OcrItem(BaseModel):
    """On-screen text seen from ``start`` to ``end`` (deduplicated across consecutive keyframes)."""

    text: str
    start: float
    end: float
    frame_index: int
    box: list[list[float]] = Field(default_factory=list, description="4 corner points in pixels of the frame")
    score: float


class FileCheck(BaseModel):
    """Size and checksum of one file of a stage folder, recorded when the stage was committed."""

    size: int = Field(ge=0)
    blake2b: str = Field(description="BLAKE2b-128 of the file's bytes, hex")


class StageStatus(BaseModel):
    """What the index manifest records per stage."""

    name: str
    status: Literal["ok", "degraded", "skipped", "failed"]
    reason: str | None = None
    key: str = ""
    wall_s: float = 0.0
    models: dict[str, str] = Field(default_factory=dict)
    params: dict[str, object] = Field(default_factory=dict)
    files: dict[str, FileCheck] | None = Field(
        None, description="every file of the stage folder (relative path -> size, checksum); None: not recorded"
    )
    fingerprint: dict[str, str] = Field(
        default_factory=dict,
        description="failed stages: what the failure depended on (source files, inputs); retried when it changes",
    )
