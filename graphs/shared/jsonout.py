"""Reading a JSON object out of a model's reply, however it was wrapped."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
_MAX_STARTS = 64


def _first_object(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    start = text.find("{")
    tries = 0
    # Prose before the object may hold braces of its own (LaTeX such as x^{2}); try each one.
    while start >= 0 and tries < _MAX_STARTS:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
        tries += 1
    return None


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` (bare, fenced, or surrounded by prose), else None.

    A reply that is a JSON array is not an object, even when the array holds objects.
    """
    for block in [m.group(1).strip() for m in _FENCE.finditer(text)] + [text.strip()]:
        if block.startswith("["):
            try:
                json.loads(block)
            except json.JSONDecodeError:
                pass
            else:
                return None
        found = _first_object(block)
        if found is not None:
            return found
    return None
