"""Command-line settings options shared by every command that indexes or reads an index (``vidreason``'s own
subcommands, ``eval``, ``ui``, ``mcp``): ``--profile``, ``--device``, ``--cache-dir``, ``--fps``, ``--set``; and the
servers' default address and port type."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidreason.tools.core.errors import ConfigError

if TYPE_CHECKING:  # imported when settings are built, so `vidreason --help` does not load pydantic
    from vidreason.tools.core.settings import Settings


#: where the servers (``vidreason ui``, ``vidreason mcp --http``) listen unless told otherwise
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def port_number(text: str) -> int:
    """An argparse type: a TCP port 0..65535 (0 = any free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be an integer, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 0..65535, got {port}")
    return port


def add_settings_args(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that indexes or reads an index."""
    g = p.add_argument_group("settings (also VIDREASON_* environment variables)")
    g.add_argument("--profile", choices=["auto", "fast", "accurate"], help="model/sampling defaults")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"])
    g.add_argument("--cache-dir", type=Path, help="where indexes are stored")
    g.add_argument("--fps", type=float, dest="sample_fps", help="frame-table sampling rate")
    g.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other setting, e.g. --set clip_pretrained=random (repeatable)",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    from vidreason.tools.core.settings import Settings

    values: dict[str, Any] = {}
    for name in ("profile", "device", "cache_dir", "sample_fps"):
        v = getattr(args, name, None)
        if v is not None:
            values[name] = v
    for item in getattr(args, "set", []) or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects NAME=VALUE, got {item!r}")
        values[name.strip()] = None if value.lower() in ("none", "null") else value
    try:
        return Settings(**values)
    except ValueError as e:
        raise ConfigError(str(e).replace("\n", "; ")) from None


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "add_settings_args", "port_number", "settings_from_args"]
