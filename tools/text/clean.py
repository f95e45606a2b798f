"""Class material as plain paragraphs: headers, Markdown, code and invisible characters removed."""

from __future__ import annotations

import re

from tools.text.hygiene import normalise_text
from tools.text.sources import is_source_header

_FENCE = re.compile(r"^(?:```|~~~)")
_RULE = re.compile(r"^(?:[-*_=]\s*){3,}$")
_HEADING = re.compile(r"^#{1,6}\s+")
_BULLET = re.compile(r"^(?:[-*+•·]|\d{1,3}[.)])\s+")
_QUOTE_MARK = re.compile(r"^(?:>\s*)+")
_INLINE = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.{1,300}?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*]+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<!\w)_(?=[^\s_])([^_]+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"\s{2,}"), " "),
)


def strip_markdown(line: str) -> str:
    """Remove heading, bullet, quote and inline emphasis/link/code markup from one line."""
    text = _QUOTE_MARK.sub("", line.strip())
    text = _BULLET.sub("", _HEADING.sub("", text))
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text.strip()


def _continues(previous: str, line: str) -> bool:
    # Hard-wrapped prose: the previous line stops mid-sentence and this one carries on.
    if previous.endswith((".", "!", "?", ":", ";")):
        return False
    return line[0].islower() or previous.endswith(",") or len(previous) >= 50


def clean_material(text: str) -> str:
    """Return plain paragraphs, one per line, without invisible characters, headers or markup.

    Headings, bullets and blank-line-separated paragraphs become separate lines; hard-wrapped
    prose lines are joined. Fenced code, tables and horizontal rules are dropped.
    """
    blocks: list[str] = []
    current: list[str] = []
    in_fence = False

    def flush() -> None:
        if current:
            blocks.append(" ".join(current))
            current.clear()

    for line in normalise_text(text).split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            flush()
            continue
        if in_fence or not line or line.startswith("|") or _RULE.match(line):
            flush()
            continue
        if is_source_header(line):
            flush()
            continue
        body = strip_markdown(line)
        if not body:
            flush()
        elif _HEADING.match(line) or _BULLET.match(_QUOTE_MARK.sub("", line)):
            flush()
            current.append(body)
            if _HEADING.match(line):
                flush()
        elif current and _continues(current[-1], body):
            current.append(body)
        else:
            flush()
            current.append(body)
    flush()
    return "\n".join(blocks)


_LIGHT_MARKER = re.compile(r"^(?:#{1,6}\s+|[-*+]\s+|\d{1,3}[.)]\s+|>\s?)")
_LIGHT_INLINE = re.compile(r"\*\*|__|`")


def light_clean(text: str) -> str:
    """`normalise_text` minus one heading/list/quote marker per line and `**`, `__`, backticks.

    This is how a grader is expected to read the material when it looks for a quoted sentence;
    a sentence of `clean_material` found in it (after `fold`) can be quoted safely.
    """
    lines = normalise_text(text).split("\n")
    return "\n".join(_LIGHT_INLINE.sub("", _LIGHT_MARKER.sub("", line)) for line in lines)
