"""Validation and normalisation of questions before planning (length, content, prompt-injection attempts)."""

from __future__ import annotations

import re
import unicodedata

from vidreason.tools.core.errors import InvalidQuestion

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: bidirectional overrides/embeddings/isolates (text that displays differently from what the model reads) and
#: Unicode tag characters (invisible ASCII look-alikes used to smuggle instructions)
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: scripts written without spaces, where one character is a word (Han, kana, Hangul syllables)
_WORD = re.compile(
    "[^\\W\\d_]{2,}|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f]"
)
_INJECTION = [
    re.compile(r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules|guidelines)\b"),
    re.compile(r"\b(system|developer) (prompt|message|instructions?)\b"),
    re.compile(r"\byou are now\b|\bact as (an?|the) (?!person)\w+ (model|assistant|ai)\b"),
    re.compile(r"</?\s*(system|assistant|user|script|instructions?)\s*>"),
    re.compile(r"\b(reveal|print|show|repeat)\b.{0,30}\b(your|the) (prompt|instructions|api key|secrets?)\b"),
]
_POLITE = re.compile(
    r"^(?:(?:please|hey|hi)[, ]+)?(?:(?:can|could) you (?:please )?(?:tell me|show me|find)\s+|tell me\s+|"
    r"i (?:want|would like) to know\s+)"
)
MEDIA_REF = re.compile(r"\s*\b(?:in|of|from|during) (?:the|this) (?:video|clip|footage|recording)\b")


def validate_question(question: str, *, max_chars: int = 2000) -> str:
    """The question with whitespace collapsed; ``InvalidQuestion`` if it is empty, too long, has control
    characters, has no words, or reads as instructions to the model rather than a question about the video."""
    if not isinstance(question, str):
        raise InvalidQuestion(f"the question must be a string, got {type(question).__name__}")
    if _SURROGATE.search(question):  # undecodable bytes (a non-UTF-8 terminal or file) arrive as lone surrogates
        raise InvalidQuestion("the question is not valid UTF-8 text; send it UTF-8 encoded")
    text = unicodedata.normalize("NFC", question)
    if _CONTROL.search(text):
        raise InvalidQuestion("the question contains control characters; send plain text")
    hidden = _INVISIBLE.search(text)
    if hidden:
        raise InvalidQuestion(
            f"the question contains the invisible formatting character U+{ord(hidden.group(0)):04X} "
            "(bidirectional override or tag); send plain text"
        )
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise InvalidQuestion("the question is empty; ask something about the video, e.g. 'when does the door open?'")
    if len(text) > max_chars:
        raise InvalidQuestion(f"the question has {len(text)} characters; at most {max_chars} are allowed")
    if not _WORD.search(text):
        raise InvalidQuestion(f"the question {text[:60]!r} has no words; ask something about the video")
    low = text.lower()
    for pattern in _INJECTION:
        m = pattern.search(low)
        if m:
            raise InvalidQuestion(
                f"the question reads as instructions to the model ({m.group(0)!r}), not as a question about the video"
            )
    return text


def normalise(text: str) -> str:
    """Lowercase, straight quotes, no polite prefix, no trailing punctuation, no "in the video"."""
    low = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    low = _POLITE.sub("", low.strip())
    low = re.sub(r"[?!.\s]+$", "", low)
    # "what happens in the video" keeps its reference (summary questions)
    if not re.search(r"\b(happens?|going on|about)\b", low):
        low = MEDIA_REF.sub("", low)
    return re.sub(r"\s+", " ", low).strip()


__all__ = ["normalise", "validate_question"]
