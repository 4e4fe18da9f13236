"""GE2E speaker embeddings (a 3-layer LSTM over 40-band mel frames, 256-d output), with the trained weights
that the ``resemblyzer`` wheel ships (``resemblyzer/pretrained.pt``, Apache-2.0, Resemble AI).

The weights file is found by path (``importlib.util.find_spec``) without importing the package: importing it
pulls in librosa and webrtcvad, which are slow or broken on current setuptools. The encoder and its features
are written here: power mel spectrogram (25 ms Hann windows every 10 ms, 40 Slaney-scale bands, no log) of
audio raised to -30 dBFS when quieter; the last LSTM layer's final hidden state -> linear -> ReLU -> L2 norm.

    encoder = load_encoder(models)                 # through the model registry
    vectors = encoder.embed(mel_frames(audio), [(0.0, 1.5), (0.75, 2.25)])   # [2, 256], unit length
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidreason.tools.core.errors import ModelUnavailable
from vidreason.tools.core.models import ModelKey, ModelRegistry, default_registry

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
FRAME_S = HOP / SAMPLE_RATE
EMBED_DIM = 256
TARGET_DBFS = -30.0
MODEL_ID = "ge2e:resemblyzer-pretrained"


def weights_path() -> Path:
    """``pretrained.pt`` inside the installed ``resemblyzer`` package (not imported); ``ModelUnavailable`` when
    it is missing."""
    try:
        spec = importlib.util.find_spec("resemblyzer")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
        if path.is_file():
            return path
    raise ModelUnavailable(
        "speaker embeddings need the GE2E weights of the 'resemblyzer' package: `pip install resemblyzer` "
        "(only its weights file is used; `pip install --no-deps resemblyzer` is enough)"
    )


# ---------------------------------------------------------------------------------------------- features
def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's scale: linear below 1 kHz (3 mel per 200 Hz), logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    step = np.log(6.4) / 27.0
    return np.where(hz < 1000.0, 3.0 * hz / 200.0, 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / step)


def _mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    step = np.log(6.4) / 27.0
    return np.where(mel < 15.0, 200.0 * mel / 3.0, 1000.0 * np.exp(step * (mel - 15.0)))


def mel_basis(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular filters ``[n_mels, n_fft // 2 + 1]`` on the Slaney mel scale, each scaled to unit area."""
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lo) / (mid - lo)
    falling = (hi - bins[None, :]) / (hi - mid)
    tri = np.clip(np.minimum(rising, falling), 0.0, None)
    return tri * (2.0 / (hi - lo))


_BASIS = mel_basis()
_WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann


def loudness_gain(audio: np.ndarray) -> float:
    """Gain that raises ``audio`` to -30 dBFS RMS (1.0 when it is already as loud or silent)."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
    if rms <= 0:
        return 1.0
    return float(max(1.0, 10 ** ((TARGET_DBFS - 20 * np.log10(rms)) / 20)))


def mel_frames(audio: np.ndarray, gain: float | None = None) -> np.ndarray:
    """Power mel frames ``[T, 40]`` (float32) of float32 16 kHz audio: frame ``t`` is centred on sample
    ``t * 160`` (zero padding at the ends). ``gain``: loudness gain (default :func:`loudness_gain`)."""
    wav = np.asarray(audio, dtype=np.float64) * (loudness_gain(audio) if gain is None else gain)
    padded = np.pad(wav, N_FFT // 2)
    n = 1 + (len(padded) - N_FFT) // HOP
    if n <= 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:n]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    return (power @ _BASIS.T).astype(np.float32)


# ---------------------------------------------------------------------------------------------- encoder
class Ge2eEncoder:
    """The GE2E speaker encoder on CPU (torch, one intra-op thread per call: faster than two on busy cores)."""

    def __init__(self, path: Path, device: str = "cpu") -> None:
        import torch
        from torch import nn

        class _Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lstm = nn.LSTM(N_MELS, EMBED_DIM, num_layers=3, batch_first=True)
                self.linear = nn.Linear(EMBED_DIM, EMBED_DIM)

            def forward(self, mels: torch.Tensor) -> torch.Tensor:
                _, (hidden, _) = self.lstm(mels)
                out = torch.relu(self.linear(hidden[-1]))
                return out / out.norm(dim=1, keepdim=True).clamp_min(1e-9)

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError) as e:
            raise ModelUnavailable(f"cannot read the GE2E weights {path}: {e}") from e
        weights = {k: v for k, v in state.get("model_state", state).items() if k.startswith(("lstm.", "linear."))}
        self.net = _Net()
        self.net.load_state_dict(weights)
        self.net.eval().to(device)
        self.device = device
        self.path = path

    def embed(self, mels: np.ndarray, windows: Sequence[tuple[float, float]]) -> np.ndarray:
        """Unit-length embeddings ``[len(windows), 256]`` of the mel frames inside each ``(start, end)`` window
        (seconds from the first frame); windows of equal length are batched together."""
        import torch

        spans = []
        for a, b in windows:
            s = min(max(0, round(a / FRAME_S)), max(0, len(mels) - 1))
            spans.append((s, max(s + 1, min(len(mels), round(b / FRAME_S)))))
        out = np.zeros((len(spans), EMBED_DIM), dtype=np.float32)
        by_len: dict[int, list[int]] = {}
        for i, (s, e) in enumerate(spans):
            by_len.setdefault(e - s, []).append(i)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                for length, idx in by_len.items():
                    batch = np.stack([mels[spans[i][0] : spans[i][0] + length] for i in idx])
                    out[idx] = self.net(torch.from_numpy(batch).to(self.device)).cpu().numpy()
        finally:
            torch.set_num_threads(threads)
        return out

    def forward_mels(self, mels: np.ndarray) -> np.ndarray:
        """Embedding of one whole mel sequence ``[T, 40]`` (for checks against other implementations)."""
        return self.embed(mels, [(0.0, len(mels) * FRAME_S)])[0]


def load_encoder(models: ModelRegistry | None = None, device: str = "cpu") -> Ge2eEncoder:
    """The GE2E encoder, loaded once per registry."""
    path = weights_path()
    registry = models or default_registry()
    return registry.get(ModelKey("ge2e", str(path), device), lambda: Ge2eEncoder(path, device))


def describe(encoder: Any) -> str:
    return f"{MODEL_ID} ({getattr(encoder, 'path', '?')})"


__all__ = ["FRAME_S", "MODEL_ID", "Ge2eEncoder", "load_encoder", "loudness_gain", "mel_frames", "weights_path"]
