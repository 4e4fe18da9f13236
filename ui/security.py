"""What the trace viewer may serve, and the warning for exposed binds.

* Files: only the registered videos and files inside the cache's index folders. Clients never send a path
  for file serving: they send a video id (derived server-side from the resolved path) or a frame number, the
  server maps it to a path, resolves it (symlinks included) and checks that it lies inside an allowed root.
* Videos become registered when they are found in a cache manifest (their recorded path), when named on the
  command line, or when a user registers, indexes or asks about them through the UI; a path is accepted only
  if it is a regular file that probes as a video and, when ``--allow`` roots are set (always on a non-loopback
  bind), lies inside one of them: a path outside is refused with the same words whether it exists or not.
* Requests: see ``ui.guards`` (Host/Origin checks, body limit, security headers).

The path checks and the video registry live in ``agent.access`` (shared with the MCP server) and are
re-exported here.
"""

from __future__ import annotations

from vidreason.agent.access import (
    OutsideAllowedRoots,
    PathNotAllowed,
    VideoEntry,
    VideoRegistry,
    checked_file,
    inside,
    is_loopback,
    video_id,
)

#: default limit of a request body (the JSON endpoints take a few KB)
MAX_BODY_BYTES = 1 << 20


def exposure_warning(host: str, port: int) -> str | None:
    """The warning to print when the server is reachable from other machines (None on loopback)."""
    if is_loopback(host):
        return None
    return (
        f"WARNING: vidreason ui is bound to {host}:{port}, which other machines may reach. Anyone who can "
        "connect can read your indexed videos and traces and run questions (LLM costs included). "
        "Use --host 127.0.0.1 unless you mean it."
    )


__all__ = [
    "MAX_BODY_BYTES",
    "OutsideAllowedRoots",
    "PathNotAllowed",
    "VideoEntry",
    "VideoRegistry",
    "checked_file",
    "exposure_warning",
    "inside",
    "is_loopback",
    "video_id",
]
