"""One searched moment of a question (an *anchor*), from its wording: what to search for, on which channel, and
which occurrence.

    anchor_event("mentioning the budget")            -> topic "the budget" on speech
    anchor_event("the speaker first mentions budget") -> topic "budget" on speech, first occurrence
    anchor_event("the slide shows 'Q3 review'")       -> topic "'Q3 review'" on on-screen text
    anchor_event("the man opens the door")            -> "the man opens the door" on the frames
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vidreason.tools.core.plan import Channel, Occurrence
from vidreason.tools.planning.lexicon import finite_base, ing_base, is_base_verb, third_person
from vidreason.tools.planning.rules import channels_of, occurrence_of

#: who may be named as the speaker of an utterance (left out of what is searched in the transcript)
SPEAKERS = (
    r"(?:the |a |an |this |that )?(?:speaker|narrator|presenter|host|reporter|man|woman|person|guy|lady|boy|girl|"
    r"voice|announcer|teacher|lecturer|interviewer|interviewee|reader|caller|someone|somebody|he|she|they|we|i|you|"
    r"it)"
)
_SAY = (
    r"(?:says?|said|saying|mentions?|mentioned|mentioning|talks? about|talked about|talking about|speaks? about|"
    r"spoke about|speaking about|discuss(?:es|ed|ing)?|tells? us about|told us about|telling us about|"
    r"brings? up|brought up|bringing up|refers? to|referring to|asks? about|asking about|names?|naming|"
    r"pronounces?|pronouncing|utters?|uttering|reads? out|reads? aloud|reads?|reading|recites?|reciting|"
    r"address(?:es|ed|ing)?)"
)
_SPEECH_ACTIVE = re.compile(rf"^(?:{SPEAKERS}\s+)?(?:(?P<occ>first|last|finally|again)\s+)?{_SAY}\s+(?P<topic>.+)$")
_SPEECH_PASSIVE = re.compile(
    r"^(?:the (?:word|words|phrase|name|term) )?(?P<topic>.+?)\s+(?:(?:is|are|was|were|gets|got|being)\s+)?"
    r"(?:(?P<occ>first|last)\s+)?(?:said|mentioned|spoken|heard|named|brought up|pronounced|discussed|read(?: out)?|"
    r"recited|introduced|announced)"
    r"(?:\s+(?:for the (?:first|last) time|first|last))?$"
)
_SPEECH_VERB_ONLY = re.compile(
    rf"^(?:{SPEAKERS}\s+)?(?P<verb>thanks?|thanked|thanking|greets?|greeted|greeting|welcomes?|welcomed|"
    r"welcoming|introduces?|introduced|introducing|asks?|asked|asking|answers?|answered|answering|"
    r"announces?|announced|announcing|explains?|explained|explaining|concludes?|concluded|says goodbye)"
    r"(?P<rest>\b.*)$"
)
_OCR = re.compile(
    r"^(?:the |a )?(?:slide|screen|sign|title|caption|subtitle|banner|board|text|card|overlay|label|poster)s?\s+"
    r"(?:shows?|showed|showing|reads?|reading|says?|said|saying|displays?|displayed|displaying)\s+(?P<topic>.+)$|"
    r"^(?:the )?(?:text |title |words? |caption |slide |heading |headline )?(?P<topic2>.+?)\s+(?:appears?|appeared|"
    r"(?:(?:is|was)\s+)?(?:shown|displayed|written|visible)|(?:is|was) on (?:the )?(?:screen|slide)|shows up|"
    r"showed up|comes up|came up)"
    r"(?:\s+on (?:the )?(?:screen|slide))?$"
)
_LEAD = re.compile(
    r"^(?:the (?:moment|point|time|part|scene)s?\s+(?:when|where|that)\s+|someone\s+(?=\w+ing\b)|"
    r"(?:the|a|an|his|her|their) (?:question|remark|comment|mention|line|sentence|statement|words?) "
    r"(?:about|on|of|regarding)\s+)"
)
_OCC_ADVERB = re.compile(r"\b(first|last|finally)\s+(?=\w)")


@dataclass
class Anchor:
    """A searched sub-event as wording: description, paraphrases, channels and occurrence."""

    description: str
    channels: list[Channel]
    paraphrases: list[str] = field(default_factory=list)
    occurrence: Occurrence = "any"
    nth: int | None = None


def _occurrence(word: str | None) -> Occurrence:
    return {"first": "first", "last": "last", "finally": "last"}.get(word or "", "any")  # type: ignore[return-value]


def _clean(text: str) -> str:
    text = _LEAD.sub("", text.strip(" ,.;"))
    return re.sub(r"\s+(?:then|now|there|here|in the video|in this video)$", "", text).strip()


def _adverb_occurrence(text: str) -> tuple[str, Occurrence]:
    """``first``/``last`` used as an adverb before a verb ("the speaker first mentions X")."""
    for m in _OCC_ADVERB.finditer(text):
        nxt = text[m.end() :].split(" ", 1)[0]
        if finite_base(nxt) or ing_base(nxt) or is_base_verb(nxt) or re.match(_SAY, nxt):
            rest = (text[: m.start()] + text[m.end() :]).strip()
            return re.sub(r"\s+", " ", rest), _occurrence(m.group(1))
    return text, "any"


_DETERMINERS = frozenset(
    ["the", "a", "an", "this", "that", "these", "those", "his", "her", "their", "our", "its", "my", "your"]
)


def _has_verb(words: list[str]) -> bool:
    """Whether ``words`` hold a verb form ("the man opens", "opening the door"); an -ing word after a
    determiner is a noun or an adjective ("the following conditions", "the opening riff")."""
    return any(
        finite_base(w) or (ing_base(w) and not (k and words[k - 1] in _DETERMINERS)) for k, w in enumerate(words)
    )


def anchor_event(text: str, *, default: list[Channel] | None = None) -> Anchor:
    """The anchor that ``text`` describes (see the module doc). ``default`` channels apply to wording with no
    cue of its own ("... or Berlin" after "is the budget mentioned before ...")."""
    text, occ, nth = occurrence_of(_clean(text))
    text, adverb = _adverb_occurrence(text)
    occ = adverb if occ == "any" else occ
    m = _SPEECH_ACTIVE.match(text) or _SPEECH_PASSIVE.match(text)
    if m:
        topic = m.group("topic").strip()
        found = _occurrence(m.group("occ")) if occ == "any" else occ
        return Anchor(topic, ["speech"], [f"someone mentions {topic}"], found, nth)
    m = _OCR.match(text)
    if m:
        topic = (m.group("topic") or m.group("topic2") or "").strip()
        return Anchor(topic, ["ocr"], [], occ, nth)
    m = _SPEECH_VERB_ONLY.match(text)
    if m:  # "the speaker thanks the audience": search the act itself in the transcript, without the subject
        said = (m.group("verb") + m.group("rest")).strip()
        return Anchor(said, ["speech"], [text] if text != said else [], occ, nth)
    if default and not _has_verb(text.split()):
        return Anchor(text, list(default), [], occ, nth)  # a bare noun phrase takes the other anchor's channel
    words = text.split()
    base = ing_base(words[0]) if words else None
    if base:  # "opening the door" -> "someone opens the door"
        text = " ".join(["someone", third_person(base), *words[1:]])
    return Anchor(text, channels_of(text), [], occ, nth)


__all__ = ["SPEAKERS", "Anchor", "anchor_event"]
