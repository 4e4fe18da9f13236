"""The temporal-QA case format (one JSON object per line) as a pydantic model, and loading with video lookup.

The format is described for people in ``evals/temporal_qa/FORMAT.md`` (mirrored in the README's eval
section): ``id, video, question, type, answer{keys, alternatives, yes_no, count, speaker, choices}, target,
anchor, absent, channels, optional, notes``. Paths of videos are relative to the JSONL file's folder unless
absolute; a runner may also search extra folders (``--videos``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vidreason.tools.core.errors import DatasetError

QuestionType = Literal[
    "when",
    "first",
    "last",
    "nth",
    "after",
    "before",
    "while",
    "between",
    "order",
    "count",
    "cross_modal",
    "summary",
    "who",
    "absent",
]
QUESTION_TYPES: tuple[str, ...] = QuestionType.__args__  # type: ignore[attr-defined]
#: what a case needs the index (or an on-demand read) to have: speech (ASR), ocr (on-screen text), visual
#: (what frames show), speaker (who speaks)
Channel = Literal["speech", "ocr", "visual", "speaker"]
Span = tuple[float, float]
DEFAULT_CHANNELS: tuple[Channel, ...] = ("speech",)

_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalize(text: str) -> str:
    """Lowercase, every run of non-alphanumerics (punctuation, underscores) turned into one space."""
    return _NON_WORD.sub(" ", text.lower()).strip()


class ExpectedAnswer(BaseModel):
    """What a right answer contains (see the format notes); keys are stored normalised."""

    model_config = ConfigDict(extra="forbid")

    keys: list[str] = Field(default_factory=list, description="words/phrases that must all appear")
    alternatives: list[list[str]] = Field(default_factory=list, description="other key lists, any one counts")
    yes_no: bool | None = Field(None, description="order questions asked as yes/no")
    count: int | None = Field(None, ge=0, description="count questions: the expected number")
    speaker: str | None = Field(None, description="who questions: the expected label, e.g. SPEAKER_2")
    choices: list[str] = Field(
        default_factory=list,
        description="which-first questions: the options named in the question; the first one the answer names "
        "must be keys[0]",
    )

    @field_validator("keys", "choices")
    @classmethod
    def _norm_keys(cls, v: list[str]) -> list[str]:
        out = [normalize(k) for k in v]
        if any(not k for k in out):
            raise ValueError("answer keys must not be empty strings")
        return out

    @field_validator("alternatives")
    @classmethod
    def _norm_alternatives(cls, v: list[list[str]]) -> list[list[str]]:
        out = [[normalize(k) for k in alt] for alt in v]
        if any(not alt or not all(alt) for alt in out):
            raise ValueError("every alternative must be a non-empty list of non-empty keys")
        return out

    @field_validator("speaker")
    @classmethod
    def _speaker_label(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"SPEAKER_\d+", v):
            raise ValueError(f"speaker {v!r} must look like SPEAKER_1")
        return v


class TemporalCase(BaseModel):
    """One question about one video, with its expected answer and target span(s) in seconds."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    video: str = Field(min_length=1)
    question: str = Field(min_length=3)
    type: QuestionType
    answer: ExpectedAnswer = Field(default_factory=ExpectedAnswer)
    target: list[Span] = Field(default_factory=list)
    anchor: list[Span] = Field(default_factory=list)
    absent: bool = False
    channels: list[Channel] = Field(default_factory=lambda: list(DEFAULT_CHANNELS))
    optional: bool = Field(False, description="not counted in the overall score (e.g. who: needs diarisation)")
    notes: str = ""

    @field_validator("target", "anchor")
    @classmethod
    def _spans(cls, v: list[Span]) -> list[Span]:
        for s, e in v:
            if not 0 <= s <= e:
                raise ValueError(f"span ({s}, {e}) must satisfy 0 <= start <= end")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TemporalCase:
        a = self.answer
        if self.type == "absent" and not self.absent:
            raise ValueError("type 'absent' needs absent: true")
        if self.absent:
            if self.target:
                raise ValueError("an absent case has no target span")
            return self
        if not self.target:
            raise ValueError(f"a {self.type!r} case needs at least one target span")
        if self.type == "order" and a.yes_no is None and not a.keys:
            raise ValueError("an order case needs yes_no or keys (the name of the first event)")
        if a.choices and (not a.keys or a.keys[0] not in a.choices):
            raise ValueError("choices must include keys[0], the expected choice")
        if self.type == "count":
            if a.count is None:
                raise ValueError("a count case needs answer.count")
            if len(self.target) != a.count:
                raise ValueError(f"a count case needs one target span per occurrence ({a.count})")
        if self.type == "who" and a.speaker is None and not a.keys:
            raise ValueError("a who case needs answer.speaker or keys")
        return self


class LoadedCase(BaseModel):
    """A case with the file it came from and its resolved video path (None when not found)."""

    case: TemporalCase
    source: str
    line: int
    video_path: str | None


def read_cases(path: str | Path) -> list[tuple[int, TemporalCase]]:
    """Validated ``(line number, case)`` pairs of a JSONL file (:class:`DatasetError` names the bad line)."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"case file {str(p)!r} does not exist")
    out: list[tuple[int, TemporalCase]] = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((n, TemporalCase.model_validate(json.loads(line))))
        except (json.JSONDecodeError, ValidationError) as e:
            msg = str(e).replace("\n", "; ")
            raise DatasetError(f"{p}:{n}: not a valid temporal-QA case: {msg}") from None
    return out


def resolve_video(video: str, base: Path, search: Sequence[Path] = ()) -> Path | None:
    """``video`` if absolute, else under ``base`` (the JSONL's folder), else under each ``search`` folder
    (as given, then by file name)."""
    p = Path(video)
    if p.is_absolute():
        return p if p.is_file() else None
    for root in (base, *search):
        for cand in (root / p, root / p.name):
            if cand.is_file():
                return cand
    return None


def load_cases(paths: Iterable[str | Path], video_dirs: Sequence[str | Path] = ()) -> list[LoadedCase]:
    """Cases of every file, in order; ids must be unique over all files."""
    search = [Path(d) for d in video_dirs]
    seen: dict[str, str] = {}
    out: list[LoadedCase] = []
    for path in paths:
        p = Path(path)
        for n, case in read_cases(p):
            if case.id in seen:
                raise DatasetError(f"{p}:{n}: case id {case.id!r} already used in {seen[case.id]}")
            seen[case.id] = f"{p}:{n}"
            video = resolve_video(case.video, p.parent, search)
            out.append(LoadedCase(case=case, source=str(p), line=n, video_path=str(video) if video else None))
    return out


def dump_cases(cases: Iterable[TemporalCase]) -> str:
    """JSONL text of ``cases`` (stable key order, no whitespace variation: the generator's output is
    byte-identical for a seed)."""
    return "".join(json.dumps(c.model_dump(mode="json"), ensure_ascii=False, sort_keys=False) + "\n" for c in cases)
