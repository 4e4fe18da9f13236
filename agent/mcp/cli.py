"""``vidreason mcp``: serve vidreason's tools to MCP clients over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vidreason.agent.options import DEFAULT_HOST, DEFAULT_PORT, add_settings_args, port_number, settings_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mcp",
        help="serve index/ground/ask/transcript/frames/summary/trace to MCP clients (stdio or HTTP)",
        description="Run vidreason as a Model Context Protocol server. It reads only video files under the "
        "--allow folders (symlinks resolved) and keeps models and indexes loaded between calls.",
    )
    p.add_argument(
        "--allow",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a folder whose videos clients may open (repeatable; default: the current directory)",
    )
    p.add_argument("--http", action="store_true", help="serve streamable HTTP at http://HOST:PORT/mcp, not stdio")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"interface for --http (default {DEFAULT_HOST})")
    p.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"port for --http (default {DEFAULT_PORT})")
    add_settings_args(p)
    p.set_defaults(func=cmd_mcp)


def cmd_mcp(args: argparse.Namespace) -> int:
    from vidreason.tools.core.errors import ConfigError

    try:
        from vidreason.agent.mcp.server import HTTP_PATH, build_server, serve
    except ImportError as e:
        raise ConfigError(f"the MCP server needs the mcp SDK 2.x: pip install 'vidreason[mcp]' ({e})") from e
    from vidreason.agent.access import is_loopback
    from vidreason.agent.mcp.roots import AllowedRoots
    from vidreason.agent.mcp.service import VidreasonService

    settings = settings_from_args(args)
    roots = AllowedRoots(args.allow or [Path.cwd()])
    server = build_server(VidreasonService(settings, roots))
    allowed = ", ".join(str(d) for d in roots.dirs)
    if args.http:
        if not is_loopback(args.host):
            print(
                f"WARNING: vidreason mcp is bound to {args.host}:{args.port}, which other machines may reach. "
                "Anyone who can connect can read the videos under the allowed folders and run questions "
                "(LLM costs included). Use --host 127.0.0.1 unless you mean it.",
                file=sys.stderr,
            )
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(
            f"vidreason mcp: http://{shown}:{args.port}{HTTP_PATH}  (allowed: {allowed}; cache "
            f"{settings.cache_dir}; Ctrl-C stops)",
            file=sys.stderr,
        )
    serve(server, http=(args.host, args.port) if args.http else None)
    return 0
