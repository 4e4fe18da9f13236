"""Evaluation protocols: which reference evaluator's conventions a report reproduces.

Users compare numbers across papers, so each dataset is scored the way the field's reference code scores it
(facts from the public code; nothing copied):

* ``tfvtg`` (Charades-STA, ActivityNet Captions, haystack videos): TFVTG ``evaluate.py`` (minghangz/TFVTG).
  A hit when ``threshold <= IoU``; mIoU is the mean of ``max(IoU, 0)`` of the top-1 span; neither the prediction
  nor the ground truth is clipped to the video's duration (562 Charades-STA test spans end after it).
* ``moment-detr`` (QVHighlights): Moment-DETR ``standalone_eval/eval.py`` (jayleicn/moment_detr). R@1 with
  ``threshold <= IoU`` against the best-matching ground-truth window; MR-mAP over the first 10 predicted windows
  (stable sort by score, IoU 0.5:0.05:0.95, each prediction matched to the highest-IoU free window, a tie going
  to the last-indexed window, union ``len + len - inter``), per query then averaged, also for windows of
  ``(0, 10]``, ``(10, 30]`` and ``(30, 150]`` s (short / middle / long); HL-mAP and HIT@1 at the Fair / Good /
  Very Good saliency levels. No clipping.
* ``2d-tan`` (TACoS): 2D-TAN ``lib/core/eval.py`` (microsoft/2D-TAN). A hit when ``IoU > threshold`` (strict),
  thresholds 0.1, 0.3, 0.5, 0.7 at R@1 and R@5; its TACoS loader clips the ground truth to ``[0, duration]``
  (5 test spans end after it) and its predictions lie inside the video by construction, so both are clipped.

Shared by all three (each reference computes IoU this way): ``inter = max(0, min(e1, e2) - max(s1, s2))``,
``union = max(e1, e2) - min(s1, s2)``. A reversed span (start after end) therefore overlaps nothing and scores
IoU 0, a miss; it is not repaired. A negative start is kept as given (``tfvtg``, ``moment-detr``) or clipped
to 0 (``2d-tan``). Where a reference divides 0 by 0 (two identical zero-length spans, or Moment-DETR's
``len + len - inter`` union of a reversed prediction) it yields NaN; here that IoU is 0 (a miss), a documented
departure. Records with no prediction or a failed run are misses everywhere (IoU 0, AP 0, HIT 0): the
references cannot represent them (Moment-DETR's evaluator fails on an empty window list).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vidreason.tools.core.errors import ConfigError

ProtocolName = Literal["tfvtg", "moment-detr", "2d-tan"]


class Protocol(BaseModel):
    """How one reference evaluator scores temporal grounding."""

    model_config = ConfigDict(frozen=True)

    name: ProtocolName
    reference: str = Field(description="the evaluator whose conventions this reproduces")
    strict: bool = Field(description="a hit needs IoU > threshold (2D-TAN), else IoU >= threshold")
    clip_to_duration: bool = Field(description="clip predictions AND ground truth to [0, duration]")
    thresholds: tuple[float, ...] = (0.3, 0.5, 0.7)
    ks: tuple[int, ...] = (1, 5)
    moment_detr_breakdown: bool = Field(False, description="MR-mAP/MR-R1 by window length, as Moment-DETR")
    note: str

    def is_hit(self, iou: float, threshold: float) -> bool:
        return iou > threshold if self.strict else iou >= threshold

    def describe(self) -> str:
        """One line for reports: the protocol's name, its reference and its conventions."""
        return f"--protocol {self.name}: conventions of {self.reference}. {self.note}"


PROTOCOLS: dict[str, Protocol] = {
    "tfvtg": Protocol(
        name="tfvtg",
        reference="TFVTG evaluate.py (minghangz/TFVTG)",
        strict=False,
        clip_to_duration=False,
        note="Hit when IoU >= threshold; mIoU = mean max(IoU, 0) of the top-1 span; no clipping to the duration; "
        "reversed spans score IoU 0; empty or failed records are misses.",
    ),
    "moment-detr": Protocol(
        name="moment-detr",
        reference="Moment-DETR standalone_eval/eval.py (jayleicn/moment_detr)",
        strict=False,
        clip_to_duration=False,
        thresholds=(0.3, 0.5, 0.7),
        moment_detr_breakdown=True,
        note="R@1 and MR-mAP (IoU 0.5:0.05:0.95, top 10 windows, ties to the last-indexed GT window) with "
        "IoU >= threshold, by window length (short <= 10 s < middle <= 30 s < long); HL-mAP / HIT@1 at "
        "Fair/Good/Very Good; no clipping; reversed spans score IoU 0; empty or failed records are misses.",
    ),
    "2d-tan": Protocol(
        name="2d-tan",
        reference="2D-TAN lib/core/eval.py and its TACoS loader (microsoft/2D-TAN)",
        strict=True,
        clip_to_duration=True,
        thresholds=(0.1, 0.3, 0.5, 0.7),
        note="Hit when IoU > threshold (strict); ground truth clipped to [0, duration] as 2D-TAN's loader does, "
        "predictions clipped the same way; reversed spans score IoU 0; empty or failed records are misses.",
    ),
}

#: The protocol each dataset is scored with unless ``--protocol`` names another.
DATASET_PROTOCOLS: dict[str, str] = {
    "charades-sta": "tfvtg",
    "activitynet-captions": "tfvtg",
    "haystack": "tfvtg",
    "qvhighlights": "moment-detr",
    "tacos": "2d-tan",
}


def protocol_for(dataset: str, override: str | None = None) -> Protocol:
    """The protocol named by ``override``, else the dataset's default (``tfvtg`` for unknown datasets)."""
    name = override or DATASET_PROTOCOLS.get(dataset, "tfvtg")
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ConfigError(f"unknown protocol {name!r}; choose one of {sorted(PROTOCOLS)}") from None
