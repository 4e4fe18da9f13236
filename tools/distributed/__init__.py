"""Scale-out on Ray: index (and evaluate) video collections on a cluster with the single-machine code.

``ray`` is an optional extra (``pip install 'vidreason[ray]'``); importing this package does not import it.
"""

from vidreason.tools.distributed.cluster import (
    RAY_INSTALL_HINT,
    MapResult,
    connect,
    ray_map_videos,
    require_ray,
)
from vidreason.tools.distributed.ray_index import IndexJob, already_indexed, index_videos_on_ray
from vidreason.tools.distributed.summary import RunSummary, StageCost, StageTime, VideoResult

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
