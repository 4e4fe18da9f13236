"""TACoS: 2D-TAN's ``test.json`` (times in frames, per-video ``fps``) or lighthouse's jsonl (seconds)."""

from __future__ import annotations

from pathlib import Path

from vidreason.evals.datasets.base import GroundingSample, build_sample, iter_jsonl, read_json, require_file
from vidreason.tools.core.errors import DatasetError


def _video_id(key: str) -> str:
    """``"s30-d52.avi"`` -> ``"s30-d52"`` (the jsonl release uses the bare id)."""
    p = Path(key)
    return p.stem if p.suffix.lower() in {".avi", ".mp4", ".mkv", ".webm"} else key


def _load_frames_json(path: Path) -> list[GroundingSample]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected an object keyed by video file, got {type(data).__name__}")
    samples: list[GroundingSample] = []
    for key, rec in data.items():
        try:
            fps = float(rec["fps"])
            stamps, sentences = rec["timestamps"], rec["sentences"]
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(f"{path}: video {key!r} needs 'fps', 'timestamps', 'sentences'") from e
        if fps <= 0:
            raise DatasetError(f"{path}: video {key!r} has fps {fps}; must be > 0")
        if len(stamps) != len(sentences):
            raise DatasetError(f"{path}: video {key!r}: {len(stamps)} timestamps vs {len(sentences)} sentences")
        vid = _video_id(key)
        duration = float(rec["num_frames"]) / fps if rec.get("num_frames") else None
        for i, ((start, end), sentence) in enumerate(zip(stamps, sentences, strict=True)):
            samples.append(
                build_sample(
                    f"{path} [{key}][{i}]",
                    sample_id=f"{vid}_{i}",
                    video_id=vid,
                    duration=duration,
                    query=sentence,
                    query_index=i,
                    gt_spans=[(float(start) / fps, float(end) / fps)],
                    extra={"file": key, "fps": fps},
                )
            )
    return samples


def _load_seconds_jsonl(path: Path) -> list[GroundingSample]:
    samples: list[GroundingSample] = []
    per_video: dict[str, int] = {}
    for n, rec in iter_jsonl(path):
        where = f"{path}:{n}"
        try:
            vid, query, windows = _video_id(str(rec["vid"])), rec["query"], rec["relevant_windows"]
        except KeyError as e:
            raise DatasetError(f"{where}: missing field {e.args[0]!r} (need vid, query, relevant_windows)") from e
        i = per_video.get(vid, 0)
        per_video[vid] = i + 1
        samples.append(
            build_sample(
                where,
                sample_id=str(rec.get("qid", f"{vid}_{i}")),
                video_id=vid,
                duration=float(rec["duration"]) if rec.get("duration") else None,
                query=query,
                query_index=i,
                gt_spans=[(float(s), float(e)) for s, e in windows],
            )
        )
    return samples


def load_tacos(annotations: str | Path) -> list[GroundingSample]:
    """TACoS queries; ``.json`` is the frame-based layout (converted with its ``fps``), ``.jsonl`` is seconds.

    Both give sample ids ``"{vid}_{i}"`` so predictions from one layout resume in the other.
    """
    path = require_file(annotations, "TACoS annotations")
    if path.suffix.lower() == ".jsonl":
        return _load_seconds_jsonl(path)
    return _load_frames_json(path)
