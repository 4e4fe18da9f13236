"""Question wordings of temporal QA, recognised before the general clause splitter of the offline parser:

* relative target with an unknown: "what is said right after X", "what happens just before X", "what is on
  screen while X", "after X, what does she say" -> anchor X searched, target read next to it on the timeline;
* compound "when does X happen, and what is on screen then";
* between: "what is said between X and Y";
* order: "does X happen before Y", "which comes first, X or Y";
* who: "who says X"; how many people speak;
* speech / on-screen "when" and "how many times" questions ("when does she first mention the budget");
* summaries of the start or end of the video.

Anything else returns None and goes to the general parser (Charades-style action descriptions).
"""

from __future__ import annotations

import re

from vidreason.tools.core.plan import (
    AnswerForm,
    Channel,
    Plan,
    QuestionType,
    ReadChannel,
    Relation,
    SubEvent,
    Target,
)
from vidreason.tools.planning.anchors import Anchor, anchor_event

_REL = (
    r"(?P<rel>(?:right|just|immediately|directly|shortly) after|after|(?:right|just|immediately|directly|shortly) "
    r"before|before|while|whilst|whenever|when|during|as soon as|as|at the (?:moment|time|point)(?: when| that)?)"
)
_WHO = r"(?P<who>[\w' ]{1,40}?)"
_HEADS: list[tuple[str, list[ReadChannel]]] = [
    (
        r"what (?:else )?(?:is|was|gets|got|are|were) (?:being )?(?:said|mentioned|spoken|heard|discussed|asked|"
        r"answered|announced|read(?: out| aloud)?|recited)",
        ["speech"],
    ),
    (
        rf"what (?:else )?(?:does|did|do) {_WHO} (?:say|mention|talk about|reply|answer|respond|ask|tell us|add|"
        r"announce|explain)",
        ["speech"],
    ),
    (r"what (?:do|did) (?:we|you|i) hear", ["speech"]),
    (
        r"what (?:is|was) (?:on (?:the )?(?:screen|slide)|written(?: on (?:the )?(?:screen|slide|board))?|displayed|"
        r"shown on (?:the )?(?:screen|slide)|the on[- ]screen text)",
        ["ocr"],
    ),
    (r"what (?:does|did) the (?:screen|slide|sign|title|caption|board|text) (?:say|show|read|display)", ["ocr"]),
    (
        r"what (?:text|title|slide|words?|caption|sign|headline) (?:is|was|are|were|appears?|appeared) (?:shown|"
        r"displayed|visible|on (?:the )?screen|written)?",
        ["ocr"],
    ),
    (r"what (?:is|was) shown", ["visual", "ocr"]),
    (
        r"what (?:happens|happened|is happening|was happening|takes place|took place|occurs|occurred|can be seen|"
        r"is seen|do (?:we|you) see)",
        ["visual"],
    ),
    (rf"what (?:does|did) {_WHO} do", ["visual"]),
    (r"who (?:is|was) (?:speaking|talking)", ["speaker"]),
]
_THEN = r"(?:then|at that (?:time|moment|point)|there|at the same time|at this point|in the meantime)"
_WHEN_FRAME = re.compile(r"^(?:when|at what (?:time|point|moment)) (?:does|did|do|is|was|are|were) (?P<x>.+)$")
_COUNT_FRAME = re.compile(r"^how many times (?:does|did|do|is|was|are|were) (?P<x>.+)$")
_WHO_SAID = re.compile(
    r"^who (?P<verb>says?|said|mentions?|mentioned|asks?|asked|talks? about|talked about|speaks? about|"
    r"spoke about|answers?|answered|introduces?|introduced|thanks?|thanked)\s+(?P<x>.+)$"
)
#: "who is Sheila?": what is said about a name (a person is known by what the video says of them)
_WHO_IS = re.compile(r"^who (?:is|was|are|were) (?P<x>(?!(?:speaking|talking|there|on screen|shown)\b).+)$")
_SAID_ABOUT = re.compile(
    r"^what (?:(?:does|did|do) (?P<who>[\w' ]{1,40}?) (?:say|said|tell us|mention|explain)|(?:is|was|gets|got) "
    r"(?:said|mentioned|explained)) about (?P<x>(?:(?!\b(?:before|after|while|when|until|during|then)\b).)+)$"
)
_ORDER_YN = re.compile(
    r"^(?:does|did|do|is|was|are|were|has|have)\s+(?P<a>.+?)\s+(?:(?:happen|come|occur|appear|take place)\s+)?"
    r"(?P<rel>before|after|earlier than|later than)\s+(?P<b>.+)$"
)
_WHICH_FIRST = re.compile(
    r"^which (?:one |of them |event |word |line |thing )?(?P<verb>comes|came|happens|happened|is said|was said|"
    r"is mentioned|was mentioned|is shown|was shown|appears|appeared|occurs|occurred|is|was)\s+(?P<pos>first|"
    r"last|earlier|later)[,:]?\s+(?P<a>.+?),?\s+or\s+(?P<b>.+)$"
)
_POSITION = re.compile(
    r"^(?:what (?:happens|is happening|happened|is shown|do (?:we|you) see|is said)|describe what happens)\s+"
    r"(?:at|in|near|towards?|during) the (?P<pos>end|ending|beginning|start|opening|last part|first part)"
    r"(?: of (?:the|this) (?:video|clip))?$|^how does (?:the|this) (?:video|clip) (?P<verb>end|start|begin)$"
)
_WHICH_VOICE = re.compile(
    r"^(?:which|what) (?:voice|speaker|person|one of them) (?P<verb>says?|said|mentions?|mentioned|asks?|asked|"
    r"talks? about|talked about|speaks? about|spoke about)\s+(?P<x>.+)$"
)
_TOPICS = re.compile(
    r"^what (?:is|was|are) (?:the|this|these) (?:video|clip|recording|conversation|talk|speech|call|audio|"
    r"discussion|lecture|interview|podcast|film|movie|reading)s? about$|"
    r"^what (?:topics?|subjects?|things?) (?:does|do|did) (?:the|this) (?:video|clip|speaker|narrator) "
    r"(?:cover|discuss|talk about|mention|deal with)|^what (?:is|was|gets) (?:discussed|talked about)$|"
    r"^what (?:does|did) (?:the|this) (?:video|clip) (?:cover|talk about|discuss|deal with)"
)
_SPEAKER_COUNT = re.compile(
    r"^how many (?:different )?(?:people|speakers|persons|voices) (?:speak|talk|are (?:speaking|talking)|"
    r"can be heard|are heard|are there)"
)


def _cased(text: str, question: str) -> str:
    """``text`` (lower-cased by normalisation) with the casing it has in the question ("Berlin", "Q3")."""
    at = question.lower().find(text)
    return question[at : at + len(text)] if at >= 0 and text else text


def _sub(eid: str, a: Anchor, question: str = "") -> SubEvent:
    return SubEvent(
        id=eid,
        description=_cased(a.description, question),
        paraphrases=a.paraphrases[:3],
        channels=a.channels,
        occurrence=a.occurrence,
        nth=a.nth,
    )


def _plan(
    question: str,
    qtype: QuestionType,
    form: AnswerForm,
    target: Target,
    events: list[SubEvent],
    relations: list[Relation] | None = None,
    reasoning: str = "",
) -> Plan:
    return Plan(
        question=question,
        question_type=qtype,
        sub_events=events,
        relations=relations or [],
        target=target,
        answer_form=form,
        planner="offline",
        reasoning=reasoning or f"offline pattern: {qtype.value}, target {target.kind}",
    )


def _read_form(read: list[ReadChannel]) -> AnswerForm:
    if read == ["speaker"]:
        return AnswerForm.SPEAKER
    return AnswerForm.QUOTE if set(read) <= {"speech", "ocr"} else AnswerForm.TEXT


def _textual(read: list[ReadChannel]) -> list[Channel] | None:
    """The channels a bare noun-phrase anchor takes from what the question reads ("what is said after the
    budget": the budget is something said)."""
    found: list[Channel] = [c for c in ("speech", "ocr") if c in read]
    return found or None


def _relative(question: str, low: str) -> Plan | None:
    for head, read in _HEADS:
        for form in (
            rf"^{head}\s+{_REL}\s+(?P<anchor>.+)$",
            rf"^{_REL}\s+(?P<anchor>.+?),\s*{head}(?:\s+(?:then|next|afterwards|now))?$",
        ):
            m = re.match(form, low)
            if not m:
                continue
            rel = m.group("rel")
            kind = (
                "after" if rel.endswith("after") or rel == "as soon as" else "before" if "before" in rel else "during"
            )
            adjacent = rel.split()[0] in ("right", "just", "immediately", "directly", "shortly")
            event = _sub("e1", anchor_event(m.group("anchor"), default=_textual(read)), question)
            target = Target(kind=kind, refs=["e1"], read=read, adjacent=adjacent)
            return _plan(question, QuestionType.TEMPORAL_QA, _read_form(read), target, [event])
        m = re.match(rf"^(?P<first>(?:when|at what (?:time|point|moment)) .+?),?\s+and\s+{head}\s+{_THEN}$", low)
        if m:
            when = _WHEN_FRAME.match(m.group("first"))
            if when:
                event = _sub("e1", anchor_event(when.group("x"), default=_textual(read)), question)
                target = Target(kind="during", refs=["e1"], read=read)
                return _plan(question, QuestionType.TEMPORAL_QA, _read_form(read), target, [event])
        m = re.match(rf"^{head}\s+between\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$", low)
        if m:
            a = anchor_event(m.group("a"), default=_textual(read))
            b = anchor_event(m.group("b"), default=a.channels)
            events = [_sub("e1", a, question), _sub("e2", b, question)]
            target = Target(kind="between", refs=["e1", "e2"], read=read)
            relations = [Relation(kind="before", a="e1", b="e2")]
            return _plan(question, QuestionType.TEMPORAL_QA, _read_form(read), target, events, relations)
    return None


def _order(question: str, low: str) -> Plan | None:
    m = _WHICH_FIRST.match(low)
    if m:
        verb = m.group("verb")
        default = ["speech"] if verb.endswith(("said", "mentioned")) else ["ocr", "visual"] if "shown" in verb else None
        a = anchor_event(m.group("a"), default=default)  # type: ignore[arg-type]
        b = anchor_event(m.group("b"), default=default or a.channels)  # type: ignore[arg-type]
        wants_first = m.group("pos") in ("first", "earlier")
        events = [_sub("e1", a, question), _sub("e2", b, question)]
        target = Target(kind="union", refs=["e1", "e2"])
        note = f"order question: which of the two comes {'first' if wants_first else 'last'}"
        return _plan(question, QuestionType.ORDER, AnswerForm.CHOICE, target, events, reasoning=note)
    m = _ORDER_YN.match(low)
    if m and " or " not in m.group("b"):
        a = anchor_event(m.group("a"))
        b = anchor_event(m.group("b"), default=a.channels)
        kind = "before" if m.group("rel") in ("before", "earlier than") else "after"
        events = [_sub("e1", a, question), _sub("e2", b, question)]
        relations = [Relation(kind=kind, a="e1", b="e2")]
        target = Target(kind="union", refs=["e1", "e2"])
        note = "order question: the relation is checked, not imposed"
        return _plan(question, QuestionType.ORDER, AnswerForm.YES_NO, target, events, relations, note)
    return None


_NTH_SPEAKER = {"first": "1", "second": "2", "third": "3", "fourth": "4", "other": "other", "next": "other"}
_WHICH_SPEAKER = re.compile(
    r"^what (?:does|did) the (?P<which>other|next|first|second|third|fourth) (?:speaker|person|voice|man|woman|"
    r"guest|host) (?:say|reply|answer|respond|ask)(?:\s+(?P<rel>to|after|right after|just after)\s+(?P<anchor>.+))?$"
)


def _speaker(question: str, low: str) -> Plan | None:
    """ "What does the other speaker reply to X?", "What does the second speaker say?"."""
    m = _WHICH_SPEAKER.match(low)
    if not m:
        return None
    which = _NTH_SPEAKER[m.group("which")]
    if m.group("anchor"):
        event = _sub("e1", anchor_event(m.group("anchor"), default=["speech"]), question)
        adjacent = m.group("rel") != "after"
        target = Target(kind="after", refs=["e1"], read=["speech"], adjacent=adjacent, speaker=which)
        return _plan(question, QuestionType.TEMPORAL_QA, AnswerForm.QUOTE, target, [event])
    target = Target(kind="video", read=["speech"], speaker="2" if which == "other" else which)
    return _plan(question, QuestionType.SPEECH, AnswerForm.QUOTE, target, [])


def _single(question: str, low: str) -> Plan | None:
    m = _SAID_ABOUT.match(low) or _WHO_IS.match(low)
    if m:
        topic = _cased(m.group("x"), question)
        event = SubEvent(id="e1", description=topic, paraphrases=[f"someone talks about {topic}"], channels=["speech"])
        return _plan(
            question, QuestionType.SPEECH, AnswerForm.QUOTE, Target(kind="event", refs=["e1"], read=["speech"]), [event]
        )
    m = _WHO_SAID.match(low) or _WHICH_VOICE.match(low)
    if m:
        event = _sub("e1", anchor_event(f"someone {m.group('verb')} {m.group('x')}"), question)
        target = Target(kind="event", refs=["e1"], read=["speaker"])
        return _plan(question, QuestionType.SPEECH, AnswerForm.SPEAKER, target, [event])
    if _TOPICS.match(low):
        return _plan(question, QuestionType.SUMMARY, AnswerForm.SUMMARY, Target(kind="video"), [])
    if _SPEAKER_COUNT.match(low):
        return _plan(question, QuestionType.COUNTING, AnswerForm.COUNT, Target(kind="video", read=["speaker"]), [])
    m = _POSITION.match(low)
    if m:
        pos = m.group("pos") or m.group("verb") or ""
        kind = "end" if pos in ("end", "ending", "last part") else "start"
        read: list[ReadChannel] = ["speech", "ocr", "visual"]
        return _plan(question, QuestionType.SUMMARY, AnswerForm.SUMMARY, Target(kind=kind, read=read), [])
    for frame, qtype, form in (
        (_WHEN_FRAME, QuestionType.GROUNDING, AnswerForm.SPAN),
        (_COUNT_FRAME, QuestionType.COUNTING, AnswerForm.COUNT),
    ):
        m = frame.match(low)
        if m:
            a = anchor_event(m.group("x"))
            if not set(a.channels) & {"speech", "ocr"}:
                return None  # an action: the general parser splits its clauses
            if qtype is QuestionType.COUNTING:
                a.occurrence = "all"
            return _plan(question, qtype, form, Target(kind="event", refs=["e1"]), [_sub("e1", a, question)])
    return None


def match_pattern(question: str, low: str) -> Plan | None:
    """The plan of a temporal-QA wording (``low`` is the normalised question), or None."""
    return _speaker(question, low) or _relative(question, low) or _order(question, low) or _single(question, low)


__all__ = ["match_pattern"]
