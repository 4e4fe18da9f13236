"""Live objects of a run, resolved from the plain-data ``Context`` (or taken as given by the Python API).

A LangGraph client sends ``{"question": ..., "video": "/path/clip.mp4"}`` as input and settings overrides /
an LLM name as context; the first node to need them builds the ``Settings``, opens (or builds) the video's index
and the LLM client, and keeps them for the next questions on the same video (a server answers many).
``VideoReasoner`` passes its own objects in ``Context.resources`` instead.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidreason.graphs.state import Context
from vidreason.tools.core.errors import ConfigError
from vidreason.tools.core.models import ModelRegistry, default_registry
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.llm.client import LLMClient

#: indexes a resolver keeps open (least recently used ones are dropped)
MAX_OPEN_INDEXES = 4


@dataclass
class Resources:
    """What the nodes use: settings, the video's index, the LLM client (None: offline), the model registry and
    the loop limits."""

    settings: Settings
    index: VideoIndex
    llm: LLMClient | None = None
    models: ModelRegistry | None = None
    max_replans: int = 1
    max_answer_retries: int = 1


class ResourceResolver:
    """Opens settings, index and LLM client from plain data and keeps the last ``MAX_OPEN_INDEXES`` of them."""

    def __init__(self, models: ModelRegistry | None = None) -> None:
        self.models = models or default_registry()
        self._open: OrderedDict[str, tuple[Settings, VideoIndex, LLMClient | None]] = OrderedDict()
        self._lock = threading.Lock()

    def open(
        self, video: str, overrides: Mapping[str, Any], llm: str | None
    ) -> tuple[Settings, VideoIndex, LLMClient | None]:
        values = {**overrides, **({"llm": llm} if llm is not None else {})}
        key = json.dumps([str(Path(video).resolve()), values], sort_keys=True, default=str)
        with self._lock:
            if key in self._open:
                self._open.move_to_end(key)
                return self._open[key]
        try:
            settings = Settings(**values)
        except ValueError as e:
            raise ConfigError(f"invalid settings in the run context: {str(e).replace(chr(10), '; ')}") from None
        index = VideoIndex.build(Path(video), settings, models=self.models)
        opened = (settings, index, LLMClient.from_config(settings.llm_config))
        with self._lock:
            self._open[key] = opened
            while len(self._open) > MAX_OPEN_INDEXES:
                self._open.popitem(last=False)
        return opened


_default: ResourceResolver | None = None
_default_guard = threading.Lock()


def default_resolver() -> ResourceResolver:
    """The process-wide resolver (over the process-wide model registry)."""
    global _default
    with _default_guard:
        if _default is None:
            _default = ResourceResolver()
        return _default


def resources_for(ctx: Context, state: Mapping[str, Any]) -> Resources:
    """The live objects of this run: ``ctx.resources`` when the caller gave them, else opened from
    ``state["video"]`` with the context's settings overrides and LLM name."""
    if ctx.resources is not None:
        if not isinstance(ctx.resources, Resources):
            raise ConfigError("Context.resources is for the Python API's live objects; clients send plain settings")
        return ctx.resources
    video = state.get("video")
    if not video:
        raise ConfigError("the run input needs 'video': the path of the video file to ask about")
    resolver = default_resolver()
    settings, index, llm = resolver.open(str(video), ctx.settings or {}, ctx.llm)
    return Resources(settings, index, llm, resolver.models, ctx.max_replans, ctx.max_answer_retries)


__all__ = ["MAX_OPEN_INDEXES", "ResourceResolver", "Resources", "default_resolver", "resources_for"]
