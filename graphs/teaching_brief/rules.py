"""The brief payload's rules: shape, caps, and names that must exist in the class insights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.payloads.injection import Injected, injection_errors
from tools.payloads.teaching_brief import (
    MAX_ATTENTION,
    MAX_MISCONCEPTIONS,
    MAX_STUDENTS,
    student_name,
    students_of,
    topics_of,
)
from tools.text import fold, strip_invisible

ACTIVITY_TYPES = ("quiz", "flashcards", "chat", "discussion")
TEXT_FIELDS = ("summary", "strongest_action", "next_step", "evidence_basis")
LIST_CAPS = {
    "attention_items": MAX_ATTENTION,
    "misconceptions": MAX_MISCONCEPTIONS,
    "students_to_watch": MAX_STUDENTS,
}
MAX_TEXT = 1500


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return strip_invisible(value).strip()
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def tidy_brief(candidate: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the contract's keys only, with stray whitespace and invisible characters removed."""
    keys = (*TEXT_FIELDS, *LIST_CAPS, "recommended_activity")
    return {key: _clean(candidate[key]) for key in keys if key in candidate}


def _text_error(where: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return f"{where} must be a non-empty string."
    if len(value) > MAX_TEXT:
        return f"{where} is longer than {MAX_TEXT} characters."
    return None


def _attention_errors(index: int, item: Any) -> list[str]:
    where = f"attention_items[{index}]"
    error = _text_error(where, item)
    if error:
        return [error]
    topic, _, detail = str(item).partition(":")
    if not topic.strip() or not detail.strip():
        return [f'{where} must read "topic: detail".']
    return []


def _misconception_errors(index: int, item: Any, titles: Mapping[str, str]) -> list[str]:
    where = f"misconceptions[{index}]"
    if not isinstance(item, Mapping):
        return [f"{where} must be an object with topic_id, topic_title and description."]
    errors = [
        e
        for e in (_text_error(f"{where}.{k}", item.get(k)) for k in ("topic_id", "description"))
        if e
    ]
    topic_id = item.get("topic_id")
    if isinstance(topic_id, str) and topic_id and topic_id not in titles:
        known = ", ".join(sorted(titles)) or "none"
        errors.append(f"{where}.topic_id {topic_id!r} is not a topic of this class ({known}).")
    elif isinstance(topic_id, str) and fold(str(item.get("topic_title", ""))) != fold(
        titles.get(topic_id, "")
    ):
        errors.append(f"{where}.topic_title must be {titles.get(topic_id, '')!r}.")
    return errors


def _student_errors(index: int, item: Any, names: Mapping[str, str], seen: set[str]) -> list[str]:
    where = f"students_to_watch[{index}]"
    if not isinstance(item, Mapping):
        return [f"{where} must be an object with student_id, display_name and reason."]
    errors = [
        e for e in (_text_error(f"{where}.{k}", item.get(k)) for k in ("student_id", "reason")) if e
    ]
    student_id = item.get("student_id")
    if isinstance(student_id, str) and student_id:
        if student_id not in names:
            errors.append(f"{where}.student_id {student_id!r} is not a student of this class.")
        elif fold(str(item.get("display_name", ""))) != fold(names[student_id]):
            errors.append(f"{where}.display_name must be {names[student_id]!r}.")
        elif student_id in seen:
            errors.append(f"{where} repeats student {student_id!r}.")
        seen.add(student_id)
    return errors


def _activity_errors(activity: Any) -> list[str]:
    if activity is None:
        return []
    if not isinstance(activity, Mapping):
        return ["recommended_activity must be null or an object with type and reason."]
    errors = []
    if activity.get("type") not in ACTIVITY_TYPES:
        errors.append(f"recommended_activity.type must be one of {', '.join(ACTIVITY_TYPES)}.")
    reason = _text_error("recommended_activity.reason", activity.get("reason"))
    return errors + ([reason] if reason else [])


def validate_brief(
    candidate: Mapping[str, Any], insights: Mapping[str, Any], *, inputs: str = ""
) -> list[str]:
    """Every rule the brief breaks (empty when it is valid); no text may carry an instruction
    planted in `inputs` (`tools.payloads.teaching_brief.brief_inputs`)."""
    errors = [e for e in (_text_error(k, candidate.get(k)) for k in TEXT_FIELDS) if e]
    titles = {str(t["topic_id"]): str(t.get("title", "")) for t in topics_of(insights)}
    names = {str(s["student_id"]): student_name(s) for s in students_of(insights)}
    seen: set[str] = set()
    for key, cap in LIST_CAPS.items():
        items = candidate.get(key)
        if not isinstance(items, list):
            errors.append(f"{key} must be a list.")
            continue
        if len(items) > cap:
            errors.append(f"{key} has {len(items)} items; at most {cap} are allowed.")
        for index, item in enumerate(items[:cap]):
            if key == "attention_items":
                errors += _attention_errors(index, item)
            elif key == "misconceptions":
                errors += _misconception_errors(index, item, titles)
            else:
                errors += _student_errors(index, item, names, seen)
    if "recommended_activity" not in candidate:
        errors.append("recommended_activity is missing (use null for none).")
    errors += _activity_errors(candidate.get("recommended_activity"))
    return errors + injection_errors(candidate, Injected.of(inputs))


def salvage_brief(
    candidate: Mapping[str, Any] | None, insights: Mapping[str, Any], *, inputs: str = ""
) -> dict[str, Any] | None:
    """The brief without its invalid list items and over-cap tails, if that makes it valid."""
    if candidate is None:
        return None
    kept = dict(candidate)
    titles = {str(t["topic_id"]): str(t.get("title", "")) for t in topics_of(insights)}
    names = {str(s["student_id"]): student_name(s) for s in students_of(insights)}
    seen: set[str] = set()
    checks = {
        "attention_items": lambda i, item: _attention_errors(i, item),
        "misconceptions": lambda i, item: _misconception_errors(i, item, titles),
        "students_to_watch": lambda i, item: _student_errors(i, item, names, seen),
    }
    injected = Injected.of(inputs)
    for key, cap in LIST_CAPS.items():
        items = kept.get(key)
        if isinstance(items, list):
            kept[key] = [
                item
                for i, item in enumerate(items)
                if not checks[key](i, item) and not injection_errors(item, injected)
            ][:cap]
    if _activity_errors(kept.get("recommended_activity")):
        kept["recommended_activity"] = None
    kept.setdefault("recommended_activity", None)
    return kept if not validate_brief(kept, insights, inputs=inputs) else None
