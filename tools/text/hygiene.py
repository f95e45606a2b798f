"""Text hygiene for every layer: invisible characters, normalising, folding, token estimates."""

from __future__ import annotations

import re
import unicodedata

# Zero-width and bidi controls, the BOM, the Mongolian vowel separator, the combining grapheme
# joiner, the Unicode "tag" block (U+E0000-U+E007F) and the variation selectors supplement
# (U+E0100-U+E01EF, which can encode bytes after any letter) can smuggle instructions past a
# reader; none of them carry meaning in class materials.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
# Letters that render as a blank (Hangul fillers, the blank Braille pattern) stand in for spaces.
_BLANK = re.compile("[\u115f\u1160\u2800\u3164\uffa0]")
_SPACE_RUN = re.compile(r"[ \t\f\v]+")


def strip_invisible(text: str) -> str:
    """Remove invisible and tag characters, keeping every visible character; blank letters
    become plain spaces."""
    return _BLANK.sub(" ", _INVISIBLE.sub("", text))


def normalise_text(text: str) -> str:
    """NFC-normalise, drop invisible characters and collapse runs of horizontal space."""
    cleaned = strip_invisible(unicodedata.normalize("NFC", text))
    lines = (_SPACE_RUN.sub(" ", line).strip() for line in cleaned.splitlines())
    return "\n".join(lines).strip()


def fold(text: str) -> str:
    """Case- and space-insensitive key for duplicate checks."""
    return " ".join(text.casefold().split())


def estimate_tokens(text: str) -> int:
    """Rough token count (about four characters a token) that needs no tokenizer download."""
    return max(1, (len(text) + 3) // 4) if text else 0
