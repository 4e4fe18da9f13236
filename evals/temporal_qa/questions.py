"""Questions of every type about a generated :class:`Timeline`, with their exact answers.

One case per type per video (two absent ones), each with a seeded choice among a few wordings so the
benchmark does not reward one phrasing. Each :class:`Draft` also says which spoken lines and slide titles the
case relies on, so cases whose words the recognisers missed can be dropped (:mod:`.checks`).

Types and what they ask (``a``/``b`` name a line's topic, ``r`` the repeated word, ``T`` a slide title):
when (line or slide span), first/last/nth (occurrence of ``r``), after/before (the adjacent line's key),
while (what is said while ``T`` is shown), between (the line between two), order (yes/no, which first),
count (of ``r``), cross_modal (the title on screen while ``a`` is said), summary (start / end / topic),
who (the voice of a line; optional: needs speaker labels), absent (a word or title not in the video).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from vidreason.evals.temporal_qa.cases import Channel, ExpectedAnswer, QuestionType, Span, TemporalCase
from vidreason.evals.temporal_qa.timeline import SpokenLine, Timeline
from vidreason.evals.temporal_qa.vocab import ORDINALS


@dataclass
class Draft:
    case: TemporalCase
    lines: set[int] = field(default_factory=set)
    titles: set[int] = field(default_factory=set)
    absent_words: set[str] = field(default_factory=set)
    absent_titles: set[str] = field(default_factory=set)


class _Builder:
    def __init__(self, tl: Timeline, rng: random.Random):
        self.tl, self.rng = tl, rng
        self.drafts: list[Draft] = []

    def add(
        self,
        kind: QuestionType,
        question: str,
        target: list[Span],
        *,
        answer: ExpectedAnswer | None = None,
        anchor: list[Span] | None = None,
        channels: list[Channel] | None = None,
        notes: str = "",
        suffix: str = "",
        **deps: set,
    ) -> None:
        tl = self.tl
        case = TemporalCase(
            id=f"gen-s{tl.seed}-v{tl.number:02d}-{kind}{suffix}",
            video=tl.video,
            question=question,
            type=kind,
            answer=answer or ExpectedAnswer(),
            target=target,
            anchor=anchor or [],
            absent=kind == "absent",
            channels=channels or ["speech"],
            optional=kind == "who",
            notes=notes,
        )
        self.drafts.append(Draft(case, **deps))

    def pick(self, options: list[str]) -> str:
        return self.rng.choice(options)


def _slide_span(tl: Timeline, index: int) -> Span:
    return tl.slides[index].span


def _when(b: _Builder) -> None:
    tl = b.tl
    if b.rng.random() < 0.3:
        s = b.rng.choice(tl.slides)
        q = b.pick(["When does the title {t} appear on screen?", "When is the slide {t} shown?"])
        b.add("when", q.format(t=s.title), [s.span], channels=["ocr"], notes=f"slide {s.index}", titles={s.index})
        return
    ln = b.rng.choice(tl.unique_lines)
    q = b.pick(
        ["When does the speaker mention {a}?", "When is {a} mentioned?", "At what time does someone talk about {a}?"]
    )
    b.add("when", q.format(a=ln.phrase), [ln.span], notes=f"line {ln.index}: {ln.text}", lines={ln.index})


def _occurrence(b: _Builder) -> None:
    tl = b.tl
    reps = tl.repeat_lines
    every = {ln.index for ln in reps}
    r = tl.repeat_phrase
    q = b.pick(["When does the speaker first mention {r}?", "When is {r} mentioned for the first time?"])
    b.add("first", q.format(r=r), [reps[0].span], notes=f"{len(reps)} mentions", lines=every)
    q = b.pick(["When does the speaker mention {r} for the last time?", "When is {r} last mentioned?"])
    b.add("last", q.format(r=r), [reps[-1].span], notes=f"{len(reps)} mentions", lines=every)
    n = b.rng.randint(2, len(reps))
    q = b.pick(["When is {r} mentioned for the {o} time?", "When does the speaker mention {r} for the {o} time?"])
    b.add("nth", q.format(r=r, o=ORDINALS[n - 1]), [reps[n - 1].span], notes=f"n={n} of {len(reps)}", lines=every)
    q = b.pick(["How many times does the speaker say {w}?", "How many times is {r} mentioned?"])
    b.add(
        "count",
        q.format(r=r, w=tl.repeat_topic),
        [ln.span for ln in reps],
        answer=ExpectedAnswer(count=len(reps)),
        lines=every,
    )


def _adjacent(b: _Builder) -> None:
    tl, lines = b.tl, b.tl.lines
    after = [ln for ln in tl.unique_lines if ln.index + 1 < len(lines)]
    a = b.rng.choice(after)
    nxt = lines[a.index + 1]
    q = b.pick(
        [
            "What does the speaker say right after mentioning {a}?",
            "What is said right after {a} is mentioned?",
            "What is said immediately after the speaker talks about {a}?",
        ]
    )
    b.add(
        "after",
        q.format(a=a.phrase),
        [nxt.span],
        answer=ExpectedAnswer(keys=[nxt.key]),
        anchor=[a.span],
        notes=f"next line: {nxt.text}",
        lines={a.index, nxt.index},
    )
    before = [ln for ln in tl.unique_lines if ln.index > 0]
    a = b.rng.choice(before)
    prev = lines[a.index - 1]
    q = b.pick(
        [
            "What is said just before the speaker mentions {a}?",
            "What does the speaker say right before talking about {a}?",
            "What is said immediately before {a} is mentioned?",
        ]
    )
    b.add(
        "before",
        q.format(a=a.phrase),
        [prev.span],
        answer=ExpectedAnswer(keys=[prev.key]),
        anchor=[a.span],
        notes=f"previous line: {prev.text}",
        lines={a.index, prev.index},
    )
    triples = [
        (x, lines[x.index + 1], lines[x.index + 2])
        for x in tl.unique_lines
        if x.index + 2 < len(lines) and not lines[x.index + 2].repeat
    ]
    if triples:
        x, mid, y = b.rng.choice(triples)
        q = b.pick(
            [
                "What does the speaker say between mentioning {a} and {b}?",
                "What is said between the mention of {a} and the mention of {b}?",
            ]
        )
        b.add(
            "between",
            q.format(a=x.phrase, b=y.phrase),
            [mid.span],
            answer=ExpectedAnswer(keys=[mid.key]),
            anchor=[x.span, y.span],
            notes=f"middle line: {mid.text}",
            lines={x.index, mid.index, y.index},
        )


def _order(b: _Builder) -> None:
    tl = b.tl
    if b.rng.random() < 0.25 and len(tl.slides) >= 3:
        s1, s2 = sorted(b.rng.sample(tl.slides, 2), key=lambda s: s.index)
        first_asked = b.rng.random() < 0.5
        sx, sy = (s1, s2) if first_asked else (s2, s1)
        b.add(
            "order",
            f"Does the title {sx.title} appear before the title {sy.title}?",
            [sx.span],
            answer=ExpectedAnswer(yes_no=first_asked),
            anchor=[sy.span],
            channels=["ocr"],
            titles={s1.index, s2.index},
        )
        return
    uniq = tl.unique_lines
    pairs = [(p, q) for p in uniq for q in uniq if q.index - p.index >= 2] or [
        (p, q) for p in uniq for q in uniq if q.index > p.index
    ]
    early, late = b.rng.choice(pairs)
    style = b.rng.choice(["before", "after", "which"])
    x, y = (early, late) if b.rng.random() < 0.5 else (late, early)
    if style == "which":
        q = b.pick(["Which comes first, {a} or {b}?", "Which is mentioned first: {a} or {b}?"])
        answer = ExpectedAnswer(keys=[early.topic], choices=[x.topic, y.topic])
    elif style == "before":
        q = "Does the speaker mention {a} before {b}?"
        answer = ExpectedAnswer(yes_no=x is early)
    else:
        q = "Is {a} mentioned after {b}?"
        answer = ExpectedAnswer(yes_no=x is late)
    b.add(
        "order",
        q.format(a=x.phrase, b=y.phrase),
        [x.span],
        answer=answer,
        anchor=[y.span],
        notes=f"{early.topic} at {early.start:.1f}s, {late.topic} at {late.start:.1f}s",
        lines={x.index, y.index},
    )


def _cross(b: _Builder) -> None:
    tl = b.tl
    ln = b.rng.choice(tl.unique_lines)
    s = tl.slides[ln.slide]
    q = b.pick(
        [
            "What is on screen when the speaker mentions {a}?",
            "What does the slide show when {a} is mentioned?",
            "What title is shown while the speaker talks about {a}?",
        ]
    )
    b.add(
        "cross_modal",
        q.format(a=ln.phrase),
        [s.span],
        answer=ExpectedAnswer(keys=[s.title.lower()]),
        anchor=[ln.span],
        channels=["speech", "ocr"],
        notes=f"slide {s.index} ({s.background})",
        lines={ln.index},
        titles={s.index},
    )
    s = b.rng.choice(tl.slides)
    on = tl.lines_on(s.index)
    q = b.pick(
        ["What is said while the slide {t} is on screen?", "What does the speaker say while the title {t} is shown?"]
    )
    b.add(
        "while",
        q.format(t=s.title),
        [ln.span for ln in on],
        answer=ExpectedAnswer(keys=[on[0].key], alternatives=[[ln.key] for ln in on[1:]]),
        anchor=[s.span],
        channels=["speech", "ocr"],
        notes=" / ".join(ln.text for ln in on),
        lines={ln.index for ln in on},
        titles={s.index},
    )


def _summary(b: _Builder) -> None:
    tl = b.tl
    first, last = tl.lines[0], tl.lines[-1]
    kind = b.rng.choice(["end", "start", "about"])
    if kind == "end":
        s = tl.slides[-1]
        b.add(
            "summary",
            b.pick(["What happens at the end of the video?", "What is said at the end?"]),
            [s.span],
            answer=ExpectedAnswer(keys=[last.key], alternatives=[[last.topic], [s.title.lower()]]),
            notes=last.text,
            lines={last.index},
        )
    elif kind == "start":
        b.add(
            "summary",
            b.pick(["What is said at the beginning of the video?", "How does the video start?"]),
            [first.span],
            answer=ExpectedAnswer(keys=[first.key], alternatives=[[first.topic]]),
            notes=first.text,
            lines={first.index},
        )
    else:
        topics = list(dict.fromkeys(ln.topic for ln in tl.lines))
        b.add(
            "summary",
            b.pick(["What is the video about?", "What topics does the video cover?"]),
            [(0.0, tl.duration)],
            answer=ExpectedAnswer(keys=[topics[0]], alternatives=[[t] for t in topics[1:]]),
            notes="any topic counts",
            lines={ln.index for ln in tl.lines},
        )


def _who(b: _Builder) -> None:
    ln: SpokenLine = b.rng.choice(b.tl.unique_lines)
    q = b.pick(["Who talks about {a}?", "Which voice mentions {a}?"])
    b.add(
        "who",
        q.format(a=ln.phrase),
        [ln.span],
        answer=ExpectedAnswer(speaker=ln.speaker),
        channels=["speech", "speaker"],
        notes=f"voice {ln.voice}; speakers numbered by first appearance",
        lines={ln.index},
    )


def _absent(b: _Builder) -> None:
    tl = b.tl
    q = b.pick(["When does the speaker mention {x}?", "How many times is {x} mentioned?"])
    b.add("absent", q.format(x=tl.absent_phrase), [], suffix="-1", absent_words={tl.absent_topic})
    if b.rng.random() < 0.5:
        b.add(
            "absent",
            f"When does the title {tl.absent_title} appear on screen?",
            [],
            channels=["ocr"],
            suffix="-2",
            absent_titles={tl.absent_title},
        )
    else:
        b.add(
            "absent",
            f"What is said right after the speaker mentions {tl.absent_phrase}?",
            [],
            suffix="-2",
            absent_words={tl.absent_topic},
        )


BUILDERS: tuple[Callable[[_Builder], None], ...] = (
    _when,
    _occurrence,
    _adjacent,
    _order,
    _cross,
    _summary,
    _who,
    _absent,
)


def build_cases(timeline: Timeline, rng: random.Random) -> list[Draft]:
    """Every question type about ``timeline`` (``between`` only when three lines allow it)."""
    b = _Builder(timeline, rng)
    for build in BUILDERS:
        build(b)
    return b.drafts
