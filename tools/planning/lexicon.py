"""Word lists for the offline planner: common action verbs of video descriptions with their inflections,
subject
words, catenative verbs and connectives. Pure data plus small inflection helpers; nothing heavy."""

from __future__ import annotations

import functools

from vidreason.tools.core.text import word_set

#: Base forms of action verbs common in video questions and captions.
VERBS: frozenset[str] = word_set(
    """
    open close take put hold grab pick eat drink walk run sit stand lie lay wake awaken sleep laugh smile
    sneeze cough cry watch look read write play throw toss turn switch wash clean tidy cook pour fix dress
    undress wear remove sweep vacuum wipe fold carry bring push pull enter leave exit go come move climb
    jump dance sing talk speak say tell ask call answer type use hug kiss kick hit touch wave point lift
    drop place set get give start begin stop continue keep try finish hang mix cut chop stir fry bake serve
    sip snuggle cuddle wrap unwrap tie untie lock unlock knock check search find grasp grip fill empty load
    unload sort arrange organize organise work study draw paint film photograph record smoke stretch
    exercise rest lean kneel crawl bend crouch squat sneak hurry rush chase follow meet greet shake nod
    shrug fall trip slip spin roll rub scratch brush comb shave hop skip stumble stare glance peek peer gaze
    listen hear feel smell taste bite chew swallow lick feed pet drive ride park arrive return show hand
    pass receive share buy pay count build assemble repair install plug unplug charge press tap click scroll
    swipe peel snack dust mop iron sew knit browse text email shout yell whisper chat argue discuss explain
    mention narrate announce sit sniff yawn blow sneak toss hide tidy unpack pack replace adjust straighten
    cover uncover flip flick light extinguish fetch collect gather clear set lower raise rise tilt tip toss
    stack hang kick wake grin frown giggle chuckle sob weep scream stand sprint jog skate swim dive slide
    swing catch fight make do see hurl cradle fiddle tinker toy mess rummage dig stick cook serve bark meow
    clap applaud cheer honk beep whistle bounce score shoot fly land crash explode burn drip sail float boil
    melt hold visit play
    """
)

#: Irregular past forms -> base.
IRREGULAR_PAST: dict[str, str] = {
    "took": "take",
    "taken": "take",
    "held": "hold",
    "ate": "eat",
    "eaten": "eat",
    "drank": "drink",
    "drunk": "drink",
    "ran": "run",
    "sat": "sit",
    "stood": "stand",
    "lay": "lie",
    "laid": "lay",
    "lain": "lie",
    "woke": "wake",
    "woken": "wake",
    "slept": "sleep",
    "threw": "throw",
    "thrown": "throw",
    "went": "go",
    "gone": "go",
    "came": "come",
    "brought": "bring",
    "left": "leave",
    "got": "get",
    "gotten": "get",
    "gave": "give",
    "given": "give",
    "began": "begin",
    "begun": "begin",
    "kept": "keep",
    "hung": "hang",
    "wrote": "write",
    "written": "write",
    "fell": "fall",
    "fallen": "fall",
    "shook": "shake",
    "felt": "feel",
    "heard": "hear",
    "bit": "bite",
    "rode": "ride",
    "drove": "drive",
    "bought": "buy",
    "paid": "pay",
    "built": "build",
    "found": "find",
    "told": "tell",
    "said": "say",
    "spoke": "speak",
    "sang": "sing",
    "wore": "wear",
    "worn": "wear",
    "swept": "sweep",
    "bent": "bend",
    "met": "meet",
    "spun": "spin",
    "caught": "catch",
    "fought": "fight",
    "made": "make",
    "did": "do",
    "done": "do",
    "saw": "see",
    "seen": "see",
    "rose": "rise",
    "swam": "swim",
    "dove": "dive",
    "slid": "slide",
    "swung": "swing",
    "hid": "hide",
    "dug": "dig",
    "stuck": "stick",
    "put": "put",
    "cut": "cut",
    "set": "set",
    "hit": "hit",
    "read": "read",
}

#: Verbs that double their final consonant before -ing/-ed.
_DOUBLING: frozenset[str] = word_set(
    """
    run sit put stop grab drop hug get cut begin swim hit chop tap nod skip trip slip hop plug unplug rub
    pet jog sip spin dig set shop stir fit knit wrap unwrap flip grin shoot
    """
)

#: Verbs after which "to <verb>" is part of the same action ("begins to eat"); otherwise "to" marks a purpose.
CATENATIVE: frozenset[str] = word_set(
    """
    begin start continue try want need like love hate seem appear decide attempt be have help
    """
)

#: Verbs after which "<verb>-ing" is part of the same action ("keeps running", "stops playing").
CATENATIVE_ING: frozenset[str] = word_set("begin start continue keep stop try finish resume quit go come")

#: Verbs whose action ends a preceding posture ("person sitting on the bed stands up" = one after the other).
TRANSITION: frozenset[str] = word_set("stand get wake awaken rise sit lie leave enter arrive jump")

SUBJECT_WORDS: frozenset[str] = word_set(
    """
    a an the one another this that some two person persons people man men woman women boy boys girl girls
    someone somebody he she they we i you guy lady child children kid kids individual speaker narrator host
    presenter player players dog cat other young old little
    """
)

PRONOUNS: frozenset[str] = word_set("he she they we i you it someone somebody")

#: -ing words that are nouns, never a second action.
NOUN_ING: frozenset[str] = word_set(
    """
    something nothing anything everything thing things ceiling clothing morning evening wedding meeting
    building painting drawing bedding railing stuffing pudding ring king string wing ending beginning during
    icing frosting seasoning dressing housing
    """
)


def third_person(base: str) -> str:
    """``open`` -> ``opens``, ``wash`` -> ``washes``, ``carry`` -> ``carries``."""
    if base in ("be",):
        return "is"
    if base == "have":
        return "has"
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        return base + "es"
    if len(base) > 1 and base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ies"
    return base + "s"


def present_participle(base: str) -> str:
    """``open`` -> ``opening``, ``sit`` -> ``sitting``, ``lie`` -> ``lying``, ``take`` -> ``taking``."""
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base in _DOUBLING:
        return base + base[-1] + "ing"
    if base.endswith("e") and not base.endswith(("ee", "ye", "oe")) and len(base) > 2:
        return base[:-1] + "ing"
    return base + "ing"


def past(base: str) -> str:
    if base in _DOUBLING:
        return base + base[-1] + "ed"
    if base.endswith("e"):
        return base + "d"
    if len(base) > 1 and base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ied"
    return base + "ed"


@functools.lru_cache(maxsize=1)
def _forms() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    finite: dict[str, str] = {}
    ing: dict[str, str] = {}
    for v in VERBS:
        finite[third_person(v)] = v
        finite[past(v)] = v
        ing[present_participle(v)] = v
    for form, base in IRREGULAR_PAST.items():
        finite[form] = base
    bases = {v: v for v in VERBS}
    return finite, ing, bases


def finite_base(word: str) -> str | None:
    """The base verb if ``word`` is a 3rd-person or past form of a known verb (``opens`` -> ``open``)."""
    return _forms()[0].get(word)


def ing_base(word: str) -> str | None:
    """The base verb if ``word`` is the -ing form of a known verb and not an -ing noun."""
    if word in NOUN_ING:
        return None
    return _forms()[1].get(word)


def is_base_verb(word: str) -> bool:
    return word in VERBS
