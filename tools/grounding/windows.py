"""Window enumeration, static scores and exact top-k NMS selection for :func:`~.localize.localize`
(spec: ../shared/docs/tfvtg-algorithm.md, section 1, steps 4-5), without per-window arrays.

A :class:`WindowTable` describes the windows of one ``(T, reduced stride, longest window)`` triple and does
not depend on the curve, so one table serves every text and every query of a video. Windows are grouped in
*tiles*: ``tile`` consecutive start frames of one length, kept in the reference's enumeration order (length
ascending, then start ascending).

Selection is exact. The static score ``f(i, o) = i / k - (total - i) / o`` of a window (``i`` its masked sum,
``o`` the masked-in frames outside it) grows with ``i`` and, as ``i <= total``, with ``o``. Masked values are
``>= 0`` (the mask threshold is ``>= 0``), so the prefix sums never decrease and a tile's largest ``i`` and
largest ``o`` are read off four prefix-sum entries. Evaluated with the same floating-point operations, in the
same order, ``f`` at those extremes is an upper bound of every window's computed score in the tile: each
correctly rounded operation is monotone. Only tiles whose bound reaches the score of the m-th best window seen
are evaluated; that set is exactly the first windows of the reference's stable descending sort (ties
included), and the greedy NMS walk over a prefix of the sorted list equals the walk over the whole list
until the prefix runs out (then a longer prefix is taken).
"""

from __future__ import annotations

import numpy as np

#: Windows whose static score is below this are dropped (spec section 1, step 4).
MIN_STATIC = -1e3
#: Consecutive start frames per tile.
TILE = 32
#: Tables with at most this many windows are scored in full (bounds would cost more than they save).
DENSE_LIMIT = 20_000
#: At most this many windows of a chunk are walked with a pairwise IoU matrix.
PAIRWISE = 128
#: Tables of at most this many windows keep their pairwise NMS matrix once they are used twice.
MATRIX_LIMIT = 2048
_F32 = np.float32
_ZERO = np.float32(0)


class WindowTable:
    """Curve-independent geometry of every window ``[j, j + k)`` with ``k = stride, 2 * stride, ... <=
    min(T, max_len)`` and ``j = 0 .. T - k`` (spec section 1, step 4), in tiles of ``tile`` starts."""

    def __init__(self, n_frames: int, stride: int, max_len: int, tile: int = TILE):
        n = int(n_frames)
        self.n, self.stride, self.tile = n, int(stride), int(tile)
        rows = max(min(n, int(max_len)), 0) // self.stride
        lengths = self.stride * np.arange(1, rows + 1, dtype=np.int64)
        self.n_windows = int(np.sum(n - lengths + 1))
        per_row = -(-n // self.tile)
        row = np.repeat(np.arange(rows, dtype=np.int64), per_row)
        k = lengths[row]
        j0 = np.tile(np.arange(per_row, dtype=np.int64) * self.tile, rows)
        valid = j0 <= n - k
        self.k, self.j0 = k[valid], j0[valid]
        self.j1 = np.minimum(self.j0 + self.tile - 1, n - self.k)  # last start of the tile
        self.k_f = self.k.astype(np.float64)
        self.offsets = np.arange(self.tile, dtype=np.int64)
        self.block_starts = np.arange(0, max(n, 1), self.tile)
        self.flat: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.gather_hi = self.gather_lo = np.zeros((2, 0), np.int64)
        self.uses = 0
        self._suppression: dict[float, np.ndarray] = {}
        for a in (self.k, self.j0, self.j1, self.k_f, self.offsets, self.block_starts):
            a.setflags(write=False)

    def flat_windows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every window as flat arrays ``(start, start + length, length, float length)`` in enumeration
        order (built on first use; for tables scored in full)."""
        if self.flat is None:
            counts = self.j1 - self.j0 + 1
            k = np.repeat(self.k, counts)
            first = np.cumsum(counts) - counts  # position of each tile's first window
            j = np.repeat(self.j0 - first, counts) + np.arange(k.size, dtype=np.int64)
            flat = (j, j + k, k, k.astype(np.float64))
            # indices into CurveSums.sums.ravel(): row 0 prefix sums, row 1 prefix counts (n + 1 each)
            self.gather_hi = np.stack([j + k, j + k + self.n + 1])
            self.gather_lo = np.stack([j, j + self.n + 1])
            for a in (*flat, self.gather_hi, self.gather_lo):
                a.setflags(write=False)
            self.flat = flat
        return self.flat

    def suppression(self, thresh: float) -> np.ndarray:
        """``[N, N]`` bool: keeping window a drops window b (float32 IoU > ``thresh``; a drops itself).
        Curve-independent: built on first use and kept (tables of at most ``MATRIX_LIMIT`` windows)."""
        key = float(_F32(thresh))
        out = self._suppression.get(key)
        if out is None:
            j, jk, _, _ = self.flat_windows()
            n32 = _F32(self.n)
            s, e = j.astype(_F32) / n32, jk.astype(_F32) / n32
            out = _suppressed(s[:, None], e[:, None], s, e, _F32(thresh))
            np.fill_diagonal(out, True)
            out.setflags(write=False)
            self._suppression[key] = out
        return out

    @property
    def n_tiles(self) -> int:
        return int(self.k.size)


class CurveSums:
    """Exact float64 prefix sums of one masked curve (masked values are multiples of 2**-26 below 2**27 in
    total, so every partial sum is exact) and prefix counts of its masked-in frames."""

    def __init__(self, masked: np.ndarray, mask: np.ndarray, dyn: np.ndarray | None):
        n = masked.size
        values = np.empty((2, n))
        values[0], values[1] = masked, mask
        #: row 0: prefix sums of the masked curve, row 1: prefix counts of masked-in frames (both float64)
        self.sums = np.zeros((2, n + 1))
        np.add.accumulate(values, axis=1, out=self.sums[:, 1:])
        self.prefix, self.count = self.sums[0], self.sums[1]
        self.total, self.total_n = self.prefix[-1], self.count[-1]
        self.dyn = dyn  # per-start dynamic score added to the rank (rank_with_dynamic), else None


def _static(sums: CurveSums, inner: np.ndarray, count: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``inner / k - (total - inner) / outer_n``: the reference's static score, float64, one fixed order of
    operations (the bound relies on it). ``outer_n == 0`` gives NaN or -inf (dropped by the caller; run
    under ``np.errstate(divide="ignore", invalid="ignore")``)."""
    out: np.ndarray = inner / k - (sums.total - inner) / (sums.total_n - count)
    return out


def tile_bounds(table: WindowTable, sums: CurveSums) -> np.ndarray:
    """Upper bound of the rank of every window of each tile (-inf where every window is dropped)."""
    p, c = sums.prefix, sums.count
    inner_max = p[table.j1 + table.k] - p[table.j0]
    count_min = np.maximum(c[table.j0 + table.k] - c[table.j1], 0.0)
    bound = _static(sums, inner_max, count_min, table.k_f)
    bound[~(sums.total_n - count_min > 0)] = -np.inf
    if sums.dyn is not None and sums.dyn.size:
        block_max = np.maximum.reduceat(sums.dyn, table.block_starts)
        bound = bound + block_max[table.j0 // table.tile]
    return bound


def score_tiles(table: WindowTable, sums: CurveSums, tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks of the kept windows of ``tiles`` (ascending tile indices), in enumeration order:
    ``(rank float64, start int64, length int64)``. Dropped windows (static NaN or below -1e3) are left out."""
    k = table.k[tiles][:, None]
    j = table.j0[tiles][:, None] + table.offsets[None, :]
    inside = j <= table.j1[tiles][:, None]
    j = np.minimum(j, table.j1[tiles][:, None])
    inner, count = sums.sums[:, j + k] - sums.sums[:, j]
    static = _static(sums, inner, count, table.k_f[tiles][:, None])
    keep = inside & (static >= MIN_STATIC)  # also drops NaN
    rank = static[keep]
    starts = j[keep]
    if sums.dyn is not None:
        rank = rank + sums.dyn[starts]
    return rank, starts, np.broadcast_to(k, j.shape)[keep]


def _suppressed(s: np.ndarray, e: np.ndarray, s0: np.ndarray, e0: np.ndarray, thr: np.float32) -> np.ndarray:
    """float32 ``IoU > thr`` with the reference's formula; windows have positive length, so the union does
    too (no division by zero)."""
    inter = np.minimum(e, e0) - np.maximum(s, s0)
    union = np.maximum(e, e0) - np.minimum(s, s0)
    out: np.ndarray = np.maximum(inter, _ZERO) / union > thr
    return out


def _window_sums(table: WindowTable, sums: CurveSums) -> np.ndarray:
    """``[2, N]``: masked sum and masked-in count of every window (two flat gathers, the fastest way)."""
    flat = sums.sums.ravel()
    out: np.ndarray = flat.take(table.gather_hi) - flat.take(table.gather_lo)
    return out


def score_all(table: WindowTable, sums: CurveSums) -> tuple[np.ndarray, np.ndarray]:
    """Ranks of every kept window and their indices in the table's flat arrays (enumeration order)."""
    j, _, _, k_f = table.flat_windows()
    inner, count = _window_sums(table, sums)
    static = _static(sums, inner, count, k_f)
    ids = np.flatnonzero(static >= MIN_STATIC)  # also drops NaN
    rank = static[ids] if sums.dyn is None else static[ids] + sums.dyn[j[ids]]
    return rank, ids


def _select_matrix(
    table: WindowTable, sums: CurveSums, thresh: float, top_k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy NMS without sorting, for reused small tables: the best window still in play (the first one
    on ties, as a stable sort would put it) is kept and every window it suppresses leaves play, through
    the table's precomputed suppression matrix."""
    j, _, k, k_f = table.flat_windows()
    inner, count = _window_sums(table, sums)
    rank = _static(sums, inner, count, k_f)
    dropped = ~(rank >= MIN_STATIC)  # also NaN
    if sums.dyn is not None:
        rank = rank + sums.dyn[j]
    np.putmask(rank, dropped, -np.inf)
    suppress = table.suppression(thresh)
    kept: list[int] = []
    best: list[float] = []
    for _ in range(top_k):
        w = int(rank.argmax())
        value = float(rank[w])
        if value == -np.inf:
            break
        kept.append(w)
        best.append(value)
        np.putmask(rank, suppress[w], -np.inf)
    return np.asarray(best), j[kept], k[kept]


def _positions(starts: np.ndarray, lengths: np.ndarray, n32: np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Window bounds ``j / T`` and ``(j + k) / T`` as float32 divisions, as the reference computes them."""
    return starts.astype(_F32) / n32, (starts + lengths).astype(_F32) / n32


def nms_walk(starts: np.ndarray, lengths: np.ndarray, n: int, thresh: float, top_k: int, chunk: int = 64) -> list[int]:
    """Greedy NMS over windows already in rank order (best first): positions of the first ``top_k``
    survivors. A window is dropped when its float32 IoU with a kept one exceeds float32 ``thresh`` (spec
    section 1, step 5). Works in growing chunks: a chunk is first tested against the windows kept so far;
    the few that pass are walked with their pairwise IoU matrix (or one kept window at a time when many
    pass)."""
    n32, thr = _F32(n), _F32(thresh)
    kept: list[int] = []
    ks, ke = np.empty((top_k, 1), _F32), np.empty((top_k, 1), _F32)
    pos, total = 0, starts.size
    while len(kept) < top_k and pos < total:
        s, e = _positions(starts[pos : pos + chunk], lengths[pos : pos + chunk], n32)
        m = len(kept)
        idx = np.flatnonzero(~_suppressed(s, e, ks[:m], ke[:m], thr).any(axis=0)) if m else np.arange(s.size)
        if idx.size:
            s, e = s[idx], e[idx]
            over = _suppressed(s[:, None], e[:, None], s, e, thr) if idx.size <= PAIRWISE else None
            alive = np.ones(idx.size, dtype=bool)
            q = 0
            while True:
                ks[len(kept)], ke[len(kept)] = s[q], e[q]
                kept.append(pos + int(idx[q]))
                if len(kept) >= top_k:
                    break
                alive[q] = False
                rest = slice(q + 1, None)
                alive[rest] &= ~(over[q, rest] if over is not None else _suppressed(s[rest], e[rest], s[q], e[q], thr))
                nxt = int(alive[rest].argmax()) + q + 1 if q + 1 < idx.size else idx.size
                if nxt >= idx.size or not alive[nxt]:
                    break
                q = nxt
        pos += chunk
        chunk = min(4 * chunk, 1 << 14)
    return kept


def _select_dense(
    table: WindowTable, sums: CurveSums, thresh: float, top_k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every window scored, sorted and walked (small tables; see :func:`_select_matrix` for reused ones)."""
    if table.uses > 1 and table.n_windows <= MATRIX_LIMIT:
        return _select_matrix(table, sums, thresh, top_k)
    rank, ids = score_all(table, sums)
    order = np.argsort(-rank, kind="stable")
    rank, ids = rank[order], ids[order]
    j, _, k, _ = table.flat_windows()
    kept = nms_walk(j[ids], k[ids], table.n, thresh, top_k)
    return rank[kept], j[ids[kept]], k[ids[kept]]


def _select_bounded(
    table: WindowTable, sums: CurveSums, thresh: float, top_k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Only the tiles that can hold one of the best ``m`` windows are scored (``m`` grows until the NMS walk
    finds ``top_k`` survivors among them, or every window is scored)."""
    bounds = tile_bounds(table, sums)
    live = np.flatnonzero(bounds > -np.inf)
    m = max(256, 32 * top_k)
    while True:
        threshold = -np.inf
        g = min(live.size, 2 * -(-m // table.tile))  # tiles with the highest bounds hold m windows twice
        if m < table.n_windows and g < live.size:
            first = np.sort(live[np.argpartition(-bounds[live], g - 1)[:g]])
            seen = score_tiles(table, sums, first)[0]
            if seen.size >= m:  # at least m windows score this much: every one of the best m does too
                threshold = -np.partition(-seen, m - 1)[m - 1]
        tiles = np.flatnonzero(bounds >= threshold) if threshold > -np.inf else live
        rank, starts, lengths = score_tiles(table, sums, tiles)
        if threshold > -np.inf:
            sel = rank >= threshold
            rank, starts, lengths = rank[sel], starts[sel], lengths[sel]
        order = np.argsort(-rank, kind="stable")
        rank, starts, lengths = rank[order], starts[order], lengths[order]
        kept = nms_walk(starts, lengths, table.n, thresh, top_k)
        if len(kept) >= top_k or threshold == -np.inf:
            return rank[kept], starts[kept], lengths[kept]
        m *= 4


def select(
    table: WindowTable, sums: CurveSums, thresh: float, top_k: int, *, dense_limit: int = DENSE_LIMIT
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``top_k`` NMS survivors of the stable descending sort of all windows by rank:
    ``(rank, start, length)`` arrays, best first (empty when no window is kept). Tables of more than
    ``dense_limit`` windows are scored through tile bounds (exact, see the module docstring)."""
    table.uses += 1
    with np.errstate(divide="ignore", invalid="ignore"):  # windows with nothing outside: NaN / -inf, dropped
        if table.n_windows <= dense_limit or sums.total_n == 0:
            return _select_dense(table, sums, thresh, top_k)
        return _select_bounded(table, sums, thresh, top_k)
