"""The chat reply the web app parses: safety, answer, citations, confidence?, canvas_hint?.

The sources are data: answer sentences, rationales and canvas hints that carry an instruction
planted in them (`tools.payloads.injection`) are left out of the reply.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, Final

from tools.payloads.injection import Injected, carried_injection
from tools.text.sentences import split_sentences

_LABEL = re.compile(r"\bSource\s+(\d+)\b", re.I)
_CANVAS_TYPES = {"chart", "diagram", "wave", "vector"}
_CONFIDENCE = {"low", "medium", "high"}
NO_CLEAN_ANSWER: Final = (
    "I couldn't find a clear answer to that in your class materials. Could you ask about a "
    "specific idea from your class, or check with your teacher?"
)
"""The answer when every sentence the model wrote carried a planted instruction."""


def _scrub(answer: str, injected: Injected, *, rules: bool) -> tuple[str, int]:
    """`answer` without the sentences that carry an injection, and how many were left out."""
    kept_lines: list[str] = []
    dropped = 0
    for line in answer.split("\n"):
        sentences = split_sentences(line)
        kept = [s for s in sentences if carried_injection(s, injected, rules=rules) is None]
        dropped += len(sentences) - len(kept)
        if len(kept) == len(sentences):
            kept_lines.append(line)
        elif kept:
            kept_lines.append(" ".join(kept))
    return "\n".join(kept_lines).strip(), dropped


def _label(value: Any) -> str | None:
    match = _LABEL.search(str(value or ""))
    return f"Source {int(match.group(1))}" if match else None


def normalise_reply(
    parsed: dict[str, Any] | None,
    raw_text: str,
    *,
    labels: Collection[str],
    material: str = "",
) -> tuple[dict[str, Any], list[str]]:
    """A contract-valid reply from what the model wrote, plus notes on what had to be fixed.

    Citations naming a label that is not in the context are dropped (never invented); a reply
    that is not JSON becomes the answer text with the `[Source N]` markers it contains.
    Sentences, rationales and hints that carry an instruction planted in `material` (the
    sources and blueprint the model saw) are left out; a refusal may talk about instructions,
    so only copies and markers of planted ones count there. An answer with nothing else left
    becomes `NO_CLEAN_ANSWER`.
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
    injected, rules = Injected.of(material), safety == "ok"
    answer, dropped = _scrub(answer.strip(), injected, rules=rules)
    if dropped:
        notes.append(f"left out {dropped} answer sentence(s) carrying a planted instruction")
        if not answer:
            answer, citations = NO_CLEAN_ANSWER, []
    for citation in citations:
        if carried_injection(citation["rationale"], injected, rules=rules):
            citation["rationale"] = ""
            notes.append(f"emptied the rationale of {citation['sourceLabel']}: it carried one")
    reply: dict[str, Any] = {"safety": safety, "answer": answer, "citations": citations}
    if parsed.get("confidence") in _CONFIDENCE:
        reply["confidence"] = "low" if answer == NO_CLEAN_ANSWER else parsed["confidence"]
    hint = parsed.get("canvas_hint")
    if isinstance(hint, dict) and hint.get("type") in _CANVAS_TYPES:
        concept, title = (
            str(hint.get("concept") or "").strip(),
            str(hint.get("title") or "").strip(),
        )
        if any(carried_injection(text, injected) for text in (concept, title)):
            notes.append("dropped a canvas hint that carried a planted instruction")
        elif concept and title:
            reply["canvas_hint"] = {
                "type": hint["type"],
                "concept": concept[:200],
                "title": title[:200],
            }
    return reply, notes
