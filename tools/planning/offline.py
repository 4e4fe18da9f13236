"""Deterministic question parser: the planner used when no LLM is configured and when the LLM's output stays
invalid. It writes the same ``Plan`` as the LLM planner.

From the wording it finds sub-events and relations (``then``, ``and then``, ``, and``, ``after``, ``before``,
``while``, ``when``, ``as``, ``until``, ordinals ``first ... finally``; inside one clause a second verb:
"walks in
holding a cup" = simultaneous, "runs over to use a vacuum" = sequence), the question type (grounding, temporal
QA, counting, summary, speech), the channels of each sub-event (visual / speech / on-screen text), the
occurrence
("the first time", "how many times"), the target span and the answer form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vidreason.tools.core.plan import AnswerForm, Plan, QuestionType, Relation, SubEvent, Target
from vidreason.tools.planning.clauses import Piece, split_actions, subject_of
from vidreason.tools.planning.lexicon import PRONOUNS, finite_base, ing_base, is_base_verb
from vidreason.tools.planning.patterns import match_pattern
from vidreason.tools.planning.question import MEDIA_REF, normalise, validate_question
from vidreason.tools.planning.rules import (
    AND_SUBJECTS,
    AUX_START,
    CONN_REL,
    LEAD_SUB,
    NOT_AS,
    OCCURRENCE,
    ORDINAL_LEAD,
    READ_SAY,
    SEQ,
    TARGET_OF_CONN,
    TRAIL_SUB,
    channels_of,
    classify,
    conjugate,
    is_generic,
    main_clause,
    occurrence_of,
    protect_quotes,
    restore_quotes,
    speech_description,
    strip_frame,
)

MAX_SUB_EVENTS = 4


@dataclass
class _Draft:
    """Clauses (mention order) with relations over their positions."""

    pieces: list[Piece] = field(default_factory=list)
    rels: list[tuple[str, int, int]] = field(default_factory=list)
    main: int = 0
    subordinate: str | None = None  # relation kind linking the main clause to a subordinate one

    def extend(self, other: _Draft) -> int:
        off = len(self.pieces)
        self.pieces.extend(other.pieces)
        self.rels.extend((k, a + off, b + off) for k, a, b in other.rels)
        return off


def _split_and(text: str) -> list[tuple[str, str]]:
    """Split at "and" / ", and" when a verb follows (optionally after a pronoun): ``[(part,
    kind_to_previous)]``."""
    tokens = text.split()
    cuts: list[int] = []
    for i, w in enumerate(tokens):
        if w != "and" or i == 0 or i + 1 >= len(tokens) or not _has_verb(" ".join(tokens[:i])):
            continue
        nxt = tokens[i + 2] if tokens[i + 1] in AND_SUBJECTS and i + 2 < len(tokens) else tokens[i + 1]
        if finite_base(nxt) or ing_base(nxt) or is_base_verb(nxt):
            cuts.append(i)
    parts: list[tuple[str, str]] = []
    start = 0
    for c in [*cuts, len(tokens)]:
        chunk = " ".join(tokens[start:c]).strip(" ,")
        if chunk:
            both_ing = bool(parts) and ing_base(chunk.split()[0]) is not None
            parts.append((chunk, "simultaneous" if both_ing else "sequence"))
        start = c + 1
    return parts or [(text, "sequence")]


def _split_sequence(text: str) -> _Draft:
    parts: list[tuple[str, str]] = []
    for seg in SEQ.split(text):
        seg = ORDINAL_LEAD.sub("", seg.strip(" ,"))
        if seg:
            parts.extend(_split_and(seg) if TRAIL_SUB.match(seg) is None else [(seg, "sequence")])
    draft = _Draft()
    prev_last: int | None = None
    subject = ""
    for part, kind in parts:
        sub = _split_subordinate(part, subject)
        off = draft.extend(sub)
        found = subject_of(sub.pieces[sub.main].text)
        if found and found not in PRONOUNS and (not subject or subject in PRONOUNS):
            subject = found
        if prev_last is not None:
            draft.rels.append((kind, prev_last, off))
        prev_last = off + len(sub.pieces) - 1
        draft.main = off + sub.main
        draft.subordinate = draft.subordinate or sub.subordinate
    return draft


def _split_subordinate(text: str, subject: str) -> _Draft:
    m = LEAD_SUB.match(text) or TRAIL_SUB.match(text)
    if m and m.group("conn") == "as" and (NOT_AS.search(m.group("main")) or not _has_verb(m.group("sub"))):
        m = None
    if not m:
        return _actions(text, subject)
    kind, main_first = CONN_REL[m.group("conn")]
    candidates = [subject, subject_of(m.group("main")), subject_of(m.group("sub"))]
    best = next((c for c in candidates if c and c not in PRONOUNS), subject)
    main = _actions(m.group("main"), best)
    sub = _actions(m.group("sub"), best)
    draft = _Draft(subordinate=kind)
    first, second = (main, sub) if main_first else (sub, main)
    off1 = draft.extend(first)
    off2 = draft.extend(second)
    main_at, sub_at = (off1 + first.main, off2) if main_first else (off2 + second.main, off1)
    draft.rels.append((kind, main_at, sub_at))
    draft.main = main_at
    return draft


def _actions(text: str, subject: str) -> _Draft:
    pieces, rels = split_actions(text, subject)
    return _Draft(pieces=pieces, rels=rels, main=0)


def _has_verb(text: str) -> bool:
    return any(finite_base(w) or ing_base(w) or is_base_verb(w) for w in text.split())


def parse_question(question: str, *, max_chars: int = 2000, max_sub_events: int = MAX_SUB_EVENTS) -> Plan:
    """Plan ``question`` from its wording alone. Raises ``InvalidQuestion`` for empty or unacceptable
    input."""
    clean = validate_question(question, max_chars=max_chars)
    low = normalise(clean)
    found = match_pattern(clean, low)
    if found is not None:
        return _renumber(found).completed()
    qtype = classify(low)
    prefix, main = main_clause(low)
    main, do_support = strip_frame(main, qtype)
    if do_support:
        main = conjugate(main)
    body = (prefix + main).strip()
    if qtype is not QuestionType.SUMMARY:
        body = MEDIA_REF.sub("", body).strip()
    body, quotes = protect_quotes(body)
    draft = _split_sequence(body)
    events: list[SubEvent] = []
    keep: list[int] = []
    notes: list[str] = []
    for i, piece in enumerate(draft.pieces):
        text, occ, nth = occurrence_of(piece.text)
        if qtype is QuestionType.COUNTING and i == draft.main:
            occ = "all"
        generic = is_generic(text) and (len(draft.pieces) > 1 or qtype is QuestionType.SUMMARY)
        if i == draft.main and generic:
            notes.append(f"main clause {piece.text!r} is generic: the answer is about the span around the others")
            continue
        channels = channels_of(text)
        paraphrases = [occurrence_of(p)[0] for p in piece.paraphrases]
        if "speech" in channels and "visual" not in channels:
            text, extra = speech_description(text)
            paraphrases = extra or paraphrases
        if text and finite_base(text.split()[0]):
            text = "someone " + text
        if not text:
            continue
        keep.append(i)
        events.append(
            SubEvent(
                id=f"e{len(events) + 1}",
                description=restore_quotes(text, quotes),
                paraphrases=[restore_quotes(p, quotes) for p in paraphrases[:3]],
                channels=channels,
                occurrence=occ,
                nth=nth,
            )
        )
    if len(events) > max_sub_events:
        notes.append(f"kept the first {max_sub_events} of {len(events)} sub-events")
        events, keep = events[:max_sub_events], keep[:max_sub_events]
    pos = {old: f"e{n + 1}" for n, old in enumerate(keep)}
    relations = [Relation(kind=k, a=pos[a], b=pos[b]) for k, a, b in draft.rels if a in pos and b in pos and a != b]
    rewrite = restore_quotes(OCCURRENCE.sub("", body), quotes).strip()
    if rewrite and finite_base(rewrite.split()[0]):
        rewrite = "someone " + rewrite
    if draft.main not in keep:  # the question's own clause was generic: no whole-query rewrite
        rewrite = ""
    plan = Plan(
        question=clean,
        question_type=qtype,
        sub_events=events,
        relations=relations,
        target=_target(qtype, draft, pos, events),
        answer_form=_answer_form(qtype, low, events),
        rewrites=[rewrite] if rewrite and not is_generic(rewrite) else [],
        planner="offline",
        reasoning="; ".join(notes) or f"offline parse: {len(events)} sub-event(s)",
    )
    return _renumber(plan).completed()


def _target(qtype: QuestionType, draft: _Draft, pos: dict[int, str], events: list[SubEvent]) -> Target:
    ids = [e.id for e in events]
    if not ids:
        return Target(kind="video")
    if draft.main not in pos:  # generic main clause: the span relative to the subordinate event
        kind = TARGET_OF_CONN.get(draft.subordinate or "", "union")
        anchor = next((pos[b] for k, a, b in draft.rels if a == draft.main and b in pos), ids[0])
        if kind == "union":
            return Target(kind="union", refs=ids) if len(ids) > 1 else Target(kind="event", refs=ids)
        return Target(kind=kind, refs=[anchor])
    if qtype is QuestionType.SUMMARY and len(ids) == 1:
        return Target(kind="event", refs=ids)
    if len(ids) == 1 or draft.subordinate or qtype is not QuestionType.GROUNDING:
        return Target(kind="event", refs=[pos[draft.main]])
    return Target(kind="union", refs=ids)


def _answer_form(qtype: QuestionType, low: str, events: list[SubEvent]) -> AnswerForm:
    if qtype is QuestionType.GROUNDING:
        return AnswerForm.SPAN
    if qtype is QuestionType.COUNTING:
        return AnswerForm.COUNT
    if qtype is QuestionType.SUMMARY:
        return AnswerForm.SUMMARY
    if qtype is QuestionType.SPEECH:
        return AnswerForm.TEXT if low.startswith("who") else AnswerForm.QUOTE
    if AUX_START.match(low):
        return AnswerForm.YES_NO
    if any("ocr" in e.channels for e in events) and READ_SAY.search(low):
        return AnswerForm.QUOTE
    return AnswerForm.TEXT


def _renumber(plan: Plan) -> Plan:
    """Rename sub-events so that e1, e2, ... follow the temporal order the relations imply."""
    order = plan.temporal_order()
    if order == [e.id for e in plan.sub_events]:
        return plan
    new = {old: f"e{i + 1}" for i, old in enumerate(order)}
    data = plan.model_dump()
    by_id = {e["id"]: e for e in data["sub_events"]}
    data["sub_events"] = [{**by_id[old], "id": new[old]} for old in order]
    data["relations"] = [{**r, "a": new[r["a"]], "b": new[r["b"]]} for r in data["relations"]]
    data["target"]["refs"] = [new[r] for r in data["target"]["refs"]]
    return Plan.model_validate(data)


__all__ = ["MAX_SUB_EVENTS", "parse_question"]
