"""Wording rules of the offline planner: connective and question-frame patterns, channel and occurrence
detection, question classification, quoting. Used by :mod:`vidreason.tools.planning.offline`."""

from __future__ import annotations

import re

from vidreason.tools.core.plan import Channel, Occurrence, QuestionType
from vidreason.tools.core.text import STOPWORDS
from vidreason.tools.planning.lexicon import finite_base, ing_base, is_base_verb, third_person, word_set

SUMMARY = re.compile(
    r"\b(summari[sz]e|summary|overview|recap|gist|tl;?dr)\b|"
    r"^what (happens|is happening|goes on) in (the|this) "
    r"(video|clip)$|^what is (the|this) (video|clip) about|^describe (the|this) (video|clip)"
)
COUNTING = re.compile(r"\bhow many\b|\bhow often\b|\bnumber of times\b|^count\b")
WHO_SAID = re.compile(r"^who (said|says|mentions|mentioned|asks|asked|tells|told|shouts|shouted)\b")
SPEECH_ONLY = re.compile(
    r"\b(say|says|said|saying|mention\w*|tell|tells|told|quote\w*|words?|narrat\w*|speaker|voice\w*|"
    r"announc\w*|"
    r"explain\w*|utter\w*|pronounc\w*|(talk|talks|talked|talking|speak|speaks|speaking|spoke) about)\b"
)
SPEECH_VISIBLE = re.compile(
    r"\b(talk|talks|talked|talking|speak|speaks|speaking|spoke|sing|sings|singing|sang|shout\w*|yell\w*|"
    r"whisper\w*|chat|chats|chatting|argu\w*|discuss\w*|ask|asks|asked|asking|answer\w*)\b"
)
OCR_ONLY = re.compile(
    r"\b(text|texts|written|on[- ]screen|caption\w*|subtitle\w*|title|titles|headline\w*|slides?|"
    r"writing on (the |a )?(screen|board|wall|sign))\b"
)
OCR_OBJECT = re.compile(
    r"\b(sign|signs|signboard|banner\w*|label\w*|logo\w*|poster\w*|whiteboard|blackboard|"
    r"board|screen|license plate|menu|note|notes)\b"
)
READ_SAY = re.compile(r"\b(say|says|said|read|reads|show|shows|display\w*)\b")
OCCURRENCE = re.compile(
    r"\s*\b(?:for )?the (first|last|final|second|third|fourth|1st|2nd|3rd|4th) time\b|"
    r"\s*\b(?:for )?the (first|last) "
    r"(?=\w)"
)
AND_SUBJECTS = word_set("he she they i we it someone then also")
NTH = {"second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}

LEAD_SUB = re.compile(
    r"^(?P<conn>after|before|while|whilst|when|once|as soon as|until|during|right after|just before) "
    r"(?P<sub>[^,]+?),\s*(?P<main>.+)$"
)
TRAIL_SUB = re.compile(
    r"^(?P<main>.+?)\s+(?P<conn>right after|just before|after|before|while|whilst|when|during|until|"
    r"as soon as|at the same time as|as)\s+(?P<sub>.+)$"
)
SEQ = re.compile(
    r"\s*(?:,\s*and then\b|\band then\b|,\s*then\b|\bthen\b|;|,\s*after that\b,?|\bafter that\b,?|"
    r",\s*afterwards\b,?|\bafterwards\b,?|,\s*followed by\b|\bfollowed by\b|"
    r",\s*(?:and\s+)?(?:finally|lastly)\b,?|"
    r",\s*next\b,?)\s*"
)
ORDINAL_LEAD = re.compile(r"^(?:first(?:ly)?|at first|second(?:ly)?|third(?:ly)?|next|finally|lastly|then),?\s+")
NOT_AS = re.compile(r"\b(such|as well|same|dressed|known|so|just)\s*$")

CONN_REL: dict[str, tuple[str, bool]] = {  # connective -> (relation kind of (main, sub), main comes first)
    "after": ("after", False),
    "right after": ("after", False),
    "once": ("after", False),
    "as soon as": ("after", False),
    "before": ("before", True),
    "just before": ("before", True),
    "until": ("before", True),
    "while": ("during", True),
    "whilst": ("during", True),
    "during": ("during", True),
    "when": ("overlaps", True),
    "as": ("simultaneous", True),
    "at the same time as": ("simultaneous", True),
}
TARGET_OF_CONN = {
    "after": "after",
    "before": "before",
    "during": "during",
    "overlaps": "during",
    "simultaneous": "during",
}

WH_GROUNDING = re.compile(
    r"^(?:when|at what (?:time|point|moment)|what time|in which (?:part|scene|shot|moment)|"
    r"which (?:part|moment|"
    r"scene))\s+(?:(?P<aux>does|do|did|is|are|was|were|will|can)\s+)?|^(?:find|show(?: me)?|locate|give me|"
    r"point to|highlight)\s+(?:the\s+)?(?:(?:moment|part|scene|segment|clip|time|span|frames?)\s+)?"
    r"(?:(?:where|when|in which|that)\s+)?"
)
WH_COUNT = re.compile(
    r"^(?:how many times|how often|(?:count )?(?:the )?number of times)\s+"
    r"(?:(?P<aux>does|do|did|is|are|was|were|"
    r"has|have|can)\s+)?|^count (?:how many times\s+)?|^how many\s+"
)
WH_QA = re.compile(
    r"^(?:what|which|whose|where|why|how)(?:\s+\w+)?\s+"
    r"(?P<aux>does|do|did|is|are|was|were|has|have|can|could|"
    r"will)\s+|^(?:who|what)\s+(?=\w)"
)
AUX_START = re.compile(r"^(?:is|are|was|were|does|do|did|can|could|has|have|will)\s+")
GENERIC = word_set(
    """
    do does did doing done happen happens happened happening occur occurs going person someone people he she
    they thing things next else man woman anyone anything summarize summarise summary overview recap
    describe video clip gist
    """
)


def channels_of(text: str) -> list[Channel]:
    ocr_only = bool(OCR_ONLY.search(text))
    ocr_obj = bool(OCR_OBJECT.search(text)) and bool(READ_SAY.search(text))
    if ocr_only:
        return ["ocr"]
    if ocr_obj:
        return ["ocr", "visual"]
    if SPEECH_ONLY.search(text):
        return ["speech"]
    if SPEECH_VISIBLE.search(text):
        return ["visual", "speech"]
    return ["visual"]


def occurrence_of(text: str) -> tuple[str, Occurrence, int | None]:
    m = OCCURRENCE.search(text)
    if not m:
        return text, "any", None
    word = m.group(1) or m.group(2)
    rest = (text[: m.start()] + " " + text[m.end() :]).strip()
    rest = re.sub(r"\s+", " ", rest)
    if word in ("first", "1st"):
        return rest, "first", None
    if word in ("last", "final"):
        return rest, "last", None
    return rest, "any", NTH[word]


def strip_frame(text: str, qtype: QuestionType) -> tuple[str, bool]:
    """Remove the question frame ("when does", "how many times did", "what does") from a clause; the flag says
    whether do-support was removed (so the verb needs conjugating)."""
    patterns = {QuestionType.COUNTING: WH_COUNT, QuestionType.GROUNDING: WH_GROUNDING}
    for pat in (patterns.get(qtype), WH_GROUNDING, WH_QA, AUX_START):
        if pat is None:
            continue
        m = pat.match(text)
        if m and m.end() > 0:
            aux = m.groupdict().get("aux")
            return text[m.end() :].strip(), aux in ("does", "do", "did")
    return text, False


def conjugate(text: str) -> str:
    """After do-support removal: "the person open the door" -> "the person opens the door"."""
    words = text.split()
    for i, w in enumerate(words):
        if is_base_verb(w) and i > 0 and words[i - 1] not in ("to",):
            if words[i - 1] not in ("they", "we", "i", "you", "people", "men", "women"):
                words[i] = third_person(w)
            break
        if finite_base(w) or ing_base(w):
            break
    return " ".join(words)


def is_generic(text: str) -> bool:
    return not [w for w in re.findall(r"[a-z']+", text) if w not in STOPWORDS and w not in GENERIC]


def speech_description(text: str) -> tuple[str, list[str]]:
    m = re.match(
        r"^(?P<subj>.*?)\s*\b(?:say|says|said|mention|mentions|mentioned|talk|talks|speak|speaks|tell|"
        r"tells)\s+(?:about\s+)?(?P<topic>.+)$",
        text,
    )
    if m and m.group("topic"):
        who = m.group("subj").strip() or "someone"
        topic = m.group("topic").strip()
        if " about " not in f" {text} ":
            return f"{who} says {topic}", [topic]
        return f"{who} talks about {topic}", [topic, f"someone mentions {topic}"]
    return text, []


def classify(low: str) -> QuestionType:
    if SUMMARY.search(low):
        return QuestionType.SUMMARY
    if COUNTING.search(low):
        return QuestionType.COUNTING
    low = main_clause(low)[1]
    if WHO_SAID.match(low):
        return QuestionType.SPEECH
    if WH_GROUNDING.match(low) and WH_GROUNDING.match(low).end() > 0:  # type: ignore[union-attr]
        return QuestionType.GROUNDING
    if WH_QA.match(low) or AUX_START.match(low):
        speechy = SPEECH_ONLY.search(low) and not (OCR_ONLY.search(low) or OCR_OBJECT.search(low))
        return QuestionType.SPEECH if speechy else QuestionType.TEMPORAL_QA
    return QuestionType.GROUNDING


def main_clause(low: str) -> tuple[str, str]:
    """(prefix, main): a leading "after X, " subordinate clause is the prefix."""
    m = LEAD_SUB.match(low)
    if m:
        return low[: m.start("main")], m.group("main")
    return "", low


def protect_quotes(text: str) -> tuple[str, dict[str, str]]:
    quotes: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        key = f"qquote{len(quotes)}"
        quotes[key] = m.group(0)
        return key

    return re.sub(r"(?<![\w])([\"'])[^\"']{1,300}\1(?![\w])", repl, text), quotes


def restore_quotes(text: str, quotes: dict[str, str]) -> str:
    for key, value in quotes.items():
        text = text.replace(key, value)
    return text
