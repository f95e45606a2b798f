"""The chat reply the web app parses: safety, answer, citations, confidence?, canvas_hint?."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

_LABEL = re.compile(r"\bSource\s+(\d+)\b", re.I)
_CANVAS_TYPES = {"chart", "diagram", "wave", "vector"}
_CONFIDENCE = {"low", "medium", "high"}


def _label(value: Any) -> str | None:
    match = _LABEL.search(str(value or ""))
    return f"Source {int(match.group(1))}" if match else None


def normalise_reply(
    parsed: dict[str, Any] | None, raw_text: str, *, labels: Collection[str]
) -> tuple[dict[str, Any], list[str]]:
    """A contract-valid reply from what the model wrote, plus notes on what had to be fixed.

    Citations naming a label that is not in the context are dropped (never invented); a reply
    that is not JSON becomes the answer text with the `[Source N]` markers it contains.
    """
    notes: list[str] = []
    if parsed is None:
        notes.append("the reply was not JSON; its text was used as the answer")
        parsed = {"safety": "ok", "answer": raw_text.strip(), "citations": []}
        markers = dict.fromkeys(_label(m.group(0)) for m in _LABEL.finditer(raw_text))
        parsed["citations"] = [{"sourceLabel": label, "rationale": ""} for label in markers]
    safety = parsed.get("safety") if parsed.get("safety") in ("ok", "refusal") else "ok"
    answer = parsed.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        answer = ""
        notes.append("the reply had no answer text")
    citations: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in parsed.get("citations") or []:
        if not isinstance(item, dict):
            continue
        label = _label(item.get("sourceLabel") or item.get("source_label"))
        if label is None or label not in labels:
            notes.append(f"dropped a citation of an unknown source ({item!r:.60})")
            continue
        if label in seen:
            continue
        seen.add(label)
        rationale = item.get("rationale") or item.get("snippet") or ""
        citations.append({"sourceLabel": label, "rationale": str(rationale)[:500]})
    reply: dict[str, Any] = {"safety": safety, "answer": answer.strip(), "citations": citations}
    if parsed.get("confidence") in _CONFIDENCE:
        reply["confidence"] = parsed["confidence"]
    hint = parsed.get("canvas_hint")
    if isinstance(hint, dict) and hint.get("type") in _CANVAS_TYPES:
        concept, title = (
            str(hint.get("concept") or "").strip(),
            str(hint.get("title") or "").strip(),
        )
        if concept and title:
            reply["canvas_hint"] = {
                "type": hint["type"],
                "concept": concept[:200],
                "title": title[:200],
            }
    return reply, notes
