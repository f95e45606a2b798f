"""Reading a JSON object out of a model's reply, however it was wrapped."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` (bare, fenced, or surrounded by prose), else None."""
    candidates = [text.strip(), *(m.group(1).strip() for m in _FENCE.finditer(text))]
    start = text.find("{")
    if start >= 0:
        candidates.append(text[start:])
    decoder = json.JSONDecoder()
    for candidate in candidates:
        brace = candidate.find("{")
        if brace < 0:
            continue
        try:
            value, _ = decoder.raw_decode(candidate[brace:])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None
