"""The ``vidreason`` command line. Exit codes: 0 ok, 1 input/processing error (one line), 2 usage error.

Subcommands live with their feature and register themselves here through ``COMMANDS`` ("module:function"
entries called with the argparse subparsers object), so this module stays small and imports nothing heavy.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from vidreason import __version__
from vidreason.tools.core.registry import import_target

#: modules whose ``register(subparsers)`` adds subcommands, in help order
COMMANDS: list[str] = [
    "vidreason.agent.cli.index:register",
    "vidreason.agent.cli.ask:register",
    "vidreason.evals.cli:add_eval_parser",
    "vidreason.ui.cli:register",
    "vidreason.agent.mcp.cli:register",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidreason",
        description="Agentic video reasoning: index videos, ground queries, ask questions with cited frames.",
    )
    parser.add_argument("--version", action="version", version=f"vidreason {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for entry in COMMANDS:
        try:
            register = import_target(entry)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("vidreason"):
                continue  # feature not installed in this build
            raise
        register(sub)
    return parser


def _error_line(error: BaseException) -> str:
    """The message of ``error`` on one line (an OSError as ``path: reason``)."""
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}"
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def quiet_progress_bars() -> None:
    """Hide third-party progress bars (``Loading weights``, downloads, tqdm loops): the environment switches
    take effect in libraries imported later, the calls in those already imported."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TQDM_DISABLE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    for module, call in (
        ("huggingface_hub.utils", "disable_progress_bars"),
        ("transformers.utils.logging", "disable_progress_bar"),
    ):
        loaded = sys.modules.get(module)  # only libraries already imported need telling (no import here)
        if loaded is not None:
            getattr(loaded, call)()


def _stdout_closed() -> int:
    """The reader of stdout went away (``vidreason trace --json | head``): stop quietly, like other tools."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe


def main(argv: Sequence[str] | None = None) -> int:
    from vidreason.tools.core.errors import VidreasonError, one_line

    for stream in (sys.stdout, sys.stderr):  # undecodable file names and text print escaped, never crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except VidreasonError as e:  # raised by argument converters such as resolve_video
        print(f"vidreason: error: {_error_line(e)}", file=sys.stderr)
        return 1
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.ERROR if args.quiet else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.quiet:
        quiet_progress_bars()
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except VidreasonError as e:
        if args.debug:
            raise
        print(f"vidreason: error: {_error_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vidreason: interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # the file system refused something (permissions, a file where a folder should be)
        if args.debug:
            raise
        print(f"vidreason: error: {_error_line(e)}", file=sys.stderr)
        return 1
    except Exception as e:
        if args.debug:
            raise
        print(
            f"vidreason: unexpected error: {one_line(e)} (rerun with --debug for a traceback)",
            file=sys.stderr,
        )
        return 1


def run() -> NoReturn:
    """The ``vidreason`` program: ``main()``, then exit with its code. When a call that stopped waiting (an LLM
    request past its time limit) still has its worker thread running, the process ends with ``os._exit`` once
    its output is flushed: the interpreter's shutdown must not wait on a thread blocked on a socket or mid-import
    (nothing is lost: results and traces are written before ``main`` returns)."""
    from vidreason.tools.core.deadline import abandoned_workers

    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    if abandoned_workers():
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
