"""Split a material into overlapping, section-aware chunks (~1,000 tokens, ~100 overlap)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools.text import estimate_tokens, normalise_text

CHUNK_TOKENS = 1000
OVERLAP_TOKENS = 100
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    section: str | None
    content: str
    token_count: int


def _blocks(text: str) -> list[tuple[str | None, str]]:
    """Paragraphs paired with the heading they sit under."""
    section: str | None = None
    blocks: list[tuple[str | None, str]] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append((section, "\n".join(paragraph)))
            paragraph.clear()

    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            flush()
            section = heading.group(2).strip()
        elif line.strip():
            paragraph.append(line)
        else:
            flush()
    flush()
    return blocks


def _word_boundary(text: str, at: int) -> int:
    """The last space before `at` (so words stay whole), or `at` when there is none."""
    space = text.rfind(" ", 0, at)
    return space + 1 if space > at // 2 else at


def _split_long(paragraph: str, limit: int) -> list[str]:
    """Break a paragraph longer than `limit` tokens at sentence ends (or hard, as a last resort)."""
    if estimate_tokens(paragraph) <= limit:
        return [paragraph]
    sentences = re.split(r"(?<=[.!?])\s+", paragraph)
    pieces: list[str] = []
    current = ""
    for sentence in sentences:
        if estimate_tokens(sentence) > limit and current:
            # Keep reading order: what came before the oversized sentence goes out first.
            pieces.append(current)
            current = ""
        while estimate_tokens(sentence) > limit:
            cut = _word_boundary(sentence, limit * 4)
            pieces.append(sentence[:cut].rstrip())
            sentence = sentence[cut:].lstrip()
        candidate = f"{current} {sentence}".strip()
        if current and estimate_tokens(candidate) > limit:
            pieces.append(current)
            current = sentence
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def chunk_text(
    text: str, *, chunk_tokens: int = CHUNK_TOKENS, overlap_tokens: int = OVERLAP_TOKENS
) -> list[Chunk]:
    """Chunks in reading order; each starts with the tail of the previous one within a section."""
    pieces: list[tuple[str | None, str]] = []
    for section, paragraph in _blocks(normalise_text(text)):
        pieces.extend((section, piece) for piece in _split_long(paragraph, chunk_tokens))

    chunks: list[Chunk] = []
    current: list[str] = []
    current_section: str | None = None

    def emit() -> None:
        content = "\n\n".join(current)
        chunks.append(Chunk(len(chunks), current_section, content, estimate_tokens(content)))

    for section, piece in pieces:
        if current and section != current_section:
            emit()
            current = []
        if current and estimate_tokens("\n\n".join([*current, piece])) > chunk_tokens:
            emit()
            tail = current[-1][-overlap_tokens * 4 :] if overlap_tokens else ""
            tail = tail[tail.find(" ") + 1 :] if " " in tail else tail
            # The overlap is a courtesy: drop it when it would push the next chunk over the limit.
            fits = estimate_tokens(f"{tail}\n\n{piece}") <= chunk_tokens
            current = [tail] if tail and fits else []
        current_section = section
        current.append(piece)
    if current:
        emit()
    return chunks
