"""``vidreason ui``: serve the trace viewer (loopback by default)."""

from __future__ import annotations

import argparse
import logging
import sys

from vidreason.agent.options import add_settings_args, settings_from_args

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be an integer, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 0..65535, got {port}")
    return port


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ui",
        help="web trace viewer: videos, runs, live questions, steps tied to the video",
        description="Serve the trace viewer on http://HOST:PORT (loopback unless --host says otherwise).",
    )
    p.add_argument("--host", default=DEFAULT_HOST, help=f"interface to bind (default {DEFAULT_HOST})")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)")
    p.add_argument(
        "--video",
        action="append",
        default=[],
        metavar="VIDEO",
        help="register a video file up front (repeatable; 'sample' for the demo clip)",
    )
    add_settings_args(p)
    p.set_defaults(func=cmd_ui)


def cmd_ui(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError as e:  # pragma: no cover - the ui extra is installed in CI
        from vidreason.tools.core.errors import ConfigError

        raise ConfigError("the viewer needs fastapi and uvicorn: pip install 'vidreason[ui]'") from e
    from vidreason.agent.samples import resolve_video
    from vidreason.ui.app import create_app
    from vidreason.ui.security import exposure_warning

    settings = settings_from_args(args)
    warning = exposure_warning(args.host, args.port)
    if warning:
        print(warning, file=sys.stderr)
    app = create_app(settings, host=args.host, videos=[resolve_video(v, settings.cache_dir) for v in args.video])
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"vidreason ui: http://{shown}:{args.port}/  (cache {settings.cache_dir}; Ctrl-C stops)",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
