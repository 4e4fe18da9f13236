"""Long transcript lines become phrases (punctuation and pauses between word times), so a moment inside a line has
its own time; phrases of one line still read as one sentence."""

from __future__ import annotations

from vidreason.tools.core.media import Word
from vidreason.tools.index.views import TextItem, line_of, phrases, same_line


def _words(spec: list[tuple[str, float, float]]) -> list[Word]:
    return [Word(text=t, start=a, end=b) for t, a, b in spec]


def test_pauses_and_punctuation_end_phrases() -> None:
    # JFK's one-line sentence as Whisper times it: pauses after "Americans" (0.64 s) and "not" (0.48 s)
    words = _words(
        [("And", 0.0, 0.76), ("so", 0.76, 1.06), ("my", 1.06, 1.46), ("fellow", 1.46, 1.76), ("Americans", 1.76, 2.26),
         ("ask", 2.9, 3.88), ("not", 3.88, 4.56), ("what", 5.04, 5.7), ("your", 5.7, 6.02), ("country,", 6.02, 6.34),
         ("can", 6.34, 6.76), ("do", 6.76, 7.02)]
    )  # fmt: skip
    got = [" ".join(w.text for w in p) for p in phrases(words)]
    assert got == ["And so my fellow Americans", "ask not", "what your country,", "can do"]


def test_one_word_runs_join_a_neighbour() -> None:
    words = _words([("Yes,", 0.0, 0.3), ("we", 0.3, 0.5), ("can.", 0.5, 0.9), ("Go", 1.5, 1.7)])
    assert [len(p) for p in phrases(words)] == [4]  # "Yes," and "Go" alone are too short to stand
    assert phrases([]) == []


def test_phrases_of_one_line_belong_together() -> None:
    a = TextItem(id="speech:3.0", channel="speech", start=0, end=1, text="x")
    b = TextItem(id="speech:3.1", channel="speech", start=1, end=2, text="y")
    c = TextItem(id="speech:4", channel="speech", start=2, end=3, text="z")
    assert line_of(a) == "speech:3" and line_of(c) is None
    assert same_line(a, b) and not same_line(a, c) and not same_line(c, c)
