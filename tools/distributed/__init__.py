"""Scale-out on Ray: index (and evaluate) video collections on a cluster with the single-machine code.

``ray`` is an optional extra (``pip install 'vidreason[ray]'``); importing this package does not import it.
The names below are imported on first use, so ``vidreason --help`` (which registers ``--ray``) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vidreason.tools.distributed.cluster import (
        RAY_INSTALL_HINT,
        MapResult,
        connect,
        ray_map_videos,
        require_ray,
    )
    from vidreason.tools.distributed.ray_index import IndexJob, already_indexed, index_videos_on_ray
    from vidreason.tools.distributed.summary import RunSummary, StageCost, StageTime, VideoResult

_WHERE = {
    "RAY_INSTALL_HINT": "cluster",
    "MapResult": "cluster",
    "connect": "cluster",
    "ray_map_videos": "cluster",
    "require_ray": "cluster",
    "IndexJob": "ray_index",
    "already_indexed": "ray_index",
    "index_videos_on_ray": "ray_index",
    "RunSummary": "summary",
    "StageCost": "summary",
    "StageTime": "summary",
    "VideoResult": "summary",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = [
    "RAY_INSTALL_HINT",
    "IndexJob",
    "MapResult",
    "RunSummary",
    "StageCost",
    "StageTime",
    "VideoResult",
    "already_indexed",
    "connect",
    "index_videos_on_ray",
    "ray_map_videos",
    "require_ray",
]
