"""Wording for template answers: times, spans, quotes, and how to refer to a searched sub-event in a sentence
("the speaker mentions the budget", "“Q3 review” is on screen", "the man opens the fridge"). Never an internal
id."""

from __future__ import annotations

from vidreason.tools.core.plan import SubEvent
from vidreason.tools.planning.lexicon import finite_base, ing_base

CHANNEL_NAMES = {"speech": "speech", "ocr": "on-screen text", "caption": "captions", "visual": "the frames"}


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def voice(label: str) -> str:
    """A diarization label for people: ``SPEAKER_02`` (numbered from 0 in order of first appearance) ->
    "the third voice (SPEAKER_02)"; other labels stay as they are."""
    head, _, number = label.rpartition("_")
    if head.upper() == "SPEAKER" and number.isdigit():
        n = int(number)
        return f"the {_ORDINALS[n]} voice ({label})" if n < len(_ORDINALS) else f"voice {n + 1} ({label})"
    return label


def fmt_time(t: float) -> str:
    """Seconds as ``12.3s`` (or ``1:02.3`` past a minute)."""
    if t < 60:
        return f"{t:.1f}s"
    m, s = divmod(t, 60)
    return f"{int(m)}:{s:04.1f}"


def fmt_span(s: float, e: float) -> str:
    return f"{fmt_time(s)}-{fmt_time(e)}"


def quote(text: str) -> str:
    """``text`` in typographic quotes, without quotes of its own around it."""
    return "\u201c" + text.strip().strip("\"'\u201c\u201d\u2018\u2019").strip() + "\u201d"


def sentence(text: str) -> str:
    """First letter upper-case, final full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if text.endswith("\u201d") and text[-2:-1] in (".", "!", "?"):
        return text
    return text if text.endswith((".", "!", "?", ")")) else text + "."


def _topic(event: SubEvent) -> str:
    d = event.description.strip()
    if d[:1] in "'\"" and d[-1:] in "'\"":
        return quote(d)
    return d


def said_verb_first(event: SubEvent) -> bool:
    word = event.description.split(" ", 1)[0]
    return bool(finite_base(word) or ing_base(word) or word in ("says", "thanks", "asks", "answers"))


def event_clause(event: SubEvent, *, occurrence: str = "") -> str:
    """A clause for ``event``: "the speaker mentions the budget", "“exit” is on screen", "the man sits down"."""
    adverb = f"{occurrence} " if occurrence else ""
    if event.channels == ["speech"]:
        if said_verb_first(event):
            return f"the speaker {adverb}{event.description}"
        return f"the speaker {adverb}mentions {_topic(event)}"
    if event.channels == ["ocr"]:
        return f"{_topic(event)} {adverb}appears on screen"
    return event.description if not adverb else f"{event.description} ({occurrence.strip()})"


def event_name(event: SubEvent) -> str:
    """A noun phrase for ``event`` ("the budget", "“Q3 review”", "the man sits down")."""
    if event.channels in (["speech"], ["ocr"]) and not said_verb_first(event):
        return _topic(event)
    return event.description


def ordinal(event: SubEvent) -> str:
    if event.nth is not None:
        return {2: "for the second time", 3: "for the third time"}.get(event.nth, f"for the {event.nth}th time")
    return {"first": "first", "last": "last"}.get(event.occurrence, "")


def join_times(times: list[float]) -> str:
    parts = [fmt_time(t) for t in times]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


__all__ = [
    "CHANNEL_NAMES",
    "event_clause",
    "event_name",
    "fmt_span",
    "fmt_time",
    "join_times",
    "ordinal",
    "quote",
    "sentence",
]
