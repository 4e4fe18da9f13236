"""Arrays written row block by row block straight into an ``.npy`` file (frame embeddings, histograms), so a
stage's memory does not grow with the video's length."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_MAGIC = b"\x93NUMPY\x01\x00"
_HEADER_BYTES = 128  # magic + length + dict, padded: room for any 2-D shape, a multiple of 64 as numpy writes


def _header(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    meta = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    body = repr(meta).encode("latin1")
    room = _HEADER_BYTES - len(_MAGIC) - 2 - 1
    if len(body) > room:
        raise ValueError(f"npy header for shape {shape} does not fit {_HEADER_BYTES} bytes")
    text = body + b" " * (room - len(body)) + b"\n"
    return _MAGIC + struct.pack("<H", len(text)) + text


class NpyWriter:
    """Appends ``[n, ...]`` blocks of one dtype and row shape to ``path``; :meth:`close` writes the final
    header and returns the array memory-mapped read-only (an empty ``[0, 0]`` array when nothing came)."""

    def __init__(self, path: Path, dtype: np.dtype | type) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self.row_shape: tuple[int, ...] | None = None
        self._file = path.open("wb")
        self._file.write(b"\0" * _HEADER_BYTES)

    def append(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype=self.dtype)
        if self.row_shape is None:
            self.row_shape = tuple(block.shape[1:])
        elif tuple(block.shape[1:]) != self.row_shape:
            raise ValueError(f"{self.path.name}: rows of shape {block.shape[1:]} after {self.row_shape}")
        self._file.write(block.tobytes())
        self.rows += len(block)

    def close(self) -> np.ndarray:
        shape = (self.rows, *(self.row_shape if self.row_shape is not None else (0,)))
        self._file.seek(0)
        self._file.write(_header(shape, self.dtype))
        self._file.close()
        if self.rows == 0:
            return np.zeros(shape, self.dtype)
        return np.load(self.path, mmap_mode="r")

    @staticmethod
    def wrote(array: np.ndarray, path: Path) -> bool:
        """Whether ``array`` is the memory map of ``path`` that a writer returned (nothing left to save)."""
        name = getattr(array, "filename", None)
        return isinstance(array, np.memmap) and name is not None and Path(name) == path


__all__ = ["NpyWriter"]
