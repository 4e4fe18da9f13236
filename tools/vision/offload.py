"""Model parts parked on disk until first needed: an index build encodes only images, so a CPU encoder's text
tower (242 MB of ViT-B/32's 577 MB in fp32) waits in an anonymous file in the index cache, and comes back, bit
for bit, the first time a text is encoded."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)


class Parked:
    """The top-level parts ``names`` of ``model`` (submodules or parameters) written to an anonymous file in
    ``folder`` (gone when restored or when the process ends) and replaced by storage-less ``meta`` tensors.
    The caller keeps the model from being used (or parked again) meanwhile."""

    def __init__(self, model: Any, names: set[str], folder: Path) -> None:
        import torch

        self._tensors: list[tuple[str, bool]] = []  # (dotted name in model, is a parameter)
        state: dict[str, Any] = {}
        for name in sorted(names):
            part = getattr(model, name)
            if isinstance(part, torch.nn.Parameter):
                named = [(name, part, True)]
            else:
                named = [(f"{name}.{k}", v, True) for k, v in part.named_parameters()]
                named += [(f"{name}.{k}", v, False) for k, v in part.named_buffers()]
            for key, tensor, is_param in named:
                state[key] = tensor.detach()
                self._tensors.append((key, is_param))
        folder.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] | None = tempfile.TemporaryFile(dir=folder, prefix="parked-")  # noqa: SIM115
        torch.save(state, self._file)
        self.bytes = sum(v.numel() * v.element_size() for v in state.values())
        del state
        for key, is_param in self._tensors:
            _put(model, key, _meta(_get(model, key)), is_param)
        log.debug("parked %s (%.0f MB) until first use", sorted(names), self.bytes / 2**20)

    def restore(self, model: Any) -> None:
        """Load the parts back into ``model`` (once)."""
        import torch

        if self._file is None:
            return
        self._file.seek(0)
        state = torch.load(self._file, map_location="cpu", weights_only=True)
        for key, is_param in self._tensors:
            _put(model, key, state.pop(key), is_param)
        self._file.close()
        self._file = None


def _get(model: Any, key: str) -> Any:
    owner, _, leaf = key.rpartition(".")
    return getattr(model.get_submodule(owner) if owner else model, leaf)


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
    return tensor.detach().to("meta")


def text_parts(model: Any) -> set[str]:
    """The top-level names of an open_clip model's text side (everything but the image tower and the logit
    scale/bias)."""
    names = {n for n, _ in model.named_children()} | {n for n, _ in model.named_parameters(recurse=False)}
    return names - {"visual", "logit_scale", "logit_bias"}


__all__ = ["Parked", "text_parts"]
