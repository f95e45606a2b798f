"""Words: the one stopword list, the one stemmer, the one query tokenizer, content words."""

from __future__ import annotations

import re
from functools import lru_cache


def wordlist(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of a literal, for word lists written as text."""
    return tuple(text.split())


STOPWORDS = frozenset(
    wordlist(
        """a about above across after again against all also although always am among an and
    another any are aren around as at be because been before being below between both but by
    called can cannot could did didn different do does doesn doing don done down during each
    either else even every example examples explain few for from further had has have having
    he her here hers him his how however i if important in into is isn it its itself just
    known least less like made make makes many may me mean means might mine more most much
    must my near neither no nor not now of off often on once one only onto or other others
    our ours out over own part per please rather refers same several shall she should since
    so some such tell than that the their theirs them then there therefore these they thing
    things this those though through thus to too under until up upon us use used uses using
    usually various very via was wasn way ways we were weren what when where whether which
    while who whole whom whose why will with within without won would yes yet you your yours"""
    )
)
"""The one stopword list: function words, question scaffolding ("please explain") and the words
that frame a term rather than name one ("called", "known", "example", "used"). Search, retrieval,
key terms and the offline engine all skip these; a feature that must skip more words adds its
own named set to this one (never a list of its own)."""

MAX_TERM_CHARS = 64
_NON_WORD = re.compile(r"[\W_]+")
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


def tokens(text: str) -> list[str]:
    """Case-folded runs of letters and digits, in order: every other character separates."""
    return _NON_WORD.sub(" ", text.casefold()).split()


def query_terms(text: str) -> list[str]:
    """The one query tokenizer: distinct `tokens` worth searching for, in order of appearance.

    Stopwords, single letters and over-long runs (more than MAX_TERM_CHARS) are left out;
    numbers stay. The result is safe to hand to any full-text engine: letters and digits only.
    """
    seen: dict[str, None] = {}
    for token in tokens(text):
        wanted = len(token) > 1 or token.isdigit()
        if wanted and len(token) <= MAX_TERM_CHARS and token not in STOPWORDS:
            seen.setdefault(token, None)
    return list(seen)
