"""Temporal question answering benchmark: the case format, a generator of videos with exact ground truth,
hand-written cases over real clips, the runner and its report (``vidreason eval temporal-qa``)."""

from __future__ import annotations

from pathlib import Path

#: the hand-written cases over the shared real clips (package data)
REAL_CASES = Path(__file__).resolve().parents[1] / "data" / "temporal_qa_real.jsonl"
