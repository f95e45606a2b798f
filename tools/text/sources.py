"""`Source N | title | type index` labels: the one parser of labelled material.

The platform joins material blocks under header lines such as `Source 2 | Waves | markdown 1`
(`graphs.shared.sources.format_sources` writes them); models cite the blocks by `Source N`.

- A *label line* is a whole line `Source N` or `[Source N]`, optionally followed by `|` fields.
  The first field is the block's title; later fields (the source type and index, or anything a
  caller adds) are not interpreted. Only this exact form starts a new block: the platform writes
  nothing else, and a heading in a teacher's own notes must not invent a citable label.
- Text before the first label line is not dropped: it becomes a block of its own that carries
  the first label line's label and no title, because that is the label a reader will cite for it.
- Text without any label line is one block, `Source 1`, with no title.

`is_source_header` also recognises the looser headings pasted material carries (`## Source 3`,
`**Material 7** - Waves`, `Source 6: Newton's laws`), so cleaning never quotes a header.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from tools.text.hygiene import strip_invisible

LABEL_LINE = re.compile(r"^[ \t]*\[?Source[ \t]+(\d+)\]?[ \t]*(?:\|[ \t]*(.*?))?[ \t]*$", re.M)
"""A label line; group 1 is the number, group 2 the `|` fields after it (None without any)."""

_HEADING = re.compile(
    r"^(?:#+\s*)?[\[(*_-]*\s*(?:source|material|document)\s*#?\s*\d+\s*[\])*_-]*\s*"
    r"(?P<rest>[|:–—-].*)?$",
    re.IGNORECASE,
)


class SourceBlock(NamedTuple):
    """One labelled block of material: `Source N`, its title ("" when it has none), its text."""

    label: str
    title: str
    text: str


def _label(match: re.Match[str]) -> str:
    return f"Source {int(match.group(1))}"


def _title(match: re.Match[str]) -> str:
    return (match.group(2) or "").split("|")[0].strip()


def split_sources(text: str) -> list[SourceBlock]:
    """The blocks of `text` in order (invisible characters removed, each text stripped).

    A label line with nothing under it still gives a block (with empty text): the label exists.
    Blank text gives no block.
    """
    text = strip_invisible(text)
    headers = list(LABEL_LINE.finditer(text))
    if not headers:
        return [SourceBlock("Source 1", "", text.strip())] if text.strip() else []
    blocks: list[SourceBlock] = []
    lead = text[: headers[0].start()].strip()
    if lead:
        blocks.append(SourceBlock(_label(headers[0]), "", lead))
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        blocks.append(SourceBlock(_label(header), _title(header), text[header.end() : end].strip()))
    return blocks


def source_labels(text: str) -> list[str]:
    """The distinct labels of the label lines in `text`, in order of first appearance."""
    return list(dict.fromkeys(_label(m) for m in LABEL_LINE.finditer(strip_invisible(text))))


def is_source_header(line: str) -> bool:
    """True for a label line, and for a looser header naming a source, material or document.

    `Source 2: Title` counts when the title is short and not a sentence.
    """
    if LABEL_LINE.fullmatch(line):
        return True
    m = _HEADING.match(line.strip())
    rest = (m.group("rest") or "") if m else ""
    if not m or not rest or rest.startswith("|"):
        return bool(m)
    return len(rest.split()) <= 9 and not rest.endswith((".", "!", "?"))
