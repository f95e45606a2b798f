"""Sentences: each one a verbatim slice of the text it was cut from."""

from __future__ import annotations

import re

from tools.text.clean import clean_material
from tools.text.injection import is_instruction_like
from tools.text.words import wordlist

_ABBREVIATIONS = frozenset(
    wordlist("e.g i.e etc vs approx ca cf al fig figs eq eqs no dr mr mrs ms prof st mt jr sr resp")
)
_LABEL_NOUNS = frozenset(
    wordlist(
        "option choice answer letter point vitamin grade type group class plan part section "
        "figure appendix step stage phase zone team box column row graph line curve"
    )
)
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences, keeping each one a verbatim slice of the input.

    Abbreviations (e.g., Dr., Fig.) and single-letter initials do not end a sentence.
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[start : match.start()].rsplit(None, 2)
        last = before[-1] if before else ""
        initial = len(last) == 1 and last.isupper()
        # A capital after a number is a unit ("2 A."), and one after a naming word is a label
        # ("option C.", "vitamin C."); neither is an initial ("J. J. Thomson").
        if (
            initial
            and len(before) > 1
            and (before[-2][-1:].isdigit() or before[-2].casefold() in _LABEL_NOUNS)
        ):
            initial = False
        if last.lower().rstrip(".") in _ABBREVIATIONS or initial:
            continue
        piece = paragraph[start : match.end()].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def data_sentences(paragraph: str) -> list[str]:
    """`split_sentences` without the sentences that speak to an AI (`is_instruction_like`):
    material is data, so such a sentence is never quoted, asked about or planned from."""
    return [s for s in split_sentences(paragraph) if not is_instruction_like(s)]


def material_sentences(text: str) -> list[str]:
    """Clean `text` and split every paragraph into sentences (slices of `clean_material`),
    leaving out the sentences that speak to an AI (`data_sentences`)."""
    return [s for paragraph in clean_material(text).split("\n") for s in data_sentences(paragraph)]


def without_instructions(text: str) -> str:
    """`text` without the sentences that speak to an AI; lines without one are kept as they are."""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        sentences = split_sentences(line)
        kept = [s for s in sentences if not is_instruction_like(s)]
        if len(kept) < len(sentences):
            lines[n] = " ".join(kept)
    return "\n".join(lines)
