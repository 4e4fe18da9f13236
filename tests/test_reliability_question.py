"""Issue 19, items 7 and 8 (question validation): single-character CJK questions are questions, invisible
bidirectional overrides and undecodable text are refused with one clear line; fuzzed with Hypothesis (bounded,
deterministic)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from vidreason.tools.core.errors import InvalidQuestion
from vidreason.tools.planning.question import validate_question

FUZZ = settings(max_examples=200, derandomize=True, deadline=None, database=None)


class _Text(BaseModel):
    text: str


@pytest.mark.parametrize("question", ["猫", "猫?", "狗在哪里", "ねこ", "고양이", "when does the cat jump?"])
def test_single_character_cjk_and_ordinary_questions_pass(question: str) -> None:
    assert validate_question(question) == question  # "猫" was "no words"


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("when does the \u202ecat jump", "U+202E"),  # right-to-left override (was accepted)
        ("what \u2066happens\u2069 here", "U+2066"),  # isolate
        ("what happens\U000e0069\U000e0067", "U+E0069"),  # invisible tag characters
        ("what \udcff\udcfe happens", "not valid UTF-8"),  # undecodable bytes (surrogateescape)
        ("what\x85 happens", "control characters"),  # C1 control
        ("a", "no words"),
        ("   ", "empty"),
    ],
)
def test_hostile_or_empty_questions_are_refused_in_one_line(question: str, needle: str) -> None:
    with pytest.raises(InvalidQuestion) as e:
        validate_question(question)
    assert needle in str(e.value) and "\n" not in str(e.value)


@FUZZ
@given(st.text(max_size=300))
def test_fuzzed_questions_are_accepted_clean_or_refused_cleanly(question: str) -> None:
    try:
        text = validate_question(question, max_chars=200)
    except InvalidQuestion as e:
        assert str(e) and "\n" not in str(e)
        return
    assert text == text.strip() and "  " not in text and 0 < len(text) <= 200
    assert unicodedata.is_normalized("NFC", text)
    assert not any(0xD800 <= ord(c) <= 0xDFFF or c in "\u202a\u202b\u202c\u202d\u202e" for c in text)
    text.encode("utf-8")  # never raises: what passes reaches prompts, pydantic models and the terminal
    assert _Text(text=text).text == text
    assert validate_question(text, max_chars=200) == text  # idempotent


@FUZZ
@given(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
)
def test_any_question_with_a_cjk_character_has_words(prefix: str, ideograph: str) -> None:
    question = f"{prefix} {ideograph}"
    try:
        validate_question(question)
    except InvalidQuestion as e:
        assert "no words" not in str(e)


@FUZZ
@given(st.binary(max_size=120))
def test_fuzzed_argv_bytes_never_escape_the_error_contract(raw: bytes) -> None:
    question = raw.decode("utf-8", "surrogateescape")  # how the CLI receives arbitrary bytes
    try:
        text = validate_question(question)
    except InvalidQuestion:
        return
    text.encode("utf-8")
