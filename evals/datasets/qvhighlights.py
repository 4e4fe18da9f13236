"""QVHighlights: jsonl with ``qid, query, duration, vid, relevant_windows`` (+ saliency for highlights)."""

from __future__ import annotations

from pathlib import Path

from vidreason.evals.datasets.base import GroundingSample, build_sample, iter_jsonl, require_file
from vidreason.tools.core.errors import DatasetError


def load_qvhighlights(annotations: str | Path) -> list[GroundingSample]:
    """One sample per query, with every relevant window as a ground-truth span.

    ``extra`` keeps ``relevant_clip_ids`` and ``saliency_scores`` (2 s clips, 3 annotators) for HIT@1.
    A line without ``relevant_windows`` (an unlabelled test split) raises :class:`DatasetError`.
    """
    path = require_file(annotations, "QVHighlights annotations")
    samples: list[GroundingSample] = []
    per_video: dict[str, int] = {}
    for n, rec in iter_jsonl(path):
        where = f"{path}:{n}"
        try:
            qid, vid, query = rec["qid"], rec["vid"], rec["query"]
        except KeyError as e:
            raise DatasetError(f"{where}: missing field {e.args[0]!r} (need qid, vid, query)") from e
        windows = rec.get("relevant_windows")
        if not windows:
            raise DatasetError(f"{where}: query {qid!r} has no 'relevant_windows' (unlabelled split?)")
        extra = {k: rec[k] for k in ("relevant_clip_ids", "saliency_scores") if k in rec}
        i = per_video.get(vid, 0)
        per_video[vid] = i + 1
        samples.append(
            build_sample(
                where,
                sample_id=str(qid),
                video_id=str(vid),
                duration=float(rec["duration"]) if rec.get("duration") else None,
                query=query,
                query_index=i,
                gt_spans=[(float(s), float(e)) for s, e in windows],
                extra=extra,
            )
        )
    return samples
