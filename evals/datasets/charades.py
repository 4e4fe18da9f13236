"""Charades-STA: the ``VID START END##sentence`` text format and the TFVTG json layout."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

from vidreason.evals.datasets.base import (
    GroundingSample,
    build_sample,
    read_durations_csv,
    read_json,
    require_file,
    samples_from_tfvtg_layout,
)
from vidreason.tools.core.errors import DatasetError

logger = logging.getLogger(__name__)


def parse_sta_line(line: str, where: str) -> tuple[str, float, float, str]:
    """``"VID START END##sentence"`` -> ``(vid, start, end, sentence)``."""
    head, sep, sentence = line.partition("##")
    parts = head.split()
    if not sep or len(parts) != 3:
        raise DatasetError(f"{where}: expected 'VID START END##sentence', got {line.strip()[:80]!r}")
    try:
        start, end = float(parts[1]), float(parts[2])
    except ValueError as e:
        raise DatasetError(f"{where}: START/END are not numbers in {line.strip()[:80]!r}") from e
    return parts[0], start, end, sentence.strip()


def load_sta_txt(path: Path, durations: dict[str, float] | None = None) -> list[GroundingSample]:
    """Read the text format. ``durations`` (video id -> seconds) fills ``duration``, else None."""
    per_video: dict[str, int] = defaultdict(int)
    samples: list[GroundingSample] = []
    missing_duration: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            vid, start, end, sentence = parse_sta_line(line, where)
            i = per_video[vid]
            per_video[vid] += 1
            duration = durations.get(vid) if durations is not None else None
            if durations is not None and duration is None:
                missing_duration.add(vid)
            samples.append(
                build_sample(
                    where,
                    sample_id=f"{vid}#{i}",
                    video_id=vid,
                    duration=duration,
                    query=sentence,
                    query_index=i,
                    gt_spans=[(start, end)],
                )
            )
    if missing_duration:
        logger.warning(
            "%d video(s) of %s have no duration in the durations CSV (will be probed): %s",
            len(missing_duration),
            path.name,
            sorted(missing_duration)[:5],
        )
    return samples


def load_charades_sta(annotations: str | Path, *, durations_csv: str | Path | None = None) -> list[GroundingSample]:
    """Charades-STA queries from a ``.txt`` (STA format) or ``.json`` (TFVTG layout) file.

    The text format carries no durations: pass ``durations_csv`` (``Charades_v1_test.csv``, ``length`` column)
    or let the runner probe the videos. Sample ids are ``"{vid}#{i}"`` with ``i`` the sentence's position
    among its video's sentences, the same in both layouts (and in TFVTG's ``llm_outputs.json``).
    """
    path = require_file(annotations, "Charades-STA annotations")
    if path.suffix.lower() == ".json":
        return samples_from_tfvtg_layout(read_json(path), str(path))
    durations = read_durations_csv(durations_csv) if durations_csv else None
    return load_sta_txt(path, durations)
