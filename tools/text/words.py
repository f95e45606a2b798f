"""Words: the one stopword list, the one stemmer, the one query tokenizer, content words.

`tokens` is the tokenizer: case-folded runs of letters and digits. Search reads a query with it
(`query_terms`), and matching reads messages and material with it (`content_words`), so a word
is split the same way wherever it is looked up. `words` keeps prose words whole (`well-known`,
`Newton's`) for finding phrases in a sentence, never for matching.
"""

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


def _shape(word: str) -> str:
    """`c`/`v` for each letter; `y` after a consonant is a vowel (Porter's convention)."""
    shape: list[str] = []
    for ch in word:
        vowel = ch in "aeiou" or (ch == "y" and shape[-1:] == ["c"])
        shape.append("v" if vowel else "c")
    return "".join(shape)


def _measure(word: str) -> int:
    """How many vowel-consonant runs the word has: `tree` 0, `trouble` 1, `relate` 2."""
    return len(re.findall("v+c+", _shape(word)))


def _plural(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "ches", "shes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


# Endings no English base word has, so the base lost a final "e" to -ed/-ing: "forc(ed)",
# "charg(ing)", "mov(ed)", "continu(ed)", "cycl(ing)", "sens(ed)", "oxidis(ed)", "measur(ed)".
_LOST_E = re.compile(
    r"(?:[^i]c|[^n]g|v|u|[^aeioulrw]l|[^aeious]s|[iy]s|[aeiou]{2}[sz]|[^aeiou](?:ur|ar|ir)"
    r"|[^eo]at|bl|iz|yz)$"
)


def _base(base: str) -> str:
    """The base form of a word whose -ed or -ing was just removed."""
    if base.endswith("i"):
        return base[:-1] + "y"  # carri(ed) -> carry
    if base.endswith("ll") and _measure(base[:-1]) > 1:
        return base[:-1]  # travell(ed) -> travel
    if base[-1] == base[-2] and base[-1] not in "aeiouylsz":
        return base[:-1]  # stopp(ed) -> stop
    shape = _shape(base)
    short = _measure(base) == 1 and shape.endswith("cvc") and base[-1] not in "wxy"
    if short or _LOST_E.search(base):
        return base + "e"  # mov(ing) -> move, relat(ed) -> relate
    return base


def _inflection(w: str) -> str:
    if w.endswith("ness") and len(w) >= 7:
        base = w[:-4]
        return base[:-1] + "y" if base.endswith("i") else base  # happiness -> happy
    for suffix in ("ing", "ed"):
        base = w.removesuffix(suffix)
        # "speed", "thing" and "used" keep their ending: no vowel or too little before it.
        if base != w and len(base) >= 3 and "v" in _shape(base):
            if suffix == "ed" and base.endswith("e"):
                return w
            return _base(base)
    return w


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The one stemmer: case-folded, without a possessive, a plural, -ed, -ing or -ness.

    Forms of one word share a stem, and where the rules can tell, the stem is the word's base
    form, so it still reads as a word: `forces`, `forced` and `forcing` give `force`; `moves`,
    `moved` and `moving` give `move`; `batteries` gives `battery`, `Newton's` gives `newton`,
    `hardness` gives `hard`. English has irregular forms the rules cannot tell apart (`changed`
    gives `chang`, `gases` gives `gase`); a stem is a matching key, not a word to show.
    Numbers and words with digits only lose a plural `s`; in a hyphenated word the last part
    is inflected (`free-falling` gives `free-fall`).
    """
    w = _plural(word.casefold().replace("’", "'").removesuffix("'s").removesuffix("'"))
    head, dash, last = w.rpartition("-")
    return head + dash + _inflection(last) if last.isalpha() else w


def content_words(text: str) -> list[str]:
    """Stemmed words of three or more letters that are not stopwords, in order.

    Words are the letter-only `tokens`, as a query is read, so a message and the material it is
    matched against are split the same way (`x-ray` and `Newton's` give `ray` and `newton`).
    """
    found = (stem(t) for t in tokens(text) if t.isalpha() and t not in STOPWORDS)
    return [w for w in found if len(w) >= 3 and w not in STOPWORDS]
