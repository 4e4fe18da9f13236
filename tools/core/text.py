"""Word lists shared by the planner's parser and the text matchers (pure data, nothing heavy)."""

from __future__ import annotations


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


#: Function words left out of keyword matching.
STOPWORDS: frozenset[str] = word_set(
    """
    a an the of to in on at by for with from into onto off over under up down out about as and or but if
    then than so is are was were be been being am do does did doing has have had having it its this that
    these those there here what which who whom whose when where why how while after before during again also
    just very can could will would should may might must shall not no yes i you he she they we me him her
    them us my your his their our some any all each every other another such own same too only
    """
)


__all__ = ["STOPWORDS", "word_set"]
