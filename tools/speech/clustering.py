"""Speaker clustering of GE2E window embeddings.

GE2E vectors are all non-negative, so raw cosines bunch together (0.64-0.85 between any two voices); centred on
the recording's mean they separate (about +0.3 within a speaker, -0.2 between). The number of speakers is the
position of the largest gap among the smallest eigenvalues of the normalised graph Laplacian of the (clipped)
cosine similarities, at most ``max_speakers``, unless it is given; windows are then clustered by average
linkage on cosine distance. Clusters with fewer than ``min_windows`` windows (about 3 s of speech) are merged
into their nearest cluster: a voice heard that briefly cannot be told apart, and one voice split into small
clusters (short single-speaker recordings) becomes one speaker again.
"""

from __future__ import annotations

import numpy as np


def centre(emb: np.ndarray) -> np.ndarray:
    """Rows centred on their mean (when there are several) and scaled to unit length."""
    e = emb - emb.mean(axis=0) if len(emb) > 1 else emb
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)


def eigengap_count(x: np.ndarray, max_speakers: int) -> int:
    """Number of clusters from the eigengap of the normalised Laplacian of ``clip(x @ x.T, 0, 1)``."""
    n = len(x)
    if n < 3 or max_speakers < 2:
        return 1
    sim = np.clip(x @ x.T, 0.0, 1.0)
    d = 1.0 / np.sqrt(np.maximum(sim.sum(axis=1), 1e-9))
    lap = np.eye(n) - sim * d[:, None] * d[None, :]
    ev = np.sort(np.linalg.eigvalsh(lap))[: max_speakers + 1]
    return int(np.argmax(np.diff(ev)[:max_speakers])) + 1


def average_linkage(x: np.ndarray, k: int) -> np.ndarray:
    """Labels ``0..k-1`` from average-linkage clustering on cosine distance."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if k <= 1 or len(x) < 2:
        return np.zeros(len(x), dtype=np.int64)
    tree = linkage(x, method="average", metric="cosine")
    labels = fcluster(tree, t=min(k, len(x)), criterion="maxclust") - 1
    return _renumber(labels)


def _renumber(labels: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.astype(np.int64)


def _centroids(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    c = np.stack([x[labels == k].mean(axis=0) for k in range(int(labels.max()) + 1)])
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-9)


def merge_small(x: np.ndarray, labels: np.ndarray, min_windows: int) -> np.ndarray:
    """Clusters smaller than ``min_windows`` joined to the cluster with the most similar centroid, smallest
    first, until every cluster is big enough or one is left."""
    labels = _renumber(labels)
    while labels.max() > 0:
        sizes = np.bincount(labels)
        small = int(np.argmin(sizes))
        if sizes[small] >= min_windows:
            break
        c = _centroids(x, labels)
        sims = c @ c[small]
        sims[small] = -np.inf
        labels = _renumber(np.where(labels == small, int(np.argmax(sims)), labels))
    return labels


def cluster_embeddings(
    emb: np.ndarray,
    speakers_count: int | None,
    max_speakers: int,
    min_windows: int,
    max_windows: int = 2000,
) -> tuple[np.ndarray, np.ndarray]:
    """Speaker labels ``[N]`` of window embeddings ``[N, D]`` and unit centroids ``[K, D]`` in the centred
    space. Longer inputs than ``max_windows`` are clustered on an evenly spread sample and every window then
    takes its nearest centroid (memory and time stay bounded on hours of speech)."""
    x = centre(emb)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, emb.shape[1] if emb.ndim == 2 else 0))
    sample = np.unique(np.linspace(0, n - 1, min(n, max_windows)).round().astype(np.int64))
    xs = x[sample]
    k = min(speakers_count, len(xs)) if speakers_count else eigengap_count(xs, max_speakers)
    labels = average_linkage(xs, k)
    if not speakers_count:
        labels = merge_small(xs, labels, max(1, round(min_windows * len(xs) / n)))
    centroids = _centroids(xs, labels)
    full = labels if len(sample) == n else np.argmax(x @ centroids.T, axis=1)
    return _renumber(full), centroids if len(sample) == n else _centroids(x, _renumber(full))


__all__ = ["average_linkage", "centre", "cluster_embeddings", "eigengap_count", "merge_small"]
