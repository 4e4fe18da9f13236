"""One query end to end: LLM decomposition, sub-query proposals, order constraints and the final vote
(spec: ../shared/docs/tfvtg-algorithm.md, sections 3 and 4; the ``intersection`` merge is a section-5
option)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vidreason.tools.core.errors import ConfigError
from vidreason.tools.grounding.localize import Localizer
from vidreason.tools.grounding.proposals import Proposal, as_triples
from vidreason.tools.grounding.voting import vote

logger = logging.getLogger(__name__)

Merge = Literal["union", "intersection"]
#: The most combinations :func:`combine` enumerates (the reference enumerates all of them).
MAX_COMBINATIONS = 1_000_000


class SubQuery(BaseModel):
    """One entry of ``query_json`` (spec section 3): id 0 holds rewrites of the whole query."""

    model_config = ConfigDict(frozen=True)

    sub_query_id: int | None = None
    descriptions: list[str] = Field(default_factory=list)

    @field_validator("descriptions", mode="before")
    @classmethod
    def _one_string(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Decomposition(BaseModel):
    """A TFVTG-format LLM response (spec section 3); other keys (``reasoning``, ...) are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    relationship: str = "single-query"
    query_json: list[SubQuery] = Field(min_length=1)

    @property
    def rewrites(self) -> list[str]:
        """Rewrites of the whole query (sub-query 0)."""
        return [d for d in self.query_json[0].descriptions if d.strip()]

    @property
    def sub_queries(self) -> list[SubQuery]:
        """Sub-queries proper (positions >= 1 of ``query_json``, in their listed order)."""
        return self.query_json[1:]


def parse_decomposition(response: Mapping[str, Any] | Decomposition | None) -> Decomposition | None:
    """Validate a TFVTG response; ``None`` (treated as single-query, spec section 3) when absent or malformed.
    A malformed response is logged, never silently dropped."""
    if response is None or isinstance(response, Decomposition):
        return response
    if not isinstance(response, Mapping) or "query_json" not in response:
        logger.warning("decomposition has no query_json; grounding the sentence as a single query")
        return None
    try:
        return Decomposition.model_validate(dict(response))
    except ValidationError as e:
        logger.warning("malformed decomposition treated as single-query: %s", e.errors()[:2])
        return None


def pool_ranks(answers: Sequence[Sequence[Proposal]], depth: int = 3) -> list[tuple[float, float, float]]:
    """Rank 0 of every answer, then rank 1 of each, ... up to ``depth`` (spec section 4, steps 1 and 3)."""
    return [a[t].as_tuple() for t in range(depth) for a in answers if len(a) > t]


def combine(
    per_subquery: Sequence[Sequence[Any] | np.ndarray],
    relation: str,
    *,
    merge: Merge = "union",
    gamma: float = 0.6,
    top_n: int = 2,
) -> list[tuple[float, float, float]]:
    """Combine sub-query proposals under the query's relationship (spec section 4.2).

    Every pick of one proposal per sub-query (product order, first sub-query outermost) is checked:
    ``sequentially`` rejects a pick that starts before the previous pick ends; ``simultaneously`` rejects a
    combination whose latest start is after its earliest end; other relations add no constraint. A survivor
    becomes ``[min start, max end]`` (``merge="intersection"``: ``[max start, min end]``, simultaneous only)
    with score ``prod(max(conf, 0))``; survivors are re-ranked by :func:`vote`, the top ``top_n`` returned."""
    if merge not in ("union", "intersection"):
        raise ConfigError(f"merge must be 'union' or 'intersection'; got {merge!r}")
    cands = [as_triples(c) for c in per_subquery]
    if not cands or any(c.shape[0] == 0 for c in cands):
        return []
    sizes = [c.shape[0] for c in cands]
    total = int(np.prod(sizes))
    if total > MAX_COMBINATIONS:
        raise ConfigError(
            f"{total} combinations exceed {MAX_COMBINATIONS}; use constraints.best_assignment (beam search)"
        )
    idx = np.indices(sizes).reshape(len(sizes), -1)
    picks = np.stack([cands[i][idx[i]] for i in range(len(cands))], axis=1)  # [M, n, 3]
    st, en = picks[:, :, 0], picks[:, :, 1]
    keep = np.ones(total, dtype=bool)
    if relation == "sequentially":
        keep &= ~(st[:, 1:] < en[:, :-1]).any(axis=1)
    elif relation == "simultaneously":
        keep &= ~(st.max(axis=1) > en.min(axis=1))
    if not keep.any():
        return []
    picks, st, en = picks[keep], st[keep], en[keep]
    if merge == "intersection" and relation == "simultaneously":
        lo, hi = st.max(axis=1), en.min(axis=1)
    else:
        lo, hi = st.min(axis=1), en.max(axis=1)
    score = np.clip(picks[:, :, 2], 0, None).prod(axis=1)
    merged = np.stack([lo, hi, score], axis=1)
    return [(float(a), float(b), float(c)) for a, b, c in vote(merged, gamma)[:top_n]]


def ground_query(
    score_text: Callable[[str], np.ndarray],
    sentence: str,
    decomposition: Mapping[str, Any] | Decomposition | None,
    duration: float,
    stride: int,
    max_stride: int,
    *,
    merge: Merge = "union",
    gamma: float = 0.6,
    rank_with_dynamic: bool = False,
    localizer: Localizer | None = None,
) -> list[tuple[float, float, float]]:
    """Ground one query sentence on one video: the reference evaluation path (spec section 4).

    ``score_text(text)`` returns that text's similarity curve over the sampled frames (each paraphrase is
    scored alone); ``decomposition`` is the TFVTG-format LLM response or ``None`` (single query);
    ``stride``/``max_stride`` as in :func:`localize`. Returns ``(start, end, confidence)`` triples in seconds,
    best first: the first is the R@1 prediction. ``localizer`` keeps window tables between calls: pass one
    per video to reuse them across queries (every text of this query reuses them in any case)."""
    dec = parse_decomposition(decomposition)
    loc = localizer or Localizer(max_tables=1)
    curves: dict[str, np.ndarray] = {}

    def answer(text: str) -> list[Proposal]:
        if text not in curves:
            curves[text] = np.asarray(score_text(text))
        return loc(curves[text], duration, stride, max_stride, rank_with_dynamic=rank_with_dynamic)

    relation = "single-query"
    per_sub: list[list[tuple[float, float, float]]] = []
    if dec is not None:
        relation = dec.relationship
        for pos, sub in enumerate(dec.sub_queries, start=1):
            texts = [d for d in sub.descriptions if d.strip()]
            if not texts:
                logger.warning("sub-query %d has no descriptions; it is left out of the combination", pos)
                continue
            pool = pool_ranks([answer(t) for t in texts])
            per_sub.append(vote(pool, gamma)[:3])
    texts = [sentence] + (dec.rewrites if dec is not None else [])
    main = pool_ranks([answer(t) for t in texts])[:7]
    final = main + combine(per_sub, relation, merge=merge, gamma=gamma)
    return [(float(a), float(b), float(c)) for a, b, c in vote(final, gamma)]
