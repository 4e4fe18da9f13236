"""Voting re-rank of proposals (spec: ../shared/docs/tfvtg-algorithm.md, section 2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, overload

import numpy as np

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.grounding.proposals import as_triples, iou_matrix

P = TypeVar("P")


def vote_scores(triples: np.ndarray, gamma: float = 0.6) -> np.ndarray:
    """Score of proposal j: ``sum_k IoU(p_k, p_j) ** gamma * max(conf_k, 0)`` (k includes j).

    Each score is summed over a contiguous row, as the reference sums one vector per proposal. A proposal
    with an empty union against an identical zero-length proposal scores NaN, as in the reference."""
    weights = np.clip(triples[:, 2], 0, None)
    with np.errstate(invalid="ignore"):
        terms = iou_matrix(triples[:, 0], triples[:, 1]) ** gamma * weights[None, :]
    scores: np.ndarray = np.ascontiguousarray(terms).sum(axis=1)
    return scores


def vote_order(triples: np.ndarray, gamma: float = 0.6) -> np.ndarray:
    """Indices sorting the proposals by vote score, descending; stable, NaN scores last."""
    return np.argsort(-vote_scores(triples, gamma), kind="stable")


@overload
def vote(proposals: np.ndarray, gamma: float = 0.6) -> np.ndarray: ...
@overload
def vote(proposals: Sequence[P], gamma: float = 0.6) -> list[P]: ...
def vote(proposals: Sequence[P] | np.ndarray, gamma: float = 0.6) -> list[P] | np.ndarray:
    """Re-rank proposals by IoU-weighted voting (spec section 2; the reference's ``select_proposal``).

    Accepts :class:`~vidreason.tools.grounding.Proposal` objects, ``(start, end, conf)`` sequences, or an
    ``[N, 3]`` array, and returns the same items (original confidences) in the new order: a list for a
    sequence, an array for an array. Ties keep their input order (stable sort)."""
    if gamma <= 0:
        raise ConfigError(f"gamma must be > 0; got {gamma!r}")
    if isinstance(proposals, np.ndarray):
        if proposals.size == 0:
            return proposals
        return proposals[vote_order(as_triples(proposals), gamma)]
    items = list(proposals)
    if not items:
        return []
    order = vote_order(as_triples(items), gamma)
    return [items[i] for i in order.tolist()]
