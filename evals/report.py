"""Benchmark report: metrics, timing, configuration and provenance as JSON + Markdown, and PNG plots.

Every file is written atomically (a temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import logging
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from vidreason.evals.datasets.base import GroundingSample
from vidreason.evals.highlights import CLIP_SECONDS, highlight_metrics, saliency_matrix
from vidreason.evals.metrics import (
    GroundingMetrics,
    MomentRetrieval,
    grounding_metrics,
    iou_histogram_values,
    moment_map,
    moment_retrieval,
    recall_curve,
)
from vidreason.evals.predictions import PredictionRecord
from vidreason.evals.protocols import Protocol, protocol_for
from vidreason.tools.core.storage import write_bytes_atomic, write_text_atomic
from vidreason.tools.index.builder import PROVENANCE_PACKAGES, package_versions

logger = logging.getLogger(__name__)


class Timing(BaseModel):
    videos: int
    video_s: float = Field(description="seconds of video (unpadded), each video counted once")
    index_s: float
    index_cache_hits: int
    query_s: float
    queries: int
    mean_query_s: float
    realtime_factor: float | None = Field(description="video seconds / (index + query seconds)")


class EvalReport(BaseModel):
    dataset: str
    created: str
    selected: int = Field(description="samples selected for this evaluation (after --limit)")
    scored: int = Field(description="samples with a prediction record (errors included, as misses)")
    errors: int
    missing_videos: list[str]
    skipped_samples: int
    protocol: str = Field("tfvtg", description="the reference evaluator whose conventions the metrics reproduce")
    protocol_note: str = Field("", description="what those conventions are")
    metrics: GroundingMetrics
    moment_map: dict[str, float] = Field(description="Moment-DETR MR-mAP (percent), IoU 0.5:0.05:0.95")
    moment_retrieval: dict[str, MomentRetrieval] | None = Field(
        None, description="Moment-DETR MR-mAP / MR-R1 for full, short, middle, long GT windows (moment-detr)"
    )
    highlights: dict[str, dict[str, float]] | None = Field(
        None, description="HL-mAP and HIT@1 (percent) at the Fair / Good / VeryGood levels, when saliency GT exists"
    )
    highlights_note: str | None = None
    hit_at_1: float | None = Field(None, description="HIT@1 (percent, 'Very Good' clips) when saliency GT exists")
    hit_at_1_note: str | None = None
    timing: Timing
    config: dict[str, Any]
    provenance: dict[str, Any]


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_commit(repo: Path | None = None) -> str | None:
    """``HEAD`` of the repository holding vidreason, or None (no git, no commits, not a checkout)."""
    repo = repo or Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def provenance(files: dict[str, str | None], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Package versions, python/platform, git commit, command line, and sha256 of each input file."""
    return {
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "argv": list(sys.argv),
        "packages": package_versions((*PROVENANCE_PACKAGES, "matplotlib")),
        "files": {k: {"path": v, "sha256": file_sha256(v)} for k, v in files.items() if v and Path(v).is_file()},
        **(extra or {}),
    }


def _timing(records: Sequence[PredictionRecord]) -> Timing:
    per_video: dict[str, PredictionRecord] = {}
    for r in records:
        per_video.setdefault(r.video_id, r)
    video_s = sum((r.duration or 0.0) - r.ood_pad for r in per_video.values())
    index_s = sum(r.index_s for r in per_video.values())
    query_s = sum(r.query_s for r in records)
    busy = index_s + query_s
    return Timing(
        videos=len(per_video),
        video_s=video_s,
        index_s=index_s,
        index_cache_hits=sum(r.index_cache_hit for r in per_video.values()),
        query_s=query_s,
        queries=len(records),
        mean_query_s=query_s / len(records) if records else 0.0,
        realtime_factor=video_s / busy if busy > 0 else None,
    )


def _span_clip_scores(rec: PredictionRecord, n_clips: int, clip_len: float) -> list[float]:
    """Per-clip saliency derived from ranked spans: the best score of a span covering the clip's centre."""
    scores = [0.0] * n_clips
    for s, e, c in rec.pred_spans:
        for i in range(n_clips):
            t = rec.ood_pad + (i + 0.5) * clip_len
            if s <= t <= e:
                scores[i] = max(scores[i], c)
    return scores


DERIVED_NOTE = (
    "clip saliency derived from the ranked spans (each clip takes the best score of a span covering its centre): "
    "NOT comparable with published HL-mAP / HIT@1, which rank clips by a per-clip saliency score"
)
SALIENCY_NOTE = "per-clip saliency scores recorded by the grounder"


def _highlights(
    samples: Sequence[GroundingSample], records: dict[str, PredictionRecord]
) -> tuple[dict[str, dict[str, float]] | None, str | None]:
    """Moment-DETR's highlight metrics over the samples with saliency ground truth (None when there are none).
    Records without spans (or with an error) are misses."""
    pairs = [
        (s, records[s.sample_id])
        for s in samples
        if s.sample_id in records and "saliency_scores" in s.extra and s.duration
    ]
    if not pairs:
        return None, None
    gts = [
        saliency_matrix(s.duration or 0.0, s.extra["relevant_clip_ids"], s.extra["saliency_scores"]) for s, _ in pairs
    ]
    preds: list[list[float] | None] = []
    derived = False
    for (_, r), g in zip(pairs, gts, strict=True):
        if r.status != "ok" or not (r.pred_spans or r.saliency):
            preds.append(None)
        elif r.saliency:
            preds.append(list(r.saliency))
        else:
            derived = True
            preds.append(_span_clip_scores(r, len(g), CLIP_SECONDS))
    return highlight_metrics(preds, gts), DERIVED_NOTE if derived else SALIENCY_NOTE


def build_report(
    dataset: str,
    samples: Sequence[GroundingSample],
    records: dict[str, PredictionRecord],
    *,
    missing_videos: Sequence[str] = (),
    config: dict[str, Any] | None = None,
    provenance_info: dict[str, Any] | None = None,
    protocol: Protocol | None = None,
) -> EvalReport:
    """Score the records of ``samples`` (samples without a record — missing videos — are left out) with the
    dataset's protocol (``protocol`` overrides it)."""
    proto = protocol or protocol_for(dataset)
    recs = [records[s.sample_id] for s in samples if s.sample_id in records]
    items = [r.to_item() for r in recs]
    highlights, hl_note = _highlights(samples, records)
    missing = set(missing_videos)
    return EvalReport(
        dataset=dataset,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        selected=len(samples),
        scored=len(recs),
        errors=sum(r.status == "error" for r in recs),
        missing_videos=sorted(missing),
        skipped_samples=sum(1 for s in samples if s.video_id in missing),
        protocol=proto.name,
        protocol_note=proto.describe(),
        metrics=grounding_metrics(items, protocol=proto),
        moment_map=moment_map(items, protocol=proto),
        moment_retrieval=moment_retrieval(items, proto) if proto.moment_detr_breakdown else None,
        highlights=highlights,
        highlights_note=hl_note,
        hit_at_1=highlights["HL-min-VeryGood"]["HL-Hit1"] if highlights else None,
        hit_at_1_note=hl_note,
        timing=_timing(recs),
        config=config or {},
        provenance=provenance_info or {},
    )


def _metrics_row(name: str, m: GroundingMetrics) -> str:
    return f"| {name} | {m.n} | " + " | ".join(f"{v:.2f}" for v in m.recall.values()) + f" | {m.miou:.2f} |"


def render_markdown(report: EvalReport) -> str:
    m = report.metrics
    t = report.timing
    lines = [
        f"# vidreason eval: {report.dataset}",
        "",
        f"Created {report.created}. "
        f"{report.scored} of {report.selected} selected queries scored; {report.errors} error(s); "
        f"{report.skipped_samples} skipped (missing videos: {len(report.missing_videos)}).",
        "",
        f"Protocol: {report.protocol_note}",
        "",
        "## Metrics (percent)",
        "",
        "| subset | n | " + " | ".join(m.recall) + " | mIoU |",
        "|---|---|" + "---|" * (len(m.recall) + 1),
        _metrics_row("all", m),
    ]
    lines += [_metrics_row(rel, sub) for rel, sub in m.per_relation.items()]
    lines += [
        "",
        "MR-mAP (IoU 0.5:0.05:0.95): " + ", ".join(f"{k}: {v:.2f}" for k, v in report.moment_map.items()),
    ]
    if report.moment_retrieval:
        lines += [
            "",
            "| Moment-DETR range | n | MR-mAP avg | MR-mAP@0.5 | MR-mAP@0.75 | MR-R1@0.5 | MR-R1@0.7 |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, mr in report.moment_retrieval.items():
            lines.append(
                f"| {name} | {mr.n} | {mr.mr_map['average']:.2f} | {mr.mr_map['0.5']:.2f} | "
                f"{mr.mr_map['0.75']:.2f} | {mr.mr_r1['0.5']:.2f} | {mr.mr_r1['0.7']:.2f} |"
            )
    if report.highlights:
        lines += ["", "| highlights | HL-mAP | HIT@1 |", "|---|---|---|"]
        lines += [f"| {k} | {v['HL-mAP']:.2f} | {v['HL-Hit1']:.2f} |" for k, v in report.highlights.items()]
        lines += ["", f"Highlights: {report.highlights_note}."]
    rtf = f"{t.realtime_factor:.2f}x" if t.realtime_factor is not None else "n/a"
    lines += [
        "",
        "## Timing",
        "",
        "| videos | video s | index s | cache hits | query s | mean query s | realtime |",
        "|---|---|---|---|---|---|---|",
        f"| {t.videos} | {t.video_s:.1f} | {t.index_s:.2f} | {t.index_cache_hits} | {t.query_s:.2f} | "
        f"{t.mean_query_s:.3f} | {rtf} |",
        "",
        "Realtime factor = video seconds / (index + query seconds); > 1 is faster than real time.",
        "",
        "## Plots",
        "",
        "![IoU histogram](iou_hist.png)",
        "",
        "![Recall vs IoU](recall_vs_iou.png)",
        "",
        "## Configuration and provenance",
        "",
        "See `report.json` (`config`, `provenance`).",
        "",
        f"- git commit: {report.provenance.get('git_commit')}",
    ]
    for name, f in report.provenance.get("files", {}).items():
        lines.append(f"- {name}: `{f['path']}` sha256 {f['sha256'][:16]}…")
    return "\n".join(lines) + "\n"


def save_plot(path: Path, draw: Callable[[Any], None]) -> None:
    """Draw one 6x4 in figure with ``draw(ax)`` and write it as a PNG (Agg canvas, atomic write)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)  # Agg canvas: no GUI backend, pyplot state untouched
    ax = fig.subplots()
    draw(ax)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png")
    write_bytes_atomic(path, png.getvalue())


def write_plots(records: Sequence[PredictionRecord], out_dir: Path, protocol: Protocol | None = None) -> list[Path]:
    """``iou_hist.png`` (top-1 IoU distribution) and ``recall_vs_iou.png`` (R@1/R@5 vs threshold)."""
    items = [r.to_item() for r in records]
    proto = protocol or protocol_for("")
    ious = iou_histogram_values(items, proto)

    def hist(ax: Any) -> None:
        ax.hist(ious, bins=20, range=(0, 1), color="#4C72B0", edgecolor="white")
        ax.set_xlabel("top-1 IoU")
        ax.set_ylabel("queries")
        ax.set_title(f"Top-1 IoU ({len(ious)} queries)")

    def curve(ax: Any) -> None:
        for k in (1, 5):
            ths, rec = recall_curve(items, k=k, protocol=proto)
            ax.plot(ths, rec, marker="o", markersize=3, label=f"R@{k}")
        ax.set_xlabel("IoU threshold")
        ax.set_ylabel("recall (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend()

    paths = [out_dir / "iou_hist.png", out_dir / "recall_vs_iou.png"]
    save_plot(paths[0], hist)
    save_plot(paths[1], curve)
    return paths


def write_report(report: EvalReport, records: Sequence[PredictionRecord], out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and the two plots into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "markdown": out / "report.md"}
    write_text_atomic(paths["json"], report.model_dump_json(indent=2))
    write_text_atomic(paths["markdown"], render_markdown(report))
    hist, curve = write_plots(records, out, protocol_for(report.dataset, report.protocol))
    paths["iou_hist"], paths["recall_vs_iou"] = hist, curve
    logger.info("report written to %s", out)
    return paths
