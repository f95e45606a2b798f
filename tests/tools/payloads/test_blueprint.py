"""The blueprint contract (schema v2): source labels, every validation rule, and rendering."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tools.demo.blueprint import DEMO_BLUEPRINT
from tools.payloads.blueprint import (
    blueprint_topic_titles,
    find_cycle,
    material_source_labels,
    naming_problem,
    prerequisite_errors,
    render_blueprint_context,
    validate_blueprint,
)

LABELS = ["Source 1", "Source 2", "Source 3", "Source 4"]


def topic(key: str, sequence: int, prerequisites: list[str] | None = None) -> dict[str, Any]:
    return {
        "key": key,
        "title": key.replace("-", " ").title(),
        "sequence": sequence,
        "prerequisites": prerequisites or [],
        "objectives": [{"statement": f"Explain {key}.", "level": "understand", "evidence": []}],
        "assessmentIdeas": [f"Quiz on {key}."],
        "misconceptionFlags": [],
        "evidence": [{"sourceLabel": "Source 1", "rationale": "Covers it."}],
    }


def blueprint(*topics: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemaVersion": "v2",
        "summary": "A course.",
        "assumptions": [],
        "uncertaintyNotes": [],
        "qualityRubric": None,
        "topics": list(topics),
    }


def test_the_demo_blueprint_is_valid() -> None:
    assert validate_blueprint(DEMO_BLUEPRINT, source_labels=LABELS) == []


def test_optional_fields_may_be_null_or_missing() -> None:
    minimal = blueprint(topic("forces", 1))
    minimal["topics"][0].update({"description": None, "section": None})
    minimal["topics"][0]["objectives"][0].update({"level": None, "masteryCriteria": None})
    del minimal["topics"][0]["misconceptionFlags"]
    del minimal["assumptions"]
    assert validate_blueprint(minimal, source_labels=["Source 1"]) == []


def edit(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    payload = copy.deepcopy(DEMO_BLUEPRINT)
    change(payload)
    return payload


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        target: Any = payload
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set(["schemaVersion"], "v1"), '`schemaVersion` must be "v2"'),
        (_set(["summary"], "  "), "`summary` must be non-empty text"),
        (_set(["assumptions"], "none"), "`assumptions` must be a list"),
        (_set(["uncertaintyNotes"], [""]), "`uncertaintyNotes` must be a list"),
        (_set(["qualityRubric"], "good"), "`qualityRubric` must be an object or null"),
        (
            _set(["qualityRubric", "logicalProgression"], "great"),
            "`qualityRubric.logicalProgression` must be one of low, medium, high",
        ),
        (_set(["qualityRubric", "notes"], "fine"), "`qualityRubric.notes` must be a list"),
        (_set(["topics"], []), "`topics` must be a non-empty list"),
        (_set(["topics", 0, "key"], "Forces_Motion"), "must be kebab-case"),
        (_set(["topics", 0, "key"], "forces--motion"), "must be kebab-case"),
        (_set(["topics", 1, "key"], "forces-and-motion"), "used by more than one topic"),
        (_set(["topics", 0, "title"], ""), "Topic 'forces-and-motion': `title` must be"),
        (_set(["topics", 0, "description"], 3), "`description` must be text or null"),
        (_set(["topics", 0, "objectives"], []), "`objectives` must be a non-empty list"),
        (
            _set(["topics", 0, "objectives", 0, "level"], "memorise"),
            "Topic 'forces-and-motion', objective 1: `level` 'memorise' must be one of",
        ),
        (
            _set(["topics", 0, "objectives", 1, "statement"], None),
            "objective 2: `statement` must be non-empty text",
        ),
        (
            _set(
                ["topics", 0, "objectives", 0, "evidence"],
                [{"sourceLabel": "Source 9", "rationale": "x"}],
            ),
            "objective 1, evidence 1: 'Source 9' is not in the material",
        ),
        (
            _set(
                ["topics", 0, "objectives", 0, "evidence"],
                [{"sourceLabel": "the textbook", "rationale": "x"}],
            ),
            'is not of the form "Source N"',
        ),
        # Objective evidence is shaped like the topic's: bare labels are refused.
        (
            _set(["topics", 0, "objectives", 0, "evidence"], ["Source 1"]),
            "objective 1, evidence 1: must be a {sourceLabel, rationale} object, not 'Source 1'",
        ),
        (
            _set(
                ["topics", 0, "objectives", 0, "evidence"],
                [{"sourceLabel": "Source 1", "rationale": " "}],
            ),
            "objective 1, evidence 1: `rationale` must be non-empty text",
        ),
        (
            _set(["topics", 0, "objectives", 0, "evidence"], "Source 1"),
            "objective 1: `evidence` must be a list of {sourceLabel, rationale} objects",
        ),
        # Titles and statements name ideas, never the upload or its label.
        (
            _set(["topics", 0, "title"], "forces.md: Newton"),
            "`title` 'forces.md: Newton' names a file",
        ),
        (_set(["topics", 0, "title"], "Source 2"), "`title` 'Source 2' names a source label"),
        (
            _set(
                ["topics", 0, "objectives", 1, "statement"],
                "Use F = m to solve problems on forces.md: Newton.",
            ),
            "objective 2: `statement` 'Use F = m to solve problems on forces.md: Newton.' names",
        ),
        (
            _set(["topics", 1, "objectives", 0, "statement"], "Summarise the ideas in source 3."),
            "names a source label",
        ),
        (_set(["topics", 2, "assessmentIdeas"], []), "Topic 'atoms-and-bonding': `assessment"),
        (_set(["topics", 2, "misconceptionFlags"], [1]), "`misconceptionFlags` must be a list"),
        (
            _set(["topics", 3, "evidence"], [{"sourceLabel": "Source 5", "rationale": "x"}]),
            "Topic 'waves-and-sound', evidence 1: 'Source 5' is not in the material",
        ),
        (
            _set(["topics", 3, "evidence"], [{"sourceLabel": "Source 4", "rationale": ""}]),
            "evidence 1: `rationale` must be non-empty text",
        ),
        (_set(["topics", 3, "evidence"], ["Source 4"]), "must be a {sourceLabel, rationale}"),
        (_set(["topics", 0, "sequence"], "1"), "`sequence` must be an integer"),
        (_set(["topics", 0, "sequence"], True), "`sequence` must be an integer"),
        (_set(["topics", 3, "sequence"], 5), "The sequences must run 1..4"),
        (_set(["topics", 1, "prerequisites"], ["gravity"]), "'gravity' is not a topic key"),
        (
            _set(["topics", 1, "prerequisites"], ["energy-work-power"]),
            "Topic 'energy-work-power' lists itself as a prerequisite",
        ),
        (_set(["topics", 1, "prerequisites"], "forces-and-motion"), "must be a list of topic"),
    ],
)
def test_each_rule_is_reported_in_words(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    errors = validate_blueprint(edit(change), source_labels=LABELS)
    assert any(message in error for error in errors), errors


def test_topics_must_come_sorted_by_sequence() -> None:
    payload = blueprint(topic("a", 2), topic("b", 1))
    errors = validate_blueprint(payload, source_labels=["Source 1"])
    assert "Topic 'a' has sequence 2 but is at position 1" in errors[0]
    assert not any("no gaps" in error for error in errors)


def test_a_gap_or_a_repeat_breaks_the_sequence() -> None:
    for sequences in ([1, 3], [1, 1], [0, 1]):
        topics = [topic(f"t{i}", s) for i, s in enumerate(sequences)]
        errors = validate_blueprint(blueprint(*topics), source_labels=["Source 1"])
        assert any("no gaps or repeats" in error for error in errors), sequences


def test_a_prerequisite_cycle_is_reported_with_its_path() -> None:
    payload = blueprint(
        topic("a", 1, ["c"]), topic("b", 2, ["a"]), topic("c", 3, ["b"]), topic("d", 4, ["a"])
    )
    errors = validate_blueprint(payload, source_labels=["Source 1"])
    assert errors == ["The prerequisites form a cycle: a -> c -> b -> a."]


def test_find_cycle_and_prerequisite_errors() -> None:
    assert find_cycle({"a": [], "b": ["a"], "c": ["a", "b"]}) is None
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    assert find_cycle({"x": ["y"], "y": ["x"]}) == ["x", "y", "x"]
    assert find_cycle({"a": ["missing"]}) is None
    errors = prerequisite_errors([topic("a", 1, ["a", "b", "b"]), topic("b", 2)])
    assert "Topic 'a' lists itself as a prerequisite." in errors
    assert "Topic 'a': `prerequisites` lists a topic more than once." in errors


def test_not_an_object_and_broken_topics_are_errors_not_crashes() -> None:
    assert validate_blueprint([1, 2], source_labels=LABELS) == [
        "The blueprint must be a JSON object."
    ]
    errors = validate_blueprint(blueprint("oops", topic("b", 2)), source_labels=LABELS)
    assert "Topic #1 must be an object." in errors
    errors = validate_blueprint(blueprint({"sequence": 1}), source_labels=LABELS)
    assert any("Topic #1: `key` None must be kebab-case" in error for error in errors)


def test_source_labels_come_from_the_headers_or_the_material_count() -> None:
    labelled = "Source 2 | Waves | markdown 1\nSound is a wave.\n\nSource 5 | Light | pdf 3\nLight."
    assert material_source_labels(labelled, material_count=2) == ["Source 2", "Source 5"]
    assert material_source_labels("Just one text.", material_count=3) == [
        "Source 1",
        "Source 2",
        "Source 3",
    ]
    assert material_source_labels("Text.", material_count=0) == ["Source 1"]


def test_titles_and_statements_may_use_units_formulas_and_abbreviations() -> None:
    payload = edit(_set(["topics", 0, "title"], "Speed in m/s and km/h, e.g. 20 m/s"))
    payload["topics"][0]["objectives"][0]["statement"] = "Use v = d / t with distances in km."
    assert validate_blueprint(payload, source_labels=LABELS) == []


def test_a_file_name_or_label_is_a_naming_problem() -> None:
    assert naming_problem("forces.md") is not None
    assert naming_problem("Lecture_03.pdf: Newton") is not None
    assert naming_problem("Source 2") is not None
    assert naming_problem("Waves and sound") is None


def test_rendering_still_works_for_a_valid_blueprint() -> None:
    text = render_blueprint_context(DEMO_BLUEPRINT)
    assert text.startswith("Blueprint Context\nCourse summary:")
    assert "1. Forces and Newton's laws [forces-and-motion]" in text
    assert "(apply)" in text and "Misconceptions to watch:" in text
    assert blueprint_topic_titles(DEMO_BLUEPRINT)[0] == "Forces and Newton's laws"
