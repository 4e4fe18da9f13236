"""Dataset loaders, registered by name with lazy ``"module:attr"`` entries (importing this imports no loader).

Every loader takes the annotation file path (plus optional keyword arguments) and returns a list of
:class:`~vidreason.evals.datasets.base.GroundingSample`.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidreason.agent.errors import ConfigError, DatasetError

if TYPE_CHECKING:
    from vidreason.evals.datasets.base import GroundingSample

DATASETS: dict[str, str] = {
    "charades-sta": "vidreason.evals.datasets.charades:load_charades_sta",
    "activitynet-captions": "vidreason.evals.datasets.activitynet:load_activitynet_captions",
    "qvhighlights": "vidreason.evals.datasets.qvhighlights:load_qvhighlights",
    "tacos": "vidreason.evals.datasets.tacos:load_tacos",
    # A generated needle-in-a-haystack video: its annotation is Charades-STA text (+ a durations CSV).
    "haystack": "vidreason.evals.datasets.charades:load_charades_sta",
}

#: Other spellings accepted for the names above.
ALIASES: dict[str, str] = {
    "charades": "charades-sta",
    "charades_sta": "charades-sta",
    "activitynet": "activitynet-captions",
    "anet": "activitynet-captions",
    "qvh": "qvhighlights",
}


def available_datasets() -> list[str]:
    return sorted(DATASETS)


def register_dataset(name: str, target: str) -> None:
    """Add a loader as ``"package.module:function"`` (imported only when used)."""
    if ":" not in target:
        raise DatasetError(f"dataset target {target!r} must look like 'package.module:function'")
    DATASETS[name] = target


def resolve_name(name: str) -> str:
    """The canonical dataset name; unknown names raise :class:`DatasetError` with close matches."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key in DATASETS:
        return key
    close = difflib.get_close_matches(key, [*DATASETS, *ALIASES], n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(ALIASES.get(c, c)) for c in close)}?" if close else ""
    raise DatasetError(f"unknown dataset {name!r}{hint} Known datasets: {', '.join(available_datasets())}")


def get_loader(name: str) -> Callable[..., list[GroundingSample]]:
    module, _, attr = DATASETS[resolve_name(name)].partition(":")
    loader: Callable[..., list[GroundingSample]] = getattr(importlib.import_module(module), attr)
    return loader


def load_dataset(name: str, annotations: str | Path, **options: Any) -> list[GroundingSample]:
    """Load ``annotations`` with the loader registered as ``name`` (options go to the loader)."""
    loader = get_loader(name)
    accepted = inspect.signature(loader).parameters
    unknown = sorted(k for k in options if k not in accepted)
    if unknown:
        allowed = [k for k in accepted if k != "annotations"]
        raise ConfigError(f"dataset {name!r} does not take option(s) {unknown}; it takes {allowed}")
    samples = loader(annotations, **options)
    counts = Counter(s.sample_id for s in samples)
    dup = next((i for i, c in counts.items() if c > 1), None)
    if dup is not None:
        raise DatasetError(f"{annotations}: sample id {dup!r} occurs {counts[dup]} times")
    return samples


__all__ = ["ALIASES", "DATASETS", "available_datasets", "get_loader", "load_dataset", "register_dataset"]
