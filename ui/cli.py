"""``vidreason ui``: serve the trace viewer (loopback by default)."""

from __future__ import annotations

import argparse
import logging
import sys

from vidreason.agent.options import DEFAULT_HOST, DEFAULT_PORT, add_settings_args, port_number, settings_from_args
from vidreason.tools.core.errors import ConfigError
from vidreason.ui.security import MAX_BODY_BYTES, is_loopback

log = logging.getLogger(__name__)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ui",
        help="web trace viewer: videos, runs, live questions, steps tied to the video",
        description="Serve the trace viewer on http://HOST:PORT (loopback unless --host says otherwise).",
    )
    p.add_argument("--host", default=DEFAULT_HOST, help=f"interface to bind (default {DEFAULT_HOST})")
    p.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)")
    p.add_argument(
        "--video",
        action="append",
        default=[],
        metavar="VIDEO",
        help="register a video file up front (repeatable; 'sample' for the demo clip)",
    )
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name (or address) clients use to reach the viewer; needed with a non-loopback --host "
        "(repeatable); other Host and Origin headers are refused",
    )
    p.add_argument(
        "--allow",
        action="append",
        default=None,
        metavar="DIR",
        help="a folder videos may be registered from through the page (repeatable; default: anywhere on "
        "loopback, nowhere on another interface)",
    )
    p.add_argument("--max-body", type=_positive, default=MAX_BODY_BYTES, metavar="BYTES", help="request body limit")
    p.add_argument("--max-runs", type=_positive, default=2, help="questions answered at once (default 2)")
    p.add_argument("--max-queued", type=int, default=8, help="questions waiting at most (default 8)")
    add_settings_args(p)
    p.set_defaults(func=cmd_ui)


def cmd_ui(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError as e:  # pragma: no cover - the ui extra is installed in CI
        raise ConfigError("the viewer needs fastapi and uvicorn: pip install 'vidreason[ui]'") from e
    from vidreason.agent.samples import resolve_video
    from vidreason.ui.app import create_app
    from vidreason.ui.security import exposure_warning

    settings = settings_from_args(args)
    if not is_loopback(args.host) and not args.allowed_host:
        raise ConfigError(
            f"--host {args.host} needs --allowed-host NAME: the host name(s) clients use to reach this machine "
            "(other Host headers are refused, against DNS rebinding)"
        )
    if args.max_queued < 0:
        raise ConfigError(f"--max-queued must be >= 0, got {args.max_queued}")
    warning = exposure_warning(args.host, args.port)
    if warning:
        print(warning, file=sys.stderr)
    app = create_app(
        settings,
        host=args.host,
        videos=[resolve_video(v, settings.cache_dir) for v in args.video],
        allowed_hosts=args.allowed_host,
        allow_roots=args.allow,
        max_body_bytes=args.max_body,
        max_runs=args.max_runs,
        max_queued=args.max_queued,
    )
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"vidreason ui: http://{shown}:{args.port}/  (cache {settings.cache_dir}; Ctrl-C stops)",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
