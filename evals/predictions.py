"""Per-sample prediction records and their resumable JSONL store (append + fsync per line)."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from vidreason.evals.metrics import GroundingItem
from vidreason.tools.core.errors import DatasetError

logger = logging.getLogger(__name__)


class PredictionRecord(BaseModel):
    """One evaluated query: ground truth and ranked predictions in the evaluated timeline (after OOD padding),
    with timing. ``status="error"`` records keep the error and count as misses."""

    sample_id: str
    video_id: str
    video_path: str
    query: str
    duration: float | None = Field(None, description="seconds of the evaluated timeline (padding included)")
    gt_spans: list[tuple[float, float]]
    pred_spans: list[tuple[float, float, float]] = Field(default_factory=list, description="(start, end, score)")
    relation: str | None = None
    saliency: list[float] | None = Field(
        None, description="per-clip (2 s) saliency scores when the grounder gives them (QVHighlights HL metrics)"
    )
    top1_iou: float = 0.0
    ood_pad: float = 0.0
    index_s: float = Field(0.0, description="seconds spent indexing this record's video (same on all its records)")
    index_cache_hit: bool = False
    query_s: float = 0.0
    status: Literal["ok", "error"] = "ok"
    error: str | None = None

    def to_item(self) -> GroundingItem:
        return GroundingItem(
            preds=list(self.pred_spans), gts=self.gt_spans, duration=self.duration, relation=self.relation
        )


R = TypeVar("R", bound=BaseModel)


class RecordStore(Generic[R]):
    """A JSONL file of records keyed by their ``sample_id``, flushed and fsynced line by line.

    Opening an existing file loads its records (a truncated or unreadable last line — a run killed while
    writing — is dropped and cut off the file), so a rerun skips the sample ids already present.
    """

    def __init__(self, path: str | Path, record_type: type[R]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.record_type = record_type
        self._lock = threading.Lock()
        self.records: dict[str, R] = {}
        self._load()
        self._fh = self.path.open("a", encoding="utf-8")

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good_end = 0
        pos = 0
        while pos < len(data):
            nl = data.find(b"\n", pos)
            if nl < 0:
                logger.warning("%s: dropping a truncated last line (%d bytes)", self.path, len(data) - pos)
                break
            line = data[pos:nl]
            pos = nl + 1
            if not line.strip():
                good_end = pos
                continue
            try:
                rec = self.record_type.model_validate(json.loads(line))
            except (json.JSONDecodeError, ValidationError, UnicodeDecodeError) as e:
                if pos >= len(data):
                    logger.warning("%s: dropping an unreadable last line: %s", self.path, e)
                    break
                raise DatasetError(f"{self.path}: corrupt prediction record before the last line: {e}") from e
            self.records[str(getattr(rec, "sample_id"))] = rec  # noqa: B009 - any record type with a sample_id
            good_end = pos
        if good_end < len(data):
            with self.path.open("r+b") as f:
                f.truncate(good_end)
                f.flush()
                os.fsync(f.fileno())
        if self.records:
            logger.info("resuming: %d prediction(s) already in %s", len(self.records), self.path)

    def __contains__(self, sample_id: object) -> bool:
        return sample_id in self.records

    def __len__(self) -> int:
        return len(self.records)

    def append(self, record: R) -> None:
        line = record.model_dump_json() + "\n"
        with self._lock:
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.records[str(getattr(record, "sample_id"))] = record  # noqa: B009

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()

    def __enter__(self) -> RecordStore[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PredictionStore(RecordStore[PredictionRecord]):
    """``predictions.jsonl`` of a grounding benchmark: one :class:`PredictionRecord` per line."""

    def __init__(self, path: str | Path):
        super().__init__(path, PredictionRecord)

    def __enter__(self) -> PredictionStore:
        return self
