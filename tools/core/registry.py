"""Lazy name registries: ``name -> "package.module:attr"`` entries imported only when used, with aliases and a
"did you mean" error for unknown names (the pattern of lm-evaluation-harness and open_clip).

    DETECTORS = LazyRegistry("shot detector", {"content": "vidreason.tools.shots.content:ContentDetector"})
    cls = DETECTORS.load("content")          # imports the module now
    DETECTORS.register("mine", "my_pkg.shots:MyDetector")
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from vidreason.tools.core.errors import ConfigError

T = TypeVar("T")


def import_target(target: str) -> Any:
    """The object named by ``"package.module:attr[.attr]"``."""
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"registry target {target!r} must look like 'package.module:attr'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class LazyRegistry(Generic[T]):
    """Names mapped to lazily imported objects (classes, factories, functions)."""

    def __init__(
        self,
        what: str,
        entries: Mapping[str, str] | None = None,
        *,
        aliases: Mapping[str, str] | None = None,
        error: Callable[[str], Exception] = ConfigError,
    ) -> None:
        self.what = what
        self._entries: dict[str, str] = dict(entries or {})
        self._objects: dict[str, T] = {}
        self.aliases: dict[str, str] = dict(aliases or {})
        self._error = error

    def register(self, name: str, target: str | T) -> None:
        """Add or replace ``name``: a ``"module:attr"`` string (imported on first use) or the object itself."""
        self._objects.pop(name, None)
        if isinstance(target, str):
            if ":" not in target:
                raise self._error(f"{self.what} target {target!r} must look like 'package.module:attr'")
            self._entries[name] = target
        else:
            self._entries[name] = f"<object:{name}>"
            self._objects[name] = target

    def subset(self, names: list[str] | tuple[str, ...]) -> LazyRegistry[T]:
        """A new registry with only ``names`` (in this registry's order), sharing what was already imported."""
        out: LazyRegistry[T] = LazyRegistry(self.what, error=self._error)
        out._entries = {n: t for n, t in self._entries.items() if n in names}
        out._objects = {n: o for n, o in self._objects.items() if n in out._entries}
        out.aliases = {a: n for a, n in self.aliases.items() if n in out._entries}
        return out

    def copy(self) -> LazyRegistry[T]:
        return self.subset(tuple(self._entries))

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def target(self, name: str) -> str:
        return self._entries[self.resolve(name)]

    def resolve(self, name: str) -> str:
        """The canonical name for ``name`` (aliases applied); an error with close matches when unknown."""
        key = self.aliases.get(name, name)
        if key in self._entries:
            return key
        close = difflib.get_close_matches(name, [*self._entries, *self.aliases], n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(self.aliases.get(c, c)) for c in close)}?" if close else ""
        raise self._error(f"unknown {self.what} {name!r}{hint}. Known {self.what}s: {', '.join(self._entries)}")

    def load(self, name: str) -> T:
        """The object registered as ``name`` (imported on first use, then kept)."""
        key = self.resolve(name)
        if key not in self._objects:
            self._objects[key] = import_target(self._entries[key])
        return self._objects[key]


__all__ = ["LazyRegistry", "import_target"]
