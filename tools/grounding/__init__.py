"""Training-free temporal grounding (TFVTG) in pure numpy, plus ordering constraints for the planner.

Spec: ../shared/docs/tfvtg-algorithm.md. Section 1 -> :func:`localize`; section 2 -> :func:`vote`;
sections 3-4 -> :func:`ground_query`, :func:`combine`; section 5 options -> ``rank_with_dynamic``,
``merge="intersection"``, :mod:`.ood`. Curves may come from any channel (:mod:`.channels`)."""

from __future__ import annotations

from vidreason.tools.grounding.channels import cosine_scores, mix_curves, spans_to_curve, text_channel_curve
from vidreason.tools.grounding.constraints import (
    Assignment,
    Constraint,
    best_assignment,
    relation_constraints,
    sequence,
)
from vidreason.tools.grounding.localize import Localizer, localize, window_limit
from vidreason.tools.grounding.ood import pad_curve, pad_features, pad_frames, shift_spans
from vidreason.tools.grounding.proposals import Proposal, iou
from vidreason.tools.grounding.query import (
    Decomposition,
    SubQuery,
    combine,
    ground_query,
    parse_decomposition,
)
from vidreason.tools.grounding.voting import vote

__all__ = [
    "Assignment",
    "Constraint",
    "Decomposition",
    "Localizer",
    "Proposal",
    "SubQuery",
    "best_assignment",
    "combine",
    "cosine_scores",
    "ground_query",
    "iou",
    "localize",
    "mix_curves",
    "pad_curve",
    "pad_features",
    "pad_frames",
    "parse_decomposition",
    "relation_constraints",
    "sequence",
    "shift_spans",
    "spans_to_curve",
    "text_channel_curve",
    "vote",
    "window_limit",
]
