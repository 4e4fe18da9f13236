"""Scoring temporal-QA answers: key matching, yes/no, counts, speakers, abstention, citations and spans.

A case is answered right when (present cases) the answer does not abstain and its content matches
(``keys`` or an ``alternatives`` list; ``yes_no``; ``count``; ``speaker``; for which-first questions the
first of ``choices`` the answer names is ``keys[0]``), or, for span-only cases (no content expected), a
citation lies inside a target span widened by :data:`CITATION_TOLERANCE_S`. An absent case is right when
the answer abstains: it says the event was not found, or its confidence is below :data:`ABSTAIN_CONFIDENCE`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

from vidreason.evals.temporal_qa.cases import QUESTION_TYPES, Span, TemporalCase, normalize

CITATION_TOLERANCE_S = 0.5
ABSTAIN_CONFIDENCE = 0.3
CALIBRATION_BINS = 10

_NUMBER_WORDS = {
    "zero": 0,
    "no": 0,
    "one": 1,
    "once": 1,
    "two": 2,
    "twice": 2,
    "three": 3,
    "thrice": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
_NUMBER = r"(\d+|" + "|".join(_NUMBER_WORDS) + r")"
_NOT_FOUND = re.compile(
    r"\b(not found|no (?:\w+ ){0,8}(?:was |were |is |are |could be |can be )?found"
    r"|(?:could|can|ca|did|does|do) not (?:find|locate|see|hear|appear|identify)|cannot (?:find|locate|see|hear)"
    r"|(?:is|are|was|were) not (?:mentioned|said|shown|present|visible|in the video|spoken|found)"
    r"|not in (?:the|this) video|never (?:mentioned|said|shown|appears?|mentions|says|spoken)"
    r"|no mention|no such|no evidence|no matching|nothing (?:about|like|matching)|(?:0|zero|no) times"
    r"|does not occur|unable to (?:find|locate))\b"
)


_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


class CitedMoment(BaseModel):
    time: float
    channel: str = "visual"
    text: str | None = None


class AnswerRecord(BaseModel):
    """What the runner keeps of one answered case (one line of ``predictions.jsonl``)."""

    sample_id: str = Field(description="the case id")
    type: str
    question: str
    video_path: str | None = None
    text: str = ""
    confidence: float = 0.0
    citations: list[CitedMoment] = Field(default_factory=list)
    spans: list[tuple[float, float, float]] = Field(default_factory=list, description="(start, end, score)")
    plan: dict | None = None
    degraded: list[str] = Field(default_factory=list)
    trace_id: str | None = None
    index_s: float = 0.0
    query_s: float = 0.0
    status: str = "ok"
    error: str | None = None


class CaseScore(BaseModel):
    id: str
    type: str
    absent: bool
    optional: bool
    channels: list[str]
    correct: bool
    content_ok: bool | None = Field(description="keys / yes-no / count / speaker matched; None: span-only case")
    cited_in_target: bool | None = Field(description="None for absent cases")
    iou: float | None = Field(description="best IoU of the answer's first span with the targets; None: absent")
    abstained: bool
    confidence: float
    error: str | None = None
    why: str = ""


# ----------------------------------------------------------------------------------------- text matching


def has_key(text: str, key: str) -> bool:
    """``key`` (a word or phrase) occurs in ``text`` as whole words (a plural ``s``/``es`` allowed)."""
    words = normalize(key).split()
    if not words:
        return False
    pattern = r"\b" + r"\s+".join(re.escape(w) for w in words) + r"(?:s|es)?\b"
    return re.search(pattern, normalize(text)) is not None


def keys_match(text: str, keys: Sequence[str], alternatives: Sequence[Sequence[str]] = ()) -> bool:
    lists = [list(keys)] if keys else []
    lists += [list(a) for a in alternatives]
    return any(all(has_key(text, k) for k in ks) for ks in lists)


def first_sentence(text: str) -> str:
    """The text up to the first full stop that is not a decimal point, or an opening parenthesis."""
    return re.split(r"(?<!\d)\.(?!\d)|\.(?=\s)|[(\n]", text.strip(), maxsplit=1)[0]


def says_not_found(text: str) -> bool:
    """The answer says (in its first sentence) that the asked event is not in the video; a later remark such as
    "(the sub-events were not found in order)" after an answer does not count."""
    head = first_sentence(_QUOTED.sub(" ", text)).lower()  # a quoted line is what was heard, not the claim
    return _NOT_FOUND.search(normalize(re.sub(r"n[\'’]t\b", " not", head))) is not None


def yes_no_of(text: str) -> bool | None:
    """True/False when the answer starts with yes/no (after punctuation), else None."""
    first = normalize(text).split()[:1]
    return {"yes": True, "no": False}.get(first[0]) if first else None


def count_of(text: str) -> int | None:
    """The count an answer states: ``N times``/``N mentions`` first, then once/twice, then the first bare
    whole number that is not part of a time (``12.5 s``, ``0:42``)."""
    low = text.lower()
    m = re.search(_NUMBER + r"\s+(?:times?|mentions?|occurrences?)\b", low)
    if m:
        v = m.group(1)
        return int(v) if v.isdigit() else _NUMBER_WORDS[v]
    m = re.search(r"\b(once|twice|thrice)\b", low)
    if m:
        return _NUMBER_WORDS[m.group(1)]
    m = re.search(r"(?<![\d.:])\b(\d+)\b(?![.:]\d)(?!\s*(?:s\b|sec|seconds?\b))", low)
    return int(m.group(1)) if m else None


def speakers_named(text: str) -> list[int]:
    """Speaker numbers the answer names, in order (``SPEAKER_2``, ``speaker 2``, ``the second voice``)."""
    low = normalize(text)
    found: list[tuple[int, int]] = []
    for m in re.finditer(r"\b(?:speaker|voice)\s+(\d+)\b", low):
        found.append((m.start(), int(m.group(1))))
    for m in re.finditer(r"\b(" + "|".join(_ORDINAL_WORDS) + r")\s+(?:speaker|voice)\b", low):
        found.append((m.start(), _ORDINAL_WORDS[m.group(1)]))
    return [n for _, n in sorted(found)]


def first_choice(text: str, choices: Sequence[str]) -> str | None:
    """Which of ``choices`` the answer names first (None: none named)."""
    low = normalize(text)
    best: tuple[int, str] | None = None
    for c in choices:
        m = re.search(r"\b" + r"\s+".join(map(re.escape, normalize(c).split())) + r"(?:s|es)?\b", low)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), c)
    return best[1] if best else None


# ---------------------------------------------------------------------------------------------- spans


def cited_inside(times: Sequence[float], targets: Sequence[Span], tol: float = CITATION_TOLERANCE_S) -> bool:
    return any(s - tol <= t <= e + tol for t in times for s, e in targets)


def span_iou(a: Span, b: Span) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else float(a == b)


def best_iou(span: Span | None, targets: Sequence[Span]) -> float:
    return max((span_iou(span, t) for t in targets), default=0.0) if span is not None else 0.0


# ---------------------------------------------------------------------------------------------- scoring


def _content(case: TemporalCase, text: str) -> tuple[bool | None, str]:
    a = case.answer
    checks: list[tuple[bool, str]] = []
    if a.yes_no is not None:
        got = yes_no_of(text)
        checks.append((got is a.yes_no, f"expected {'yes' if a.yes_no else 'no'}, got {got}"))
    if a.count is not None:
        got_n = count_of(text)
        checks.append((got_n == a.count, f"expected count {a.count}, got {got_n}"))
    if a.speaker is not None:
        named = speakers_named(text)
        want = int(a.speaker.split("_")[1])
        checks.append((bool(named) and named[0] == want, f"expected {a.speaker}, named {named}"))
    if a.choices:
        got_c = first_choice(text, a.choices)
        checks.append((got_c == a.keys[0], f"expected {a.keys[0]!r} first, named {got_c!r} first"))
    elif a.keys or a.alternatives:
        checks.append((keys_match(text, a.keys, a.alternatives), f"keys {a.keys} / {a.alternatives} missing"))
    if not checks:
        return None, ""
    return all(ok for ok, _ in checks), "; ".join(why for ok, why in checks if not ok)


def score_case(case: TemporalCase, rec: AnswerRecord | None) -> CaseScore:
    """Score one answer (``rec`` None or an error record: a miss)."""
    base = {"id": case.id, "type": case.type, "absent": case.absent, "optional": case.optional}
    base["channels"] = list(case.channels)
    if rec is None or rec.status != "ok":
        error = rec.error if rec is not None else "no answer"
        return CaseScore(
            **base,
            correct=False,
            content_ok=None if case.absent else False,
            cited_in_target=None if case.absent else False,
            iou=None if case.absent else 0.0,
            abstained=False,
            confidence=0.0,
            error=error,
            why=f"error: {error}",
        )
    not_found = says_not_found(rec.text)
    abstained = not_found or rec.confidence < ABSTAIN_CONFIDENCE
    if case.absent:
        return CaseScore(
            **base,
            correct=abstained,
            content_ok=None,
            cited_in_target=None,
            iou=None,
            abstained=abstained,
            confidence=rec.confidence,
            why="" if abstained else "answered an absent event",
        )
    times = [c.time for c in rec.citations]
    cited = cited_inside(times, case.target)
    first = (rec.spans[0][0], rec.spans[0][1]) if rec.spans else None
    content_ok, why = _content(case, rec.text)
    if not_found:
        correct, why = False, "said not found"
    elif content_ok is None:
        correct, why = cited, "" if cited else f"no citation in {case.target} (cited {[round(t, 1) for t in times]})"
    else:
        correct = content_ok
    return CaseScore(
        **base,
        correct=correct,
        content_ok=content_ok,
        cited_in_target=cited,
        iou=best_iou(first, case.target),
        abstained=abstained,
        confidence=rec.confidence,
        why=why,
    )


# ---------------------------------------------------------------------------------------------- metrics


class GroupMetrics(BaseModel):
    """Rates are fractions (0..1); None when the group has no case they apply to."""

    n: int
    correct: int
    accuracy: float | None
    citation_in_target: float | None
    mean_iou: float | None
    abstention: float | None = Field(description="absent cases answered 'not found' (or confidence < 0.3)")
    false_abstention: float | None = Field(description="present cases answered 'not found' or with low confidence")
    mean_confidence_correct: float | None
    mean_confidence_wrong: float | None
    errors: int


class CalibrationBin(BaseModel):
    lo: float
    hi: float
    n: int
    mean_confidence: float | None
    accuracy: float | None


class TemporalQAMetrics(BaseModel):
    overall: GroupMetrics = Field(description="all non-optional cases")
    per_type: dict[str, GroupMetrics]
    per_channel: dict[str, GroupMetrics] = Field(description="cases needing each channel (non-optional)")
    optional: GroupMetrics | None = Field(description="optional cases (e.g. who), not in overall")
    calibration: list[CalibrationBin] = Field(description="present non-optional cases: confidence vs accuracy")


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def group_metrics(scores: Sequence[CaseScore]) -> GroupMetrics:
    present = [s for s in scores if not s.absent]
    absent = [s for s in scores if s.absent]
    return GroupMetrics(
        n=len(scores),
        correct=sum(s.correct for s in scores),
        accuracy=_mean([float(s.correct) for s in scores]),
        citation_in_target=_mean([float(bool(s.cited_in_target)) for s in present]),
        mean_iou=_mean([s.iou or 0.0 for s in present]),
        abstention=_mean([float(s.abstained) for s in absent]),
        false_abstention=_mean([float(s.abstained) for s in present]),
        mean_confidence_correct=_mean([s.confidence for s in scores if s.correct and s.error is None]),
        mean_confidence_wrong=_mean([s.confidence for s in scores if not s.correct and s.error is None]),
        errors=sum(s.error is not None for s in scores),
    )


def calibration(scores: Sequence[CaseScore], bins: int = CALIBRATION_BINS) -> list[CalibrationBin]:
    present = [s for s in scores if not s.absent and s.error is None]
    out = []
    for i in range(bins):
        lo, hi = i / bins, (i + 1) / bins
        inside = [s for s in present if lo <= s.confidence < hi or (i == bins - 1 and s.confidence == 1.0)]
        out.append(
            CalibrationBin(
                lo=lo,
                hi=hi,
                n=len(inside),
                mean_confidence=_mean([s.confidence for s in inside]),
                accuracy=_mean([float(s.correct) for s in inside]),
            )
        )
    return out


def metrics(scores: Sequence[CaseScore]) -> TemporalQAMetrics:
    counted = [s for s in scores if not s.optional]
    optional = [s for s in scores if s.optional]
    per_type = {t: group_metrics([s for s in scores if s.type == t]) for t in QUESTION_TYPES}
    channels = sorted({c for s in counted for c in s.channels})
    return TemporalQAMetrics(
        overall=group_metrics(counted),
        per_type={t: m for t, m in per_type.items() if m.n},
        per_channel={c: group_metrics([s for s in counted if c in s.channels]) for c in channels},
        optional=group_metrics(optional) if optional else None,
        calibration=calibration(counted),
    )
