"""Typed grounding samples and the small readers every dataset loader shares."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vidreason.tools.core.errors import DatasetError

Relation = Literal["single", "sequential", "simultaneous"]

#: TFVTG's relationship words (and a few spellings) -> our relation names.
RELATION_ALIASES: dict[str, Relation] = {
    "single": "single",
    "single-query": "single",
    "single_query": "single",
    "sequential": "sequential",
    "sequentially": "sequential",
    "simultaneous": "simultaneous",
    "simultaneously": "simultaneous",
}


def normalize_relation(value: str | None) -> Relation | None:
    """Map a relationship word to ``single``/``sequential``/``simultaneous``; unknown or empty -> ``None``."""
    if not value:
        return None
    return RELATION_ALIASES.get(str(value).strip().lower())


class GroundingSample(BaseModel):
    """One query on one video with its ground-truth spans (seconds)."""

    model_config = ConfigDict(frozen=True)

    sample_id: str = Field(description="unique within the dataset; stable across runs (used to resume)")
    video_id: str
    duration: float | None = Field(None, gt=0, description="video seconds; None when the annotation has none")
    query: str
    query_index: int = Field(0, ge=0, description="position of this sentence among its video's sentences")
    gt_spans: list[tuple[float, float]] = Field(min_length=1)
    relation: Relation | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("query")
    @classmethod
    def _query_not_empty(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("query is empty")
        return v

    @field_validator("gt_spans")
    @classmethod
    def _spans_ordered(cls, spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for s, e in spans:
            if s < 0 or e < s:
                raise ValueError(f"ground-truth span ({s}, {e}) is not 0 <= start <= end")
        return spans


def require_file(path: str | Path, what: str) -> Path:
    """``path`` as a Path, or :class:`DatasetError` naming ``what`` when it is not a readable file."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{what} not found: {str(p)!r} (expected an existing file)")
    return p


def read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise DatasetError(f"cannot read JSON annotations {str(path)!r}: {e}") from e


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_number, record)`` for each non-empty line; a malformed line raises :class:`DatasetError`."""
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DatasetError(f"{path}:{n}: not a JSON object: {e}") from e
            if not isinstance(rec, dict):
                raise DatasetError(f"{path}:{n}: expected a JSON object, got {type(rec).__name__}")
            yield n, rec


def read_durations_csv(path: str | Path, id_column: str = "id", length_column: str = "length") -> dict[str, float]:
    """Video durations from a CSV such as ``Charades_v1_test.csv`` (``id`` and ``length`` columns)."""
    p = require_file(path, "durations CSV")
    out: dict[str, float] = {}
    with p.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        if id_column not in fields or length_column not in fields:
            raise DatasetError(
                f"durations CSV {str(p)!r} needs columns {id_column!r} and {length_column!r}; has {fields}"
            )
        for row in reader:
            try:
                out[row[id_column]] = float(row[length_column])
            except (TypeError, ValueError) as e:
                raise DatasetError(f"{p}: bad {length_column!r} for {row.get(id_column)!r}: {e}") from e
    return out


def build_sample(where: str, **fields: Any) -> GroundingSample:
    """Validate one sample; a bad record becomes a :class:`DatasetError` that says where it is."""
    try:
        return GroundingSample(**fields)
    except ValueError as e:
        raise DatasetError(f"{where}: invalid annotation: {e}") from e


def samples_from_tfvtg_layout(data: Any, source: str, *, id_prefix: str = "") -> list[GroundingSample]:
    """Samples from ``{vid: {duration, timestamps, sentences}}`` (TFVTG / ActivityNet Captions layout)."""
    if not isinstance(data, dict):
        raise DatasetError(f"{source}: expected an object keyed by video id, got {type(data).__name__}")
    samples: list[GroundingSample] = []
    for vid, rec in data.items():
        try:
            stamps, sentences = rec["timestamps"], rec["sentences"]
        except (KeyError, TypeError) as e:
            raise DatasetError(f"{source}: video {vid!r} lacks 'timestamps'/'sentences'") from e
        if len(stamps) != len(sentences):
            raise DatasetError(f"{source}: video {vid!r} has {len(stamps)} timestamps but {len(sentences)} sentences")
        duration = rec.get("duration")
        for i, ((start, end), sentence) in enumerate(zip(stamps, sentences, strict=True)):
            samples.append(
                build_sample(
                    f"{source} [{vid}][{i}]",
                    sample_id=f"{id_prefix}{vid}#{i}",
                    video_id=str(vid),
                    duration=float(duration) if duration else None,
                    query=sentence,
                    query_index=i,
                    gt_spans=[(float(start), float(end))],
                )
            )
    return samples
