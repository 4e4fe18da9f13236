"""Model parts parked on disk until first needed: an index build encodes only images, so a CPU encoder's text
tower (242 MB of ViT-B/32's 577 MB in fp32) waits in an anonymous file in the index cache, and comes back, bit
for bit, the first time a text is encoded."""

from __future__ import annotations

import io
import logging
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class Parked:
    """The top-level parts ``names`` of ``model`` (submodules or parameters) written to an anonymous file in
    ``folder`` (gone when restored or when the process ends) and replaced by storage-less ``meta`` tensors.
    The caller keeps the model from being used (or parked again) meanwhile."""

    def __init__(self, model: Any, names: set[str], folder: Path) -> None:
        import torch

        self._tensors: list[tuple[str, bool, Any]] = []  # (dotted name in model, is a parameter, meta twin)
        folder.mkdir(parents=True, exist_ok=True)
        self._file: io.BufferedRandom | None = tempfile.TemporaryFile(dir=folder, prefix="parked-")  # noqa: SIM115
        self.bytes = 0
        for name in sorted(names):
            part = getattr(model, name)
            if isinstance(part, torch.nn.Parameter):
                named = [(name, part, True)]
            else:
                named = [(f"{name}.{k}", v, True) for k, v in part.named_parameters()]
                named += [(f"{name}.{k}", v, False) for k, v in part.named_buffers()]
            for key, tensor, is_param in named:
                self.bytes += self._file.write(memoryview(_raw(tensor.detach())))  # the bytes as they are
                self._tensors.append((key, is_param, _meta(tensor)))
        for key, is_param, twin in self._tensors:
            _put(model, key, twin, is_param)
        log.debug("parked %s (%.0f MB) until first use", sorted(names), self.bytes / 2**20)

    def restore(self, model: Any) -> None:
        """Load the parts back into ``model`` (once), bit for bit."""
        import torch

        if self._file is None:
            return
        self._file.seek(0)
        for key, is_param, twin in self._tensors:
            tensor = torch.empty(twin.shape, dtype=twin.dtype)
            raw = _raw(tensor)
            if self._file.readinto(memoryview(raw)) != raw.nbytes:
                raise OSError(f"parked tensor {key}: the file ended early")
            _put(model, key, tensor, is_param)
        self._file.close()
        self._file = None


def _raw(tensor: Any) -> Any:
    """The bytes of a contiguous CPU tensor (any dtype, bf16 included) as a uint8 numpy view, no copy."""
    import torch

    return tensor.contiguous().reshape(-1).view(torch.uint8).numpy()


def _put(model: Any, key: str, tensor: Any, is_param: bool) -> None:
    """Set the parameter or buffer ``key`` of ``model`` to ``tensor`` (a parameter keeps ``requires_grad``)."""
    import torch

    owner, _, leaf = key.rpartition(".")
    module = model.get_submodule(owner) if owner else model
    if is_param:
        old = getattr(module, leaf)
        setattr(module, leaf, torch.nn.Parameter(tensor, requires_grad=old.requires_grad))
    else:
        module._buffers[leaf] = tensor


def _meta(tensor: Any) -> Any:
    return tensor.detach().to("meta")  # shape and dtype, no storage


def text_parts(model: Any) -> set[str]:
    """The top-level names of an open_clip model's text side (everything but the image tower and the logit
    scale/bias)."""
    names = {n for n, _ in model.named_children()} | {n for n, _ in model.named_parameters(recurse=False)}
    return names - {"visual", "logit_scale", "logit_bias"}


__all__ = ["Parked", "text_parts"]
