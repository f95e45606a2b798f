"""Cutting class material into 3–10 topic sections for the offline blueprint engine.

Sections follow the material's own structure: `Source N` blocks, then Markdown headings inside
them. Unstructured text falls back to paragraphs. Tiny sections merge into a neighbour (a heading
with no text of its own joins the section after it), too many sections merge pairwise, and too
few are split at paragraph or sentence boundaries.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Final

from tools.offline.extract import clean_material, key_terms, split_sentences, strip_markdown, words
from tools.payloads.blueprint import split_source_blocks
from tools.text import fold

MIN_TOPICS: Final = 3
MAX_TOPICS: Final = 10
TINY_WORDS: Final = 25
"""A section with fewer words than this is merged into a neighbour."""
MAX_KEY_WORDS: Final = 6
MAX_TITLE_CHARS: Final = 80

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(?:```|~~~)")


@dataclass
class Section:
    """A stretch of material that may become one topic."""

    labels: list[str]
    source_titles: list[str]
    headings: list[str]
    paragraphs: list[str]
    part: bool = False
    """True for a piece of a split section or a bare paragraph: its key term joins its title."""
    title: str = ""
    sentences: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sentences = [s for p in self.paragraphs for s in split_sentences(p)]

    @property
    def size(self) -> int:
        return sum(len(words(p)) for p in self.paragraphs)


def _raw_sections(label: str, title: str, text: str) -> list[Section]:
    """One source block cut at its Markdown headings (code fences are not searched)."""
    found: list[tuple[str | None, list[str]]] = [(None, [])]
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            found.append((strip_markdown(heading.group(2)), []))
        else:
            found[-1][1].append(line)
    sections = []
    for heading, lines in found:
        paragraphs = [p for p in clean_material("\n".join(lines)).split("\n") if p.strip()]
        if heading is None and not paragraphs:
            continue
        sections.append(Section([label], [title], [heading] if heading else [], paragraphs))
    return sections


def _merge(a: Section, b: Section) -> Section:
    def union(x: list[str], y: list[str]) -> list[str]:
        return list(dict.fromkeys(x + y))

    return Section(
        union(a.labels, b.labels),
        union(a.source_titles, b.source_titles),
        a.headings + b.headings,
        a.paragraphs + b.paragraphs,
    )


def _same_source(a: Section, b: Section) -> bool:
    return a.labels[-1] == b.labels[0]


def _merge_tiny(sections: list[Section]) -> list[Section]:
    """Fold headings without text forward and sections under `TINY_WORDS` into a neighbour.

    A neighbour from the same source is preferred; a heading without text prefers the section
    after it (it introduces that section), other tiny sections the one before.
    """
    i = 0
    while i < len(sections) and len(sections) > 1:
        current = sections[i]
        if current.size >= TINY_WORDS:
            i += 1
            continue
        before = sections[i - 1] if i > 0 else None
        after = sections[i + 1] if i + 1 < len(sections) else None
        near_before = before is not None and _same_source(before, current)
        near_after = after is not None and _same_source(current, after)
        if near_after and (not current.paragraphs or not near_before):
            forward = True
        elif near_before or before is not None:
            forward = False
        else:
            forward = after is not None
        if forward:
            sections[i : i + 2] = [_merge(current, sections[i + 1])]
        elif before is not None:
            sections[i - 1 : i + 1] = [_merge(before, current)]
            i -= 1
        else:
            i += 1
    return [s for s in sections if s.paragraphs]


def _merge_to_limit(sections: list[Section]) -> list[Section]:
    """Merge the smallest adjacent pair (same source first) until at most `MAX_TOPICS` remain."""
    while len(sections) > MAX_TOPICS:
        pairs = range(len(sections) - 1)
        best = min(
            pairs,
            key=lambda i: (
                not _same_source(sections[i], sections[i + 1]),
                sections[i].size + sections[i + 1].size,
                i,
            ),
        )
        sections[best : best + 2] = [_merge(sections[best], sections[best + 1])]
    return sections


def _halves(section: Section) -> tuple[Section, Section] | None:
    """Split at the paragraph (else sentence) boundary nearest the middle of the text."""
    parts = section.paragraphs
    if len(parts) < 2:
        parts = section.sentences
    if len(parts) < 2:
        return None
    sizes = [len(words(p)) for p in parts]
    total = sum(sizes)
    running, cut, best = 0, 1, total
    for index in range(1, len(parts)):
        running += sizes[index - 1]
        if abs(total / 2 - running) < best:
            best, cut = abs(total / 2 - running), index
    first = Section(section.labels, section.source_titles, section.headings, parts[:cut], True)
    second = Section(section.labels, section.source_titles, section.headings[:1], parts[cut:], True)
    return first, second


def _split_to_minimum(sections: list[Section]) -> list[Section]:
    while len(sections) < MIN_TOPICS:
        ranked = sorted(range(len(sections)), key=lambda i: (-len(sections[i].sentences), i))
        split = next((i for i in ranked if _halves(sections[i]) is not None), None)
        if split is None:
            break
        halves = _halves(sections[split])
        assert halves is not None
        sections[split : split + 1] = list(halves)
    return sections


def _term_title(section: Section, used: set[str]) -> str | None:
    for term in key_terms(section.sentences, min_repeats=1):
        text = term.text.strip()
        if len(text) > 2 and fold(text) not in used and kebab(text):
            used.add(fold(text))
            return text[0].upper() + text[1:]
    return None


def _titles(sections: list[Section], class_title: str) -> None:
    """A title for every section: its heading or its source's title, with its key term for a part.

    Sections with neither (plain paragraphs) are named after their most salient key term.
    """
    taken: set[str] = set()
    used = {fold(h) for s in sections for h in s.headings}
    for number, section in enumerate(sections, start=1):
        base = section.headings[0] if section.headings else ""
        if not base and len(section.labels) == 1:
            base = section.source_titles[0]
        used.add(fold(base))
        term = _term_title(section, used) if section.part or not base else None
        if base and term:
            title = f"{base}: {term}"
        else:
            title = base or term or f"{class_title or 'Course'} part {number}"
        if fold(title) in taken:
            title = f"{title} ({number})"
        section.title = title[:MAX_TITLE_CHARS].strip()
        taken.add(fold(section.title))


def kebab(text: str) -> str:
    """A kebab-case key: ASCII letters and digits, at most `MAX_KEY_WORDS` words."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    parts = re.findall(r"[a-z0-9]+", ascii_text.casefold())
    return "-".join(parts[:MAX_KEY_WORDS])


def unique_keys(titles: list[str]) -> list[str]:
    """Kebab-case keys for `titles`, numbered where two would collide or one would be empty."""
    keys: list[str] = []
    for number, title in enumerate(titles, start=1):
        base = kebab(title) or f"topic-{number}"
        key, suffix = base, 2
        while key in keys:
            key, suffix = f"{base}-{suffix}", suffix + 1
        keys.append(key)
    return keys


def topic_sections(material_text: str, *, class_title: str) -> list[Section]:
    """The material cut into titled sections in reading order (3–10 when the text allows)."""
    sections: list[Section] = []
    for block in split_source_blocks(material_text):
        sections.extend(_raw_sections(block.label, block.title, block.text))
    if not any(s.headings for s in sections) and len(sections) < MIN_TOPICS:
        # No headings: each paragraph is a candidate; merging and splitting size them.
        sections = [
            Section(s.labels, s.source_titles, [], [p], True)
            for s in sections
            for p in s.paragraphs
        ]
    sections = _split_to_minimum(_merge_to_limit(_merge_tiny(sections)))
    _titles(sections, class_title)
    return sections
