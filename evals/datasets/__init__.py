"""Dataset loaders, registered by name with lazy ``"module:attr"`` entries (importing this imports no loader).

Every loader takes the annotation file path (plus optional keyword arguments) and returns a list of
:class:`~vidreason.evals.datasets.base.GroundingSample`.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidreason.tools.core.errors import ConfigError, DatasetError
from vidreason.tools.core.registry import LazyRegistry

if TYPE_CHECKING:
    from vidreason.evals.datasets.base import GroundingSample

#: dataset name -> "module:loader" (imported when used); other accepted spellings in ``DATASETS.aliases``
DATASETS: LazyRegistry[Callable[..., list[GroundingSample]]] = LazyRegistry(
    "dataset",
    {
        "charades-sta": "vidreason.evals.datasets.charades:load_charades_sta",
        "activitynet-captions": "vidreason.evals.datasets.activitynet:load_activitynet_captions",
        "qvhighlights": "vidreason.evals.datasets.qvhighlights:load_qvhighlights",
        "tacos": "vidreason.evals.datasets.tacos:load_tacos",
        # A generated needle-in-a-haystack video: its annotation is Charades-STA text (+ a durations CSV).
        "haystack": "vidreason.evals.datasets.charades:load_charades_sta",
    },
    aliases={
        "charades": "charades-sta",
        "charades_sta": "charades-sta",
        "activitynet": "activitynet-captions",
        "anet": "activitynet-captions",
        "qvh": "qvhighlights",
    },
    error=DatasetError,
)


def available_datasets() -> list[str]:
    return sorted(DATASETS)


def register_dataset(name: str, target: str) -> None:
    """Add a loader as ``"package.module:function"`` (imported only when used)."""
    DATASETS.register(name, target)


def resolve_name(name: str) -> str:
    """The canonical dataset name; unknown names raise :class:`DatasetError` with close matches."""
    return DATASETS.resolve(name.strip().lower())


def get_loader(name: str) -> Callable[..., list[GroundingSample]]:
    return DATASETS.load(resolve_name(name))


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


__all__ = ["DATASETS", "available_datasets", "get_loader", "load_dataset", "register_dataset", "resolve_name"]
