"""The course blueprint payload (schema v2): validation, source labels and prompt rendering."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from tools.payloads.injection import Injected, injection_errors
from tools.text import strip_invisible
from tools.text.sources import source_labels

SCHEMA_VERSION: Final = "v2"
BLOOM_LEVELS: Final = ("remember", "understand", "apply", "analyze", "evaluate", "create")
RUBRIC_GRADES: Final = ("low", "medium", "high")
RUBRIC_FIELDS: Final = ("coverageCompleteness", "logicalProgression", "evidenceGrounding")
KEY_PATTERN: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
LABEL_PATTERN: Final = re.compile(r"^Source [1-9]\d*$")
FILE_NAME: Final = re.compile(
    r"[\w-]\.(?:md|markdown|txt|pdf|docx?|odt|rtf|pptx?|odp|key|html?|csv|tsv|xlsx?|ods|json"
    r"|tex|ipynb|epub|png|jpe?g|gif)\b",
    re.IGNORECASE,
)
"""A file name (`forces.md`, `Lecture_03.pdf`): never a topic's name."""
LABEL_IN_TEXT: Final = re.compile(r"\bsource\s+\d+\b", re.IGNORECASE)


def naming_problem(text: str) -> str | None:
    """Why `text` cannot be a topic title or objective statement, or None when it can.

    The web app shows both to teachers and students: a file name or a source label names the
    upload, not the idea being taught.
    """
    if FILE_NAME.search(text):
        return "names a file; name the idea from the material instead"
    if LABEL_IN_TEXT.search(text):
        return "names a source label; labels belong only in `evidence`"
    return None


def material_source_labels(material_text: str, *, material_count: int) -> list[str]:
    """The `Source N` labels a blueprint may cite.

    Labelled material offers the labels of its headers; a single unlabelled text stands for all
    `material_count` materials, `Source 1` to `Source {material_count}`.
    """
    found = source_labels(material_text)
    if found:
        return found
    return [f"Source {n}" for n in range(1, max(1, material_count) + 1)]


# ---------------------------------------------------------------------------- validation


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _text_list(value: Any) -> bool:
    return isinstance(value, list) and all(_text(item) for item in value)


def _check_rubric(rubric: Any, errors: list[str]) -> None:
    if rubric is None:
        return
    if not isinstance(rubric, dict):
        errors.append("`qualityRubric` must be an object or null.")
        return
    for field in RUBRIC_FIELDS:
        if rubric.get(field) not in RUBRIC_GRADES:
            errors.append(f"`qualityRubric.{field}` must be one of low, medium, high.")
    if not _text_list(rubric.get("notes", [])):
        errors.append("`qualityRubric.notes` must be a list of non-empty strings.")


def _check_wording(value: Any, where: str, field: str, errors: list[str]) -> None:
    if not _text(value):
        errors.append(f"{where}: `{field}` must be non-empty text.")
    elif problem := naming_problem(value):
        errors.append(f"{where}: `{field}` {value.strip()!r} {problem}.")


def _check_label(label: Any, where: str, labels: Collection[str], errors: list[str]) -> None:
    if not isinstance(label, str) or not LABEL_PATTERN.match(label.strip()):
        errors.append(f'{where}: the source label {label!r} is not of the form "Source N".')
    elif label.strip() not in labels:
        known = ", ".join(sorted(labels, key=_label_number)) or "none"
        errors.append(f"{where}: {label.strip()!r} is not in the material (it has {known}).")


def _label_number(label: str) -> int:
    digits = label.rsplit(" ", 1)[-1]
    return int(digits) if digits.isdigit() else 0


def _check_objective(
    objective: Any, where: str, labels: Collection[str], errors: list[str]
) -> None:
    if not isinstance(objective, dict):
        errors.append(f"{where} must be an object.")
        return
    _check_wording(objective.get("statement"), where, "statement", errors)
    level = objective.get("level")
    if level is not None and level not in BLOOM_LEVELS:
        errors.append(
            f"{where}: `level` {level!r} must be one of {', '.join(BLOOM_LEVELS)} or null."
        )
    for field in ("masteryCriteria", "misconceptionAddressed"):
        if not _optional_text(objective.get(field)):
            errors.append(f"{where}: `{field}` must be text or null.")
    _check_evidence(objective.get("evidence", []), where, labels, errors)


def _check_evidence(evidence: Any, where: str, labels: Collection[str], errors: list[str]) -> None:
    """Topic and objective evidence alike: `[{sourceLabel: "Source N", rationale}]`."""
    if not isinstance(evidence, list):
        errors.append(f"{where}: `evidence` must be a list of {{sourceLabel, rationale}} objects.")
        return
    for number, item in enumerate(evidence, start=1):
        if not isinstance(item, dict):
            errors.append(
                f"{where}, evidence {number}: must be a {{sourceLabel, rationale}} object, "
                f"not {item!r}."
            )
            continue
        _check_label(item.get("sourceLabel"), f"{where}, evidence {number}", labels, errors)
        if not _text(item.get("rationale")):
            errors.append(f"{where}, evidence {number}: `rationale` must be non-empty text.")


def _check_topic(
    topic: dict[str, Any], where: str, labels: Collection[str], errors: list[str]
) -> None:
    _check_wording(topic.get("title"), where, "title", errors)
    for field in ("description", "section"):
        if not _optional_text(topic.get(field)):
            errors.append(f"{where}: `{field}` must be text or null.")
    objectives = topic.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        errors.append(f"{where}: `objectives` must be a non-empty list.")
    else:
        for number, objective in enumerate(objectives, start=1):
            _check_objective(objective, f"{where}, objective {number}", labels, errors)
    if not _text_list(topic.get("assessmentIdeas")) or not topic.get("assessmentIdeas"):
        errors.append(f"{where}: `assessmentIdeas` must be a non-empty list of non-empty strings.")
    if not _text_list(topic.get("misconceptionFlags", [])):
        errors.append(f"{where}: `misconceptionFlags` must be a list of non-empty strings.")
    _check_evidence(topic.get("evidence", []), where, labels, errors)


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A prerequisite cycle as `[a, b, …, a]`, or None when the graph is a DAG.

    `edges` maps each topic key to its prerequisites; unknown keys are ignored.
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        path.append(key)
        for nxt in edges.get(key, ()):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[key] = 2
        return None

    for key in edges:
        if key not in state and (found := visit(key)) is not None:
            return found
    return None


def prerequisite_errors(topics: Sequence[Any]) -> list[str]:
    """Prerequisites that name no topic, name their own topic, repeat, or form a cycle."""
    keys = {t.get("key") for t in topics if isinstance(t, dict) and isinstance(t.get("key"), str)}
    errors: list[str] = []
    edges: dict[str, list[str]] = {}
    for topic in topics:
        if not isinstance(topic, dict) or not isinstance(topic.get("key"), str):
            continue
        key = topic["key"]
        prerequisites = topic.get("prerequisites", [])
        if not isinstance(prerequisites, list) or not all(
            isinstance(p, str) for p in prerequisites
        ):
            errors.append(f"Topic {key!r}: `prerequisites` must be a list of topic keys.")
            continue
        if len(set(prerequisites)) != len(prerequisites):
            errors.append(f"Topic {key!r}: `prerequisites` lists a topic more than once.")
        for prerequisite in prerequisites:
            if prerequisite == key:
                errors.append(f"Topic {key!r} lists itself as a prerequisite.")
            elif prerequisite not in keys:
                errors.append(f"Topic {key!r}: prerequisite {prerequisite!r} is not a topic key.")
        edges.setdefault(key, []).extend(p for p in prerequisites if p != key and p in keys)
    cycle = find_cycle(edges)
    if cycle:
        errors.append(f"The prerequisites form a cycle: {' -> '.join(cycle)}.")
    return errors


def _check_sequence(topics: list[Any], errors: list[str]) -> None:
    sequences: list[int] = []
    for position, topic in enumerate(topics, start=1):
        if not isinstance(topic, dict):
            continue
        name = topic.get("key") if isinstance(topic.get("key"), str) else f"#{position}"
        sequence = topic.get("sequence")
        if not isinstance(sequence, int) or isinstance(sequence, bool):
            errors.append(f"Topic {name!r}: `sequence` must be an integer.")
            return
        if sequence != position:
            errors.append(
                f"Topic {name!r} has sequence {sequence} but is at position {position}: "
                "topics must be sorted by sequence."
            )
        sequences.append(sequence)
    if sorted(sequences) != list(range(1, len(sequences) + 1)):
        errors.append(
            f"The sequences must run 1..{len(sequences)} with no gaps or repeats; "
            f"got {sorted(sequences)}."
        )


def validate_blueprint(
    payload: Any, *, source_labels: Collection[str], material: str = ""
) -> list[str]:
    """Return every contract violation in `payload`; an empty list means the blueprint is valid.

    `source_labels` are the `Source N` labels the material offers (`material_source_labels`).
    No text may carry an instruction planted in `material` (`tools.payloads.injection`);
    without it, only text that reads as an injection by itself is refused.
    """
    if not isinstance(payload, dict):
        return ["The blueprint must be a JSON object."]
    labels = {label.strip() for label in source_labels}
    errors: list[str] = []
    if payload.get("schemaVersion") != SCHEMA_VERSION:
        errors.append(f'`schemaVersion` must be "{SCHEMA_VERSION}".')
    if not _text(payload.get("summary")):
        errors.append("`summary` must be non-empty text.")
    for field in ("assumptions", "uncertaintyNotes"):
        if not _text_list(payload.get(field, [])):
            errors.append(f"`{field}` must be a list of non-empty strings.")
    _check_rubric(payload.get("qualityRubric"), errors)
    topics = payload.get("topics")
    if not isinstance(topics, list) or not topics:
        errors.append("`topics` must be a non-empty list.")
        return errors + injection_errors(payload, Injected.of(material))
    seen: set[str] = set()
    for position, topic in enumerate(topics, start=1):
        if not isinstance(topic, dict):
            errors.append(f"Topic #{position} must be an object.")
            continue
        key = topic.get("key")
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            errors.append(
                f"Topic #{position}: `key` {key!r} must be kebab-case (e.g. 'newtons-laws')."
            )
            where = f"Topic #{position}"
        else:
            where = f"Topic {key!r}"
            if key in seen:
                errors.append(f"{where}: the key is used by more than one topic.")
            seen.add(key)
        _check_topic(topic, where, labels, errors)
    _check_sequence(topics, errors)
    errors.extend(prerequisite_errors(topics))
    errors.extend(injection_errors(payload, Injected.of(material)))
    return errors


# ---------------------------------------------------------------------------- rendering


def render_blueprint_context(blueprint: dict[str, Any], *, max_chars: int = 6000) -> str:
    """Topics in sequence with their objectives, as compact text for a prompt."""
    lines = ["Blueprint Context"]
    if blueprint.get("summary"):
        lines.append(f"Course summary: {blueprint['summary']}")
    topics = sorted(blueprint.get("topics") or [], key=lambda t: t.get("sequence", 0))
    for topic in topics:
        lines.append(f"{topic.get('sequence')}. {topic.get('title')} [{topic.get('key')}]")
        for objective in topic.get("objectives") or []:
            level = objective.get("level")
            suffix = f" ({level})" if level else ""
            lines.append(f"   - {objective.get('statement')}{suffix}")
        flags = topic.get("misconceptionFlags") or []
        if flags:
            lines.append(f"   Misconceptions to watch: {'; '.join(flags)}")
    text = strip_invisible("\n".join(lines))
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def blueprint_topic_titles(blueprint: dict[str, Any]) -> list[str]:
    return [str(t.get("title")) for t in blueprint.get("topics") or [] if t.get("title")]


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_strip(item) for item in value]
    if isinstance(value, dict):
        return {key: _strip(item) for key, item in value.items()}
    return value


def tidy_blueprint(candidate: dict[str, Any]) -> dict[str, Any]:
    """Unwrap `{"blueprint": {...}}`, trim stray whitespace and order topics by `sequence`.

    Validation judges what is left; nothing here invents content. The blueprint graph tidies
    model answers and teachers' edits with it, and the approval route checks an edit with it
    before resuming a draft, so both judge the same blueprint.
    """
    if set(candidate) == {"blueprint"} and isinstance(candidate["blueprint"], dict):
        candidate = candidate["blueprint"]
    tidied: dict[str, Any] = _strip(candidate)
    topics = tidied.get("topics")
    if isinstance(topics, list) and all(
        isinstance(t, dict) and type(t.get("sequence")) is int for t in topics
    ):
        tidied["topics"] = sorted(topics, key=lambda t: t["sequence"])
    return tidied
