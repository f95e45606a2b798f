"""Words: the stopword list, the stemmer and content words."""

from __future__ import annotations

import re
from functools import lru_cache


def wordlist(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of a literal, for word lists written as text."""
    return tuple(text.split())


STOPWORDS = frozenset(
    wordlist(
        """a about above after again against all also although always among an and another any are
    around as at be because been before being below between both but by can cannot could did do
    does doing done down during each either else even every few for from further had has have
    having he her here hers him his how however i if in into is it its itself just least less
    like made make makes many may me might more most much must my near neither no nor not now of
    off often on once one only or other others our out over own per rather same she should since
    so some such than that the their them then there therefore these they this those though
    through thus to too under until up upon us usually very via was we were what when where
    whether which while who whom whose why will with within without would yet you your called
    known example examples used uses using use means mean refers different important several
    various way ways thing things whole part"""
    )
)
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def words(text: str) -> list[str]:
    """Alphabetic words (apostrophes and hyphens kept inside a word), in order."""
    return _WORD.findall(text)


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """Case-fold a word and strip a possessive or a regular plural ending."""
    w = word.casefold().replace("’", "'")
    w = w.removesuffix("'s").removesuffix("'")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "ches", "shes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def content_words(text: str) -> list[str]:
    """Stemmed words of three or more letters that are not stopwords, in order."""
    found = (stem(w) for w in words(text) if w.casefold() not in STOPWORDS)
    return [w for w in found if len(w) >= 3 and w not in STOPWORDS]
