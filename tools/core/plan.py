"""The question plan: sub-events (what to search for, on which channels), relations between them, the
target the answer is about and the form of the answer. The LLM planner and the offline parser both write a
``Plan``; ``PlanDraft`` is the part an LLM fills in (also the JSON schema it is asked to follow).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Channel = Literal["visual", "speech", "ocr"]
"""Where a sub-event can be observed: the frames, what is said, or text shown on screen."""

RelationKind = Literal["before", "after", "during", "overlaps", "simultaneous", "sequence"]
"""``kind(a, b)`` reads "a <kind> b": ``before`` a ends before b starts (any gap); ``after`` a starts after
b ends;
``during`` a lies inside b; ``overlaps`` a and b share some time; ``simultaneous`` a and b happen together;
``sequence`` b is the next thing after a ("a then b")."""

Occurrence = Literal["any", "first", "last", "all"]
"""Which occurrence of a repeated sub-event is meant ("the first time", "how many times" = ``all``)."""

TEMPORAL_ORDER_KINDS: frozenset[str] = frozenset({"before", "after", "sequence"})
CO_OCCURRENCE_KINDS: frozenset[str] = frozenset({"during", "overlaps", "simultaneous"})


class QuestionType(str, Enum):
    """What kind of question was asked."""

    GROUNDING = "grounding"  # "when does X happen", "the first time X" / a Charades-style query: the answer is a span
    TEMPORAL_QA = "temporal_qa"  # "what is said right after X", "what is on screen when X": read at a relative span
    COUNTING = "counting"  # "how many times ..."
    SUMMARY = "summary"  # "what happens in the video / at the end"
    SPEECH = "speech"  # "what does the speaker say about X", "who said Y"
    ORDER = "order"  # "does X happen before Y?", "which comes first, X or Y?"


class AnswerForm(str, Enum):
    """The shape of the expected answer."""

    SPAN = "span"  # start/end seconds
    TEXT = "text"  # free text
    COUNT = "count"  # an integer
    YES_NO = "yes_no"
    QUOTE = "quote"  # words said or shown, quoted
    SUMMARY = "summary"
    CHOICE = "choice"  # one of the named sub-events ("which comes first, X or Y")
    SPEAKER = "speaker"  # who speaks ("who said X")


class SubEvent(BaseModel):
    """One thing that happens in the video, to be located on its own."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^e[1-9][0-9]*$", description="e1, e2, ... in the order the events likely happen")
    description: str = Field(min_length=1, max_length=500, description="a single action or utterance")
    paraphrases: list[str] = Field(default_factory=list, max_length=8, description="other wordings")
    channels: list[Channel] = Field(
        default_factory=lambda: list[Channel](["visual"]),
        min_length=1,
        description="which channels can observe it",
    )
    occurrence: Occurrence = "any"
    nth: int | None = Field(None, ge=1, description="the n-th occurrence, when the question names one")

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, v: list[Channel]) -> list[Channel]:
        return list(dict.fromkeys(v))

    @property
    def texts(self) -> list[str]:
        """The description followed by its paraphrases (deduplicated)."""
        return list(dict.fromkeys([self.description, *self.paraphrases]))


class Relation(BaseModel):
    """A temporal relation ``kind(a, b)`` between two sub-events (see ``RelationKind``)."""

    model_config = ConfigDict(extra="forbid")

    kind: RelationKind
    a: str
    b: str

    @model_validator(mode="after")
    def _not_self(self) -> Relation:
        if self.a == self.b:
            raise ValueError(f"relation {self.kind!r} relates {self.a!r} to itself; relate two different sub-events")
        return self


TargetKind = Literal["event", "union", "after", "before", "during", "between", "video", "start", "end"]
ReadChannel = Literal["speech", "ocr", "visual", "speaker"]
"""What an answer reports at its target span: what is said, the text on screen, what is seen (frames and
captions), or who is speaking."""


class Target(BaseModel):
    """Which span the answer is about: ``event`` (the span of ``refs[0]``), ``union`` (from the first to the last
    of ``refs``), ``after``/``before``/``during`` ``refs[0]``, ``between`` ``refs[0]`` and ``refs[1]``, the whole
    ``video``, or its ``start``/``end``.

    ``read`` names what to report there; a target that is not searched by its own words ("what is said right
    after X") is found on the timeline next to the anchor ``refs[0]``: with ``adjacent`` the nearest following
    (or preceding) moment of the ``read`` channel only (the next speech line, the next shot)."""

    model_config = ConfigDict(extra="forbid")

    kind: TargetKind = "event"
    refs: list[str] = Field(default_factory=list)
    read: list[ReadChannel] = Field(
        default_factory=list, description="what the answer reports at the target (empty: the moment itself)"
    )
    adjacent: bool = Field(False, description="after/before: the nearest moment only ('right after', 'just before')")
    speaker: str | None = Field(
        None,
        description="whose speech to read: 'other' (not the anchor's speaker: 'what does the other speaker reply'), "
        "'same', or a speaker number ('2': the second voice heard)",
    )

    @field_validator("read")
    @classmethod
    def _unique_read(cls, v: list[ReadChannel]) -> list[ReadChannel]:
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _arity(self) -> Target:
        need = {"video": (0, 0), "start": (0, 0), "end": (0, 0), "between": (2, 2), "union": (1, 64)}.get(
            self.kind, (1, 1)
        )
        if not need[0] <= len(self.refs) <= need[1]:
            raise ValueError(f"target kind {self.kind!r} takes {need[0]}..{need[1]} sub-event ids, got {self.refs!r}")
        return self

    def describe(self) -> str:
        """Human-readable, e.g. ``the span after e1``."""
        if self.kind == "video":
            return "the whole video"
        if self.kind in ("start", "end"):
            return f"the {self.kind} of the video"
        if self.kind == "event":
            return f"the span of {self.refs[0]}"
        if self.kind == "union":
            return "the span from " + " to ".join([self.refs[0], self.refs[-1]])
        if self.kind == "between":
            return f"the span between {self.refs[0]} and {self.refs[1]}"
        return f"the span {self.kind} {self.refs[0]}"


class PlanDraft(BaseModel):
    """The part of a plan an LLM writes (also the JSON schema it is asked to follow)."""

    model_config = ConfigDict(extra="forbid")

    question_type: QuestionType
    sub_events: list[SubEvent] = Field(default_factory=list, max_length=8)
    relations: list[Relation] = Field(default_factory=list, max_length=16)
    target: Target
    answer_form: AnswerForm
    rewrites: list[str] = Field(
        default_factory=list,
        max_length=4,
        description="the whole question as 1-3 declarative search descriptions",
    )
    reasoning: str = Field("", max_length=2000, description="one or two sentences on how the question was split")

    @model_validator(mode="after")
    def _consistent(self) -> PlanDraft:
        ids = [e.id for e in self.sub_events]
        if len(set(ids)) != len(ids):
            raise ValueError(f"sub-event ids must be unique, got {ids}")
        if not ids and self.target.kind not in ("video", "start", "end"):
            raise ValueError(f"a {self.question_type.value!r} plan about {self.target.kind!r} needs a sub-event")
        known = set(ids)
        for r in self.relations:
            missing = [x for x in (r.a, r.b) if x not in known]
            if missing:
                raise ValueError(f"relation {r.kind}({r.a}, {r.b}) names unknown sub-event(s) {missing}; known: {ids}")
        bad = [x for x in self.target.refs if x not in known]
        if bad:
            raise ValueError(f"target {self.target.kind!r} names unknown sub-event(s) {bad}; known: {ids}")
        return self

    @classmethod
    def decoding_json_schema(cls) -> dict[str, Any]:
        """The schema for schema-constrained decoding, with the checks above written out (see ``plan_decoding``)."""
        from vidreason.tools.core.plan_decoding import plan_decoding_schema

        return plan_decoding_schema(cls.model_json_schema())


class Plan(PlanDraft):
    """A validated plan for one question, from the LLM planner or the offline parser."""

    question: str = Field(min_length=1)
    planner: Literal["llm", "offline", "tfvtg"] = "offline"
    planner_note: str | None = Field(None, description="why this planner was used (e.g. the LLM fallback reason)")

    def sub_event(self, event_id: str) -> SubEvent:
        for e in self.sub_events:
            if e.id == event_id:
                return e
        raise KeyError(f"no sub-event {event_id!r}; known: {[e.id for e in self.sub_events]}")

    @property
    def channels(self) -> list[Channel]:
        """Every channel any sub-event needs, in first-use order."""
        return list(dict.fromkeys(c for e in self.sub_events for c in e.channels))

    def completed(self) -> Plan:
        """The plan with an explicit ``target.read`` where its form implies one (plans from the clause splitter
        or an LLM may leave it out): a quote of what is said or shown, what happens after/before/during an
        event, who speaks."""
        t = self.target
        if t.read or t.kind in ("video", "union"):
            return self
        read: list[ReadChannel] = []
        if self.answer_form is AnswerForm.SPEAKER:
            read = ["speaker"]
        elif self.answer_form is AnswerForm.QUOTE or self.question_type is QuestionType.SPEECH:
            refs = [self.sub_event(r) for r in t.refs]
            shown = any("ocr" in e.channels and "speech" not in e.channels for e in refs)
            read = ["ocr"] if shown else ["speech"]
        elif t.kind in ("after", "before", "during", "between"):
            read = ["visual", "speech"]
        if not read:
            return self
        return self.model_copy(update={"target": t.model_copy(update={"read": read})})

    def temporal_order(self) -> list[str]:
        """Sub-event ids sorted so that ordering relations hold (stable; ties keep the listed order)."""
        ids = [e.id for e in self.sub_events]
        succ: dict[str, set[str]] = {i: set() for i in ids}
        for r in self.relations:
            if r.kind in ("before", "sequence"):
                succ[r.a].add(r.b)
            elif r.kind == "after":
                succ[r.b].add(r.a)
        indeg = {i: 0 for i in ids}
        for outs in succ.values():
            for j in outs:
                indeg[j] += 1
        order: list[str] = []
        ready = [i for i in ids if indeg[i] == 0]
        while ready:
            cur = ready.pop(0)
            order.append(cur)
            for j in sorted(succ[cur], key=ids.index):
                indeg[j] -= 1
                if indeg[j] == 0:
                    ready.append(j)
            ready.sort(key=ids.index)
        return order + [i for i in ids if i not in order]  # a cycle keeps the listed order for the rest
