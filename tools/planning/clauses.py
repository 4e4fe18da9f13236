"""Splitting one clause into actions by its verbs (used by the offline planner).

"a person walks into the room holding a picture" -> walks (finite) + holding (participle) = simultaneous;
"person runs over to use a vacuum" -> runs + purpose "to use" = sequence;
"person opens it up takes a picture" -> two finite verbs without a connective = sequence;
"person sitting on the bed stands up" -> a posture participle ended by a transition verb = sequence;
"a smiling person walks in" -> the attribute "smiling" is a simultaneous action.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vidreason.tools.planning.lexicon import (
    CATENATIVE,
    CATENATIVE_ING,
    PRONOUNS,
    SUBJECT_WORDS,
    TRANSITION,
    finite_base,
    ing_base,
    is_base_verb,
    present_participle,
    third_person,
    word_set,
)

_AUX = word_set("is are was were am be been")
_DETERMINERS = word_set("a an the his her their its my your our this that these those some another one")
_GERUND_PREPS = word_set("of for from without by about after before while in on at with like into than")
_TO_BLOCK = word_set("about going able has have had used supposed got ought")
_CLOSED = word_set(
    """
    and or but not no very so too also then up down out off over back in on at it them him her me us
    """
)
_PLURAL = word_set("they we people men women boys girls kids children persons players")
_PERSONS = ("a person", "the person", "person", "a man", "the man", "a woman", "the woman")


@dataclass
class Piece:
    """One action: its description and offline paraphrases."""

    text: str
    paraphrases: list[str] = field(default_factory=list)


@dataclass
class _Head:
    pos: int  # first token of the piece
    kind: str  # finite | base | prog | ing | purpose | attr
    base: str


def _verb_base(word: str) -> str | None:
    return finite_base(word) or ing_base(word) or (word if is_base_verb(word) else None)


def _first_head(tokens: list[str]) -> _Head | None:
    for j, w in enumerate(tokens):
        if w in _AUX and j + 1 < len(tokens) and ing_base(tokens[j + 1]):
            return _Head(j, "prog", ing_base(tokens[j + 1]) or "")
        base = finite_base(w)
        if base and (j == 0 or tokens[j - 1] not in _DETERMINERS):
            return _Head(j, "finite", base)
        base = ing_base(w)
        if base and (j == 0 or tokens[j - 1] not in _DETERMINERS):
            return _Head(j, "ing", base)
        if is_base_verb(w) and j > 0 and all(t in SUBJECT_WORDS for t in tokens[:j]):
            return _Head(j, "base", w)
        if is_base_verb(w) and j == 0:
            return _Head(j, "base", w)
    return None


def _later_heads(tokens: list[str], first: _Head) -> list[_Head]:
    heads = [first]
    skip_until = first.pos + (2 if first.kind == "prog" else 1)
    for j in range(skip_until, len(tokens)):
        w, prev = tokens[j], tokens[j - 1]
        prev_base = _verb_base(prev)
        if w == "to" and j + 1 < len(tokens) and is_base_verb(tokens[j + 1]):
            if prev in _TO_BLOCK or (prev_base in CATENATIVE):
                continue
            heads.append(_Head(j + 1, "purpose", tokens[j + 1]))
            continue
        if prev in _AUX or prev in _DETERMINERS or prev == "to" or any(h.pos == j for h in heads):
            continue
        base = ing_base(w)
        if base:
            if prev in _GERUND_PREPS or prev_base in CATENATIVE_ING:
                continue
            heads.append(_Head(j, "ing", base))
            continue
        if prev_base is not None or prev.endswith("'s"):
            # right after a verb or a possessive, an inflected form is an object noun ("washing hands")
            continue
        base = finite_base(w)
        if base and prev not in _GERUND_PREPS and w not in ("left", "set", "read", "put", "cut", "hit"):
            heads.append(_Head(j, "finite", base))
        elif first.kind == "base" and is_base_verb(w) and prev not in _GERUND_PREPS and prev not in _CLOSED:
            heads.append(_Head(j, "base", w))  # "person open the door walk back in": base forms throughout
    return heads


def _relation(cur: _Head, nxt: _Head) -> str:
    if nxt.kind == "purpose":
        return "sequence"
    if cur.kind == "ing" and nxt.kind in ("finite", "prog"):
        return "sequence" if nxt.base in TRANSITION else "simultaneous"
    if nxt.kind == "ing":
        return "simultaneous"
    return "sequence"


def subject_of(text: str) -> str:
    """The words before the first verb of ``text`` ("the man" in "the man opens the door")."""
    tokens = text.split()
    head = _first_head(tokens)
    if head is None:
        return ""
    return " ".join(t for t in tokens[: head.pos] if not ing_base(t))


def _plural(subject: str) -> bool:
    return bool(subject) and subject.split()[-1] in _PLURAL


def _paraphrases(subject: str, head: _Head, rest: list[str]) -> list[str]:
    out: list[str] = []
    tail = " ".join(rest)
    if subject in _PERSONS:
        out.append(f"someone {third_person(head.base)} {tail}".strip())
    if head.kind in ("finite", "base", "purpose") and head.base not in ("be", "have"):
        be = "are" if _plural(subject) else "is"
        out.append(f"{subject or 'someone'} {be} {present_participle(head.base)} {tail}".strip())
    elif head.kind in ("ing", "prog", "attr") and not _plural(subject):
        out.append(f"{subject or 'someone'} {third_person(head.base)} {tail}".strip())
    return [p for p in dict.fromkeys(out)]


def split_actions(text: str, inherited_subject: str = "") -> tuple[list[Piece], list[tuple[str, int, int]]]:
    """Split one clause into actions; returns the pieces (mention order) and relations ``(kind, i, j)``."""
    tokens = text.split()
    first = _first_head(tokens)
    if first is None:
        return [Piece(text)], []
    subject_tokens = tokens[: first.pos]
    attrs = [t for t in subject_tokens if ing_base(t) and t not in ("something", "nothing")]
    subject = " ".join(t for t in subject_tokens if t not in attrs)
    if inherited_subject and inherited_subject not in PRONOUNS and (not subject or subject in PRONOUNS):
        # "they open" -> "the man opens"
        if subject and first.kind == "base" and not _plural(inherited_subject):
            tokens[first.pos] = third_person(tokens[first.pos])
        subject = inherited_subject
    heads = _later_heads(tokens, first)
    plural = _plural(subject)
    pieces: list[Piece] = []
    rels: list[tuple[str, int, int]] = []
    for attr in attrs:
        base = ing_base(attr) or attr
        head = _Head(0, "attr", base)
        pieces.append(Piece(f"{subject} {'are' if plural else 'is'} {attr}".strip(), _paraphrases(subject, head, [])))
    for k, head in enumerate(heads):
        end = heads[k + 1].pos if k + 1 < len(heads) else len(tokens)
        if k + 1 < len(heads) and heads[k + 1].kind == "purpose":
            end -= 1  # drop the "to"
        words = tokens[head.pos : end]
        if head.kind == "ing":
            desc = [*subject.split(), "are" if plural else "is", *words]
        elif head.kind == "purpose":
            desc = [*subject.split(), words[0] if plural else third_person(words[0]), *words[1:]]
        else:
            desc = [*subject.split(), *words]
        rest = words[2:] if head.kind == "prog" else words[1:]
        pieces.append(Piece(" ".join(desc) if desc else text, _paraphrases(subject, head, rest)))
    n_attr = len(attrs)
    for i in range(n_attr):
        rels.append(("simultaneous", i, n_attr))
    for k in range(len(heads) - 1):
        rels.append((_relation(heads[k], heads[k + 1]), n_attr + k, n_attr + k + 1))
    return pieces, rels


__all__ = ["Piece", "split_actions", "subject_of"]
