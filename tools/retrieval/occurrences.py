"""Where a searched sub-event occurs in the text channels (transcript lines, on-screen text, captions), with
absolute match scores, so a search can also conclude that something is *not* in the video.

Each text item is scored against the sub-event's key words (lexical: normalised BM25 of the content words,
without "the speaker mentions"-like framing) and its meaning (dense: sentence-embedding cosine). An item is an
occurrence when enough of the key words are in it (``LEXICAL_MIN``) or it means the same (``DENSE_MIN``);
consecutive matching items (a sentence split across transcript lines) are one occurrence. ``hits`` counts how
often the key words are said in it (for "how many times").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from vidreason.tools.core.plan import SubEvent
from vidreason.tools.core.text import STOPWORDS
from vidreason.tools.index.views import TextItem, line_of
from vidreason.tools.text.match import TextMatcher, stem

#: share of the (idf-weighted) key words an item must contain to match lexically
LEXICAL_MIN = 0.5
#: sentence-embedding cosine above which an item matches by meaning alone
DENSE_MIN = 0.6
#: items closer than this (seconds) that both match are one occurrence
JOIN_GAP_S = 0.6
#: words that frame a sub-event rather than name it ("the speaker mentions ...", "text on the screen")
FRAMING = frozenset(
    stem(w)
    for w in [
        "someone",
        "somebody",
        "speaker",
        "narrator",
        "reader",
        "reads",
        "recite",
        "recites",
        "recited",
        "address",
        "addresses",
        "addressing",
        "addressed",
        "presenter",
        "person",
        "man",
        "woman",
        "voice",
        "word",
        "words",
        "phrase",
        "name",
        "term",
        "say",
        "says",
        "said",
        "saying",
        "mention",
        "mentions",
        "mentioned",
        "mentioning",
        "introduce",
        "introduces",
        "introduced",
        "introducing",
        "talk",
        "talks",
        "talked",
        "talking",
        "speak",
        "speaks",
        "speaking",
        "tell",
        "tells",
        "told",
        "about",
        "screen",
        "slide",
        "show",
        "shows",
        "shown",
        "text",
        "appears",
        "appear",
        "sign",
        "title",
        "caption",
        "video",
        "clip",
        # the addressees of a speech act ("thanks the audience" is found by "thank")
        "audience",
        "viewers",
        "listeners",
        "everyone",
        "everybody",
        "people",
        "guests",
        "crowd",
    ]
)
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\W\d_]+|\d+", re.UNICODE)


class Occurrence(BaseModel):
    """A moment a sub-event occurs in one text channel."""

    start: float
    end: float
    score: float = Field(
        description="absolute match strength in [0, 1]: 1 when every key word is said, else the better of the "
        "lexical and dense scores"
    )
    channel: str
    text: str
    item_ids: list[str] = Field(default_factory=list)
    hits: int = Field(1, description="times the key words occur in it (1 for a match by meaning)")
    lexical: float = 0.0
    dense: float = 0.0


def key_words(text: str) -> list[str]:
    """The content words of ``text`` without framing words (lowercase, unstemmed, in order); when every word
    frames, the words themselves."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
    content = [w for w in words if stem(w) not in FRAMING]
    return list(dict.fromkeys(content or words))  # "what does he say about a person": the person is the topic


def _hits(terms: list[str], text: str) -> int:
    """How often the key words occur together in ``text`` (the rarest key word's count)."""
    stems = [stem(w) for w in _WORD.findall(text.lower())]
    counts = [sum(1 for s in stems if s == stem(t)) for t in terms]
    return min(counts) if counts else 0


def find_in_items(matcher: TextMatcher, event: SubEvent, items: Sequence[TextItem], channel: str) -> list[Occurrence]:
    """The occurrences of ``event`` among ``items`` (one channel, time-ordered), in time order. Phrases of one
    transcript line are searched one by one and, where none of them matches alone, as the whole line (a
    question that quotes a whole line)."""
    out = _find(matcher, event, items, channel)
    lines, pieces = _whole_lines(items)
    if not lines:
        return out
    taken = {i for o in out for i in o.item_ids}
    for o in _find(matcher, event, lines, channel):
        ids = [i for line_id in o.item_ids for i in pieces[line_id]]
        if not taken.intersection(ids):
            out.append(o.model_copy(update={"item_ids": ids}))
    return sorted(out, key=lambda o: (o.start, o.end))


def _whole_lines(items: Sequence[TextItem]) -> tuple[list[TextItem], dict[str, list[str]]]:
    """Each transcript line split into phrases (``speech:<line>.<k>``) joined again, and the ids of its phrases."""
    groups: dict[str, list[TextItem]] = {}
    for it in items:
        line = line_of(it)
        if line is not None:
            groups.setdefault(line, []).append(it)
    lines = [
        TextItem(
            id=line_id,
            channel="speech",
            start=parts[0].start,
            end=parts[-1].end,
            text=" ".join(p.text for p in parts),
            node_id=parts[0].node_id,
            speaker=parts[0].speaker,
        )
        for line_id, parts in groups.items()
    ]
    return lines, {line_id: [p.id for p in parts] for line_id, parts in groups.items()}


def _find(matcher: TextMatcher, event: SubEvent, items: Sequence[TextItem], channel: str) -> list[Occurrence]:
    if not items:
        return []
    texts = [it.text for it in items]
    terms = key_words(event.description)
    lexical = matcher.bm25(" ".join(terms), texts) if terms else np.zeros(len(items))
    dense_parts = [d for d in (matcher.dense(t, texts) for t in event.texts[:3]) if d is not None]
    dense = np.max(np.stack(dense_parts), axis=0) if dense_parts else None
    matched: list[tuple[TextItem, float, float, int]] = []
    for i, it in enumerate(items):
        lex = float(lexical[i])
        den = float(dense[i]) if dense is not None else 0.0
        named = _hits(terms, it.text)  # every key word said (BM25 alone undervalues a long line that says them)
        if named or lex >= LEXICAL_MIN or den >= DENSE_MIN:
            matched.append((it, max(lex, LEXICAL_MIN) if named else lex, den, named))
    out: list[Occurrence] = []
    for it, lex, den, named in matched:
        hits = max(1, named) if lex >= LEXICAL_MIN else 1
        prev = out[-1] if out else None
        if (
            prev is not None
            and it.start - prev.end <= JOIN_GAP_S
            and not (lex >= LEXICAL_MIN and prev.lexical >= LEXICAL_MIN)
        ):
            # a sentence split across lines: one moment (two lines that each name the key words stay two)
            prev.end = max(prev.end, it.end)
            prev.text = f"{prev.text} {it.text}".strip()
            prev.item_ids.append(it.id)
            prev.score = max(prev.score, lex, den)
            continue
        out.append(
            Occurrence(
                start=it.start,
                end=it.end,
                # every key word said: a mention as good as any other (the choice between mentions is by time)
                score=1.0 if named else round(max(lex, den), 4),
                channel=channel,
                text=it.text,
                item_ids=[it.id],
                hits=hits,
                lexical=round(lex, 4),
                dense=round(den, 4),
            )
        )
    return out


__all__ = ["DENSE_MIN", "FRAMING", "LEXICAL_MIN", "Occurrence", "find_in_items", "key_words"]
