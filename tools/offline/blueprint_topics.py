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

from tools.payloads.blueprint import naming_problem
from tools.text import fold
from tools.text.clean import clean_material, strip_markdown
from tools.text.injection import is_instruction_like
from tools.text.sentences import data_sentences, split_sentences
from tools.text.sources import split_sources
from tools.text.terms import key_terms
from tools.text.words import words

MIN_TOPICS: Final = 3
MAX_TOPICS: Final = 10
TINY_WORDS: Final = 25
"""A section with fewer words than this is merged into a neighbour."""
MIN_SPLIT_SENTENCES: Final = 4
"""A section is only split in two when each half keeps about two sentences."""
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
    parents: list[str] = field(default_factory=list)
    """Headings with no text of their own that introduce this section (`# Chapter` before `##`)."""
    origins: list[str] = field(default_factory=list)
    """The `Source N` label of each paragraph (all `labels[0]` when left empty)."""
    title: str = ""
    sentences: list[str] = field(default_factory=list)
    sentence_labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.origins) != len(self.paragraphs):
            self.origins = [self.labels[0]] * len(self.paragraphs)
        pairs = [
            (sentence, label)
            for paragraph, label in zip(self.paragraphs, self.origins, strict=True)
            for sentence in split_sentences(paragraph)
        ]
        self.sentences = [sentence for sentence, _ in pairs]
        self.sentence_labels = [label for _, label in pairs]

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
        match = None if in_fence else _HEADING.match(line)
        if match and is_instruction_like(match.group(2)):
            continue  # a heading that speaks to an AI is no topic, and nothing to plan from
        if match:
            found.append((strip_markdown(match.group(2)), []))
        else:
            found[-1][1].append(line)
    sections = []
    for heading, lines in found:
        # Sentences that speak to an AI are left out: material is data, never instructions.
        cleaned = (
            " ".join(data_sentences(p)) for p in clean_material("\n".join(lines)).split("\n")
        )
        paragraphs = [p for p in cleaned if p.strip()]
        if heading is None and not paragraphs:
            continue
        sections.append(Section([label], [title], [heading] if heading else [], paragraphs))
    return sections


def _merge(a: Section, b: Section) -> Section:
    def union(x: list[str], y: list[str]) -> list[str]:
        return list(dict.fromkeys(x + y))

    if not a.paragraphs and _same_source(a, b):
        # A heading without text introduces what follows: it becomes a parent, not a topic.
        return Section(
            b.labels,
            b.source_titles,
            b.headings,
            b.paragraphs,
            parents=a.parents + a.headings + b.parents,
            origins=b.origins,
        )
    return Section(
        union(a.labels, b.labels),
        union(a.source_titles, b.source_titles),
        a.headings + b.headings,
        a.paragraphs + b.paragraphs,
        parents=union(a.parents, b.parents),
        origins=a.origins + b.origins,
    )


def _same_source(a: Section, b: Section) -> bool:
    return a.labels[-1] == b.labels[0]


def _fold_headings(sections: list[Section]) -> list[Section]:
    """A heading without text introduces the section after it, else joins the one before it.

    Only sections of the same source qualify; a heading with neither is dropped.
    """
    i = 0
    while i < len(sections):
        if sections[i].paragraphs:
            i += 1
        elif i + 1 < len(sections) and _same_source(sections[i], sections[i + 1]):
            sections[i : i + 2] = [_merge(sections[i], sections[i + 1])]
        elif i > 0 and _same_source(sections[i - 1], sections[i]):
            sections[i - 1 : i + 1] = [_merge(sections[i - 1], sections[i])]
        else:
            del sections[i]
    return sections


def _merge_tiny(sections: list[Section]) -> list[Section]:
    """Merge sections under `TINY_WORDS` into their smaller neighbour (same source first).

    Merging stops at `MIN_TOPICS` sections: short sections are then the material's own grain.
    """
    while len(sections) > MIN_TOPICS:
        tiny = next((i for i, s in enumerate(sections) if s.size < TINY_WORDS), None)
        if tiny is None:
            break
        neighbours = [n for n in (tiny - 1, tiny + 1) if 0 <= n < len(sections)]

        def cost(n: int, tiny: int = tiny) -> tuple[bool, int, int]:
            a, b = sections[min(n, tiny)], sections[max(n, tiny)]
            return (not _same_source(a, b), sections[n].size, n)

        j = min(neighbours, key=cost)
        first = min(j, tiny)
        sections[first : first + 2] = [_merge(sections[first], sections[first + 1])]
    return sections


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
    parts, origins = section.paragraphs, section.origins
    if len(section.sentences) < MIN_SPLIT_SENTENCES:
        return None
    if len(parts) < 2:
        parts, origins = section.sentences, section.sentence_labels
    sizes = [len(words(p)) for p in parts]
    total = sum(sizes)
    running, cut, best = 0, 1, float(total)
    for index in range(1, len(parts)):
        running += sizes[index - 1]
        if abs(total / 2 - running) < best:
            best, cut = abs(total / 2 - running), index
    titles = dict(zip(section.labels, section.source_titles, strict=True))

    def part(headings: list[str], pieces: list[str], where: list[str]) -> Section:
        labels = list(dict.fromkeys(where))
        sources = [titles[label] for label in labels]
        return Section(labels, sources, headings, pieces, True, section.parents, where)

    return (
        part(section.headings, parts[:cut], origins[:cut]),
        part(section.headings[:1], parts[cut:], origins[cut:]),
    )


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
    """The section's key idea, as a teacher would title it.

    A paragraph usually opens with what it is about, so a key term that starts the lead
    sentence wins ("The mole is …" → "Mole"); otherwise the most salient key term, with units
    and formulas last. A longer key term containing the choice names it more precisely
    ("limiting reactant" over "reactant").
    """
    found = [
        t
        for t in key_terms(section.sentences, min_repeats=1)
        if len(t.text.strip()) > 2 and fold(t.text) not in used and kebab(t.text)
    ]
    if not found:
        return None
    found.sort(key=lambda t: t.kind in ("unit", "formula"))  # stable: salience order otherwise
    lead = _LEADING_ARTICLE.sub("", fold(section.sentences[0])) if section.sentences else ""
    choice = next((t for t in found if _starts(lead, fold(t.text))), found[0])
    precise = next(
        (
            t
            for t in found
            if t is not choice
            and t.salience >= _PRECISE_SALIENCE
            and re.search(rf"(?<!\w){re.escape(fold(choice.text))}(?!\w)", fold(t.text))
        ),
        choice,
    )
    text = precise.text.strip()
    used.add(fold(text))
    return text[0].upper() + text[1:]


_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+")
_PRECISE_SALIENCE: Final = 3


def _starts(sentence: str, term: str) -> bool:
    return sentence.startswith(term) and not sentence[len(term) : len(term) + 1].isalnum()


def _heading_title(section: Section) -> str:
    """The section's own title: its heading, two headings joined, or its source's title."""
    headings = section.headings or section.parents
    single_source = len(section.labels) == 1 and section.source_titles[0]
    if len(headings) > 2 and single_source:
        return section.source_titles[0]
    if len(headings) == 2 and len(" and ".join(headings)) <= MAX_TITLE_CHARS // 2 + 10:
        return f"{headings[0]} and {headings[1][:1].lower()}{headings[1][1:]}"
    if headings:
        return headings[0]
    return section.source_titles[0] if len(section.labels) == 1 else ""


def _titles(sections: list[Section], class_title: str) -> None:
    """A title for every section: its heading or its source's title, with its key term for a part.

    Sections with neither (plain paragraphs) are named after their most salient key term.
    """
    taken: set[str] = set()
    used = {fold(h) for s in sections for h in s.headings}
    for number, section in enumerate(sections, start=1):
        base = _heading_title(section)
        used.add(fold(base))
        term = _term_title(section, used) if section.part or not base else None
        if base and term:
            title = f"{base}: {term}"
        else:
            title = base or term or f"{class_title or 'Course'} part {number}"
        if fold(title) in taken:
            source = section.source_titles[0] if len(section.labels) == 1 else ""
            title = f"{title} ({source or number})"
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
    for block in split_sources(material_text):
        # A source titled by its file name or label, or by an instruction to an AI, counts as
        # untitled: its topics are named after their headings or key ideas instead.
        title = block.title.strip()
        if naming_problem(title) or is_instruction_like(title):
            title = ""
        sections.extend(_raw_sections(block.label, title, block.text))
    if not any(s.headings for s in sections) and len(sections) < MIN_TOPICS:
        # No headings: each paragraph is a candidate; merging and splitting size them.
        sections = [
            Section(s.labels, s.source_titles, [], [p], True)
            for s in sections
            for p in s.paragraphs
        ]
    sections = _fold_headings(sections)
    sections = _split_to_minimum(_merge_to_limit(_merge_tiny(sections)))
    _titles(sections, class_title)
    return sections
