"""`Source N | title | type index` labels: recognising header lines in material."""

from __future__ import annotations

import re

_SOURCE_HEADER = re.compile(
    r"^(?:#+\s*)?[\[(*_-]*\s*(?:source|material|document)\s*#?\s*\d+\s*[\])*_-]*\s*"
    r"(?P<rest>[|:–—-].*)?$",
    re.IGNORECASE,
)


def is_source_header(line: str) -> bool:
    """True for a concatenation header such as `Source 2 | Newton's laws | material 1`.

    `Source 2: Title` also counts when the title is short and not a sentence.
    """
    m = _SOURCE_HEADER.match(line.strip())
    rest = (m.group("rest") or "") if m else ""
    if not m or not rest or rest.startswith("|"):
        return bool(m)
    return len(rest.split()) <= 9 and not rest.endswith((".", "!", "?"))
