"""Temporal-QA report: metrics per type / channel, calibration, misses, timing and provenance as
``report.json`` + ``report.md``, with ``accuracy_by_type.png``, ``reliability.png`` and ``iou_hist.png``."""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from vidreason.evals.report import provenance, save_plot
from vidreason.evals.temporal_qa.cases import LoadedCase
from vidreason.evals.temporal_qa.score import (
    AnswerRecord,
    CaseScore,
    GroupMetrics,
    TemporalQAMetrics,
    metrics,
    score_case,
)
from vidreason.tools.core.storage import write_text_atomic

logger = logging.getLogger(__name__)

MAX_MISSES_SHOWN = 80


class Timing(BaseModel):
    videos: int
    video_s: float
    index_s: float
    query_s: float
    questions: int
    mean_query_s: float


class CaseResult(BaseModel):
    """One case's score with what was expected and what was answered (for reading misses)."""

    score: CaseScore
    question: str
    expected: str
    answer: str
    cited: list[float]
    first_span: tuple[float, float] | None


class TemporalQAReport(BaseModel):
    created: str
    case_files: list[str]
    selected: int
    answered: int = Field(description="cases with an ok answer record")
    errors: int
    missing_videos: list[str]
    metrics: TemporalQAMetrics
    timing: Timing
    results: list[CaseResult]
    config: dict[str, Any]
    provenance: dict[str, Any]


def _expected(lc: LoadedCase) -> str:
    c, a = lc.case, lc.case.answer
    if c.absent:
        return "not found"
    parts = []
    if a.yes_no is not None:
        parts.append("yes" if a.yes_no else "no")
    if a.count is not None:
        parts.append(f"{a.count} times")
    if a.speaker:
        parts.append(a.speaker)
    if a.keys:
        parts.append(" + ".join(a.keys))
    parts += [" + ".join(alt) for alt in a.alternatives]
    span = ", ".join(f"{s:.1f}-{e:.1f}s" for s, e in c.target)
    return (" | ".join(parts) + " @ " if parts else "cite ") + span


def _video_seconds(paths: Sequence[str]) -> float:
    from vidreason.tools.media.video import probe

    total = 0.0
    for p in paths:
        try:
            total += float(probe(p).duration)
        except Exception as e:  # a report must not fail on a video that went away since
            logger.warning("could not probe %s: %s", p, e)
    return total


def build_report(
    cases: Sequence[LoadedCase], records: dict[str, AnswerRecord], *, config: dict[str, Any] | None = None
) -> TemporalQAReport:
    results: list[CaseResult] = []
    for lc in cases:
        rec = records.get(lc.case.id)
        results.append(
            CaseResult(
                score=score_case(lc.case, rec),
                question=lc.case.question,
                expected=_expected(lc),
                answer=(rec.text if rec and rec.status == "ok" else (rec.error or "") if rec else "")[:400],
                cited=[round(c.time, 2) for c in rec.citations] if rec else [],
                first_span=(rec.spans[0][0], rec.spans[0][1]) if rec and rec.spans else None,
            )
        )
    recs = [records[lc.case.id] for lc in cases if lc.case.id in records]
    ok = [r for r in recs if r.status == "ok"]
    per_video: dict[str, float] = {}
    for r in ok:
        if r.video_path:
            per_video[r.video_path] = max(per_video.get(r.video_path, 0.0), r.index_s)
    query_s = sum(r.query_s for r in ok)
    files = sorted({lc.source for lc in cases})
    return TemporalQAReport(
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        case_files=files,
        selected=len(cases),
        answered=len(ok),
        errors=sum(r.status != "ok" for r in recs),
        missing_videos=sorted({lc.case.video for lc in cases if lc.video_path is None}),
        metrics=metrics([r.score for r in results]),
        timing=Timing(
            videos=len(per_video),
            video_s=round(_video_seconds(list(per_video)), 3),
            index_s=round(sum(per_video.values()), 3),
            query_s=round(query_s, 3),
            questions=len(ok),
            mean_query_s=round(query_s / len(ok), 3) if ok else 0.0,
        ),
        results=results,
        config=config or {},
        provenance=provenance({f"cases_{i}": f for i, f in enumerate(files)}),
    )


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.0f}"


def _num(v: float | None, fmt: str = ".2f") -> str:
    return "–" if v is None else format(v, fmt)


def _row(name: str, m: GroupMetrics) -> str:
    return (
        f"| {name} | {m.n} | {_pct(m.accuracy)} | {_pct(m.citation_in_target)} | {_num(m.mean_iou)} | "
        f"{_pct(m.abstention)} | {_pct(m.false_abstention)} | {_num(m.mean_confidence_correct)} | "
        f"{_num(m.mean_confidence_wrong)} | {m.errors} |"
    )


def _cell(text: str, limit: int = 120) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_markdown(report: TemporalQAReport) -> str:
    m = report.metrics
    head = (
        "| | n | accuracy % | citation in target % | mean IoU | abstention % (absent) | false abstention % | "
        "conf. right | conf. wrong | errors |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [
        "# vidreason eval: temporal-qa",
        "",
        f"Created {report.created}. {report.selected} case(s) from {', '.join(f'`{f}`' for f in report.case_files)}; "
        f"{report.answered} answered, {report.errors} error(s), {len(report.missing_videos)} missing video(s).",
        "",
        "## Per question type",
        "",
        head,
        *[_row(t + (" (optional)" if t == "who" else ""), g) for t, g in m.per_type.items()],
        _row("**all** (non-optional)", m.overall),
    ]
    if m.optional is not None:
        lines.append(_row("optional cases", m.optional))
    lines += [
        "",
        "Accuracy: keys / yes-no / count / speaker matched (span-only cases: a citation inside a target span "
        "widened by 0.5 s); absent cases are right when the answer abstains (says not found, or confidence "
        "< 0.3). Citation and IoU rates cover present cases; IoU uses the answer's first span.",
        "",
        "## Per channel needed",
        "",
        head,
        *[_row(c, g) for c, g in m.per_channel.items()],
        "",
        "## Calibration (present, non-optional cases)",
        "",
        "| confidence | n | mean confidence | accuracy % |",
        "|---|---|---|---|",
        *[f"| {b.lo:.1f}–{b.hi:.1f} | {b.n} | {_num(b.mean_confidence)} | {_pct(b.accuracy)} |" for b in m.calibration],
        "",
        "## Plots",
        "",
        "![Accuracy by type](accuracy_by_type.png)",
        "",
        "![Reliability](reliability.png)",
        "",
        "![Target IoU](iou_hist.png)",
        "",
    ]
    misses = [r for r in report.results if not r.score.correct]
    lines += [f"## Misses ({len(misses)}; first {min(len(misses), MAX_MISSES_SHOWN)} shown)", ""]
    if misses:
        lines += ["| case | question | expected | answer | cited s | why |", "|---|---|---|---|---|---|"]
        for r in misses[:MAX_MISSES_SHOWN]:
            cited = ", ".join(f"{t:g}" for t in r.cited[:5])
            lines.append(
                f"| {r.score.id} | {_cell(r.question, 80)} | {_cell(r.expected, 60)} | {_cell(r.answer)} | "
                f"{cited} | {_cell(r.score.why, 80)} |"
            )
    t = report.timing
    lines += [
        "",
        "## Timing",
        "",
        "| videos | video s | index s | questions | query s | mean query s |",
        "|---|---|---|---|---|---|",
        f"| {t.videos} | {t.video_s:.1f} | {t.index_s:.1f} | {t.questions} | {t.query_s:.1f} | {t.mean_query_s:.2f} |",
        "",
        "## Configuration and provenance",
        "",
        "See `report.json` (`config`, `provenance`, and `results`: every case with its score).",
        "",
        f"- git commit: {report.provenance.get('git_commit')}",
    ]
    for name, f in report.provenance.get("files", {}).items():
        lines.append(f"- {name}: `{f['path']}` sha256 {f['sha256'][:16]}…")
    return "\n".join(lines) + "\n"


def write_plots(report: TemporalQAReport, out: Path) -> dict[str, Path]:
    m = report.metrics
    types = list(m.per_type)

    def bars(ax: Any) -> None:
        xs = range(len(types))
        acc = [100 * (m.per_type[t].accuracy or 0) for t in types]
        cit = [100 * (m.per_type[t].citation_in_target or 0) for t in types]
        ax.bar([x - 0.2 for x in xs], acc, width=0.4, label="accuracy", color="#4C72B0")
        ax.bar([x + 0.2 for x in xs], cit, width=0.4, label="citation in target", color="#DD8452")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(types, rotation=45, ha="right")
        ax.set_ylim(0, 100)
        ax.set_ylabel("percent")
        ax.legend(fontsize=8)
        ax.set_title("Temporal QA by question type")

    def reliability(ax: Any) -> None:
        bins = [b for b in m.calibration if b.n]
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
        ax.bar([(b.lo + b.hi) / 2 for b in bins], [b.accuracy or 0 for b in bins], width=0.09, color="#55A868")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy")
        ax.set_title(f"Reliability ({sum(b.n for b in bins)} present cases)")

    ious = [r.score.iou for r in report.results if r.score.iou is not None]

    def hist(ax: Any) -> None:
        ax.hist(ious, bins=20, range=(0, 1), color="#4C72B0", edgecolor="white")
        ax.set_xlabel("IoU of the first answer span with the target")
        ax.set_ylabel("cases")
        ax.set_title(f"Target IoU ({len(ious)} present cases)")

    paths = {"accuracy_by_type": out / "accuracy_by_type.png", "reliability": out / "reliability.png"}
    paths["iou_hist"] = out / "iou_hist.png"
    save_plot(paths["accuracy_by_type"], bars)
    save_plot(paths["reliability"], reliability)
    save_plot(paths["iou_hist"], hist)
    return paths


def write_report(report: TemporalQAReport, out_dir: str | Path) -> dict[str, Path]:
    """``report.json``, ``report.md`` and the plots in ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "markdown": out / "report.md"}
    write_text_atomic(paths["json"], report.model_dump_json(indent=2))
    write_text_atomic(paths["markdown"], render_markdown(report))
    paths.update(write_plots(report, out))
    logger.info("temporal-QA report written to %s", out)
    return paths
