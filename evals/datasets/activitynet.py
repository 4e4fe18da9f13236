"""ActivityNet Captions: ``{vid: {duration, timestamps, sentences}}`` (e.g. ``val_2.json``)."""

from __future__ import annotations

from pathlib import Path

from vidreason.evals.datasets.base import GroundingSample, read_json, require_file, samples_from_tfvtg_layout


def load_activitynet_captions(annotations: str | Path) -> list[GroundingSample]:
    """One sample per sentence; ids ``"{vid}#{i}"``. Sentences are stripped (files keep a leading space)."""
    path = require_file(annotations, "ActivityNet Captions annotations")
    return samples_from_tfvtg_layout(read_json(path), str(path))
