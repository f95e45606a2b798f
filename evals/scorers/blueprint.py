"""Deterministic scorers for generated course blueprints (schema v2).

Every scorer reads one dataset case and the blueprint payload. A case holds the material either as
`material_text` or as `sources` (`[{label, title, text}]`, printed as `Source N | title |
markdown 1` blocks, the way the app sends class materials), plus `material_count`. None of the
scorers calls a model, so the same blueprint always gets the same scores.

Headings are the material's `#` and `##` Markdown lines (outside code fences). Their key words
are the words of three or more letters that are not function words, compared case-insensitively
with a plural "s" dropped ("Newton's laws" -> newton, law).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

from evals.scorers import Score, Scorer
from tools.payloads.blueprint import (
    BLOOM_LEVELS,
    material_source_labels,
    naming_problem,
    prerequisite_errors,
    validate_blueprint,
)
from tools.text import normalise_text

MAX_REASONS: Final = 10
_STOPWORD_LIST: Final = """
    about above after again against also and any are because been before being below between
    both but can could did does doing done down during each either else every few for from further
    had has have having her how however into its just less like many more most much must nor not
    now off once only onto other our out over own per same she should since some such than that
    the their them then there these they this those though through thus too under until upon very
    versus via was were what when where whether which while who whom whose why will with within
    without would yet you your part introduction overview
"""
_STOPWORDS: Final = frozenset(_STOPWORD_LIST.split())
_WORD: Final = re.compile(r"[^\W\d_]+")
_HEADING: Final = re.compile(r"^\s{0,3}#{1,2}\s+(.+?)\s*#*\s*$")
_FENCE: Final = re.compile(r"^\s*(?:```|~~~)")


def case_material(case: Mapping[str, Any]) -> str:
    """The material text of a case: `material_text`, or its `sources` as labelled blocks."""
    text = case.get("material_text")
    if isinstance(text, str):
        return text
    sources = case.get("sources") or []
    return "\n\n".join(f"{s['label']} | {s['title']} | markdown 1\n{s['text']}" for s in sources)


def case_material_count(case: Mapping[str, Any]) -> int:
    count = case.get("material_count")
    return int(count) if isinstance(count, int) else max(1, len(case.get("sources") or []))


def _labels(case: Mapping[str, Any]) -> list[str]:
    return material_source_labels(case_material(case), material_count=case_material_count(case))


def _stem(word: str) -> str:
    word = word.casefold()
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def key_words(text: str) -> set[str]:
    """Stemmed words of three or more letters that are not function words."""
    found = (_stem(w) for w in _WORD.findall(normalise_text(text)))
    return {w for w in found if len(w) >= 3 and w not in _STOPWORDS}


def section_headings(material: str) -> list[str]:
    """The `#` and `##` headings of the material, in order, outside code fences."""
    headings: list[str] = []
    in_fence = False
    for line in normalise_text(material).splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (m := _HEADING.match(line)):
            headings.append(m.group(1))
    return headings


def _topics(payload: Any) -> list[dict[str, Any]]:
    topics = payload.get("topics") if isinstance(payload, Mapping) else None
    return [t for t in topics if isinstance(t, dict)] if isinstance(topics, list) else []


def _objectives(payload: Any) -> list[dict[str, Any]]:
    return [
        o
        for topic in _topics(payload)
        if isinstance(topic.get("objectives"), list)
        for o in topic["objectives"]
        if isinstance(o, dict)
    ]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


_NO_TOPICS: Final = "The blueprint has no topics to score."


# --- scorers ------------------------------------------------------------------------------------


def contract_valid(case: Mapping[str, Any], payload: Any) -> Score:
    """1.0 when the payload passes the whole blueprint contract (`validate_blueprint`), else 0.

    Failing means the app could not store or render the blueprint: a wrong shape or enum, a key
    that is not kebab-case or repeats, a broken sequence, an unknown or cyclic prerequisite, a
    topic without objectives or assessment ideas, or a source label the material does not have.
    """
    errors = validate_blueprint(payload, source_labels=_labels(case))
    return Score(0.0 if errors else 1.0, errors[:MAX_REASONS])


def valid_dag(case: Mapping[str, Any], payload: Any) -> Score:
    """1.0 when every prerequisite names another topic and the prerequisites have no cycle.

    Failing means the course order is impossible: a topic waits for itself, for a topic that
    does not exist, or for a chain of topics that leads back to it.
    """
    topics = _topics(payload)
    if not topics:
        return Score(0.0, [_NO_TOPICS])
    errors = prerequisite_errors(topics)
    return Score(0.0 if errors else 1.0, errors[:MAX_REASONS])


def section_coverage(case: Mapping[str, Any], payload: Any) -> Score:
    """Fraction of the material's `#`/`##` headings that some topic covers.

    A heading is covered when at least half (rounded up) of its key words appear in one topic's
    title, description or objective statements. Headings without key words are skipped; material
    without headings scores 1.0. Failing means a section the teacher wrote is missing from the
    course plan, so its content would never be taught or assessed.
    """
    topics = _topics(payload)
    if not topics:
        return Score(0.0, [_NO_TOPICS])
    topic_words = [
        key_words(
            " ".join(
                [_text(t.get("title")), _text(t.get("description"))]
                + [
                    _text(o.get("statement"))
                    for o in t.get("objectives") or []
                    if isinstance(o, dict)
                ]
            )
        )
        for t in topics
    ]
    headings = [(h, key_words(h)) for h in section_headings(case_material(case))]
    headings = [(h, words) for h, words in headings if words]
    if not headings:
        return Score(1.0, [])
    reasons: list[str] = []
    for heading, words in headings:
        needed = math.ceil(len(words) / 2)
        if not any(len(words & found) >= needed for found in topic_words):
            reasons.append(f"No topic covers the section {heading!r}.")
    covered = len(headings) - len(reasons)
    return Score(covered / len(headings), reasons[:MAX_REASONS])


def evidence_labels_exist(case: Mapping[str, Any], payload: Any) -> Score:
    """Fraction of cited source labels (topic and objective evidence) that the material has.

    A blueprint that cites nothing scores 0. Failing means the plan claims support from a source
    that was never given, so a teacher checking the evidence would find nothing there.
    """
    labels = set(_labels(case))
    cited: list[tuple[str, Any]] = []
    for topic in _topics(payload):
        key = _text(topic.get("key")) or "?"
        for item in topic.get("evidence") or []:
            cited.append((key, item.get("sourceLabel") if isinstance(item, dict) else item))
        for objective in topic.get("objectives") or []:
            if isinstance(objective, dict) and isinstance(objective.get("evidence"), list):
                for item in objective["evidence"]:
                    label = item.get("sourceLabel") if isinstance(item, dict) else item
                    cited.append((key, label))
    if not cited:
        return Score(0.0, ["The blueprint cites no source labels."])
    reasons = [
        f"Topic {key!r} cites {label!r}, which is not in the material."
        for key, label in cited
        if not isinstance(label, str) or label.strip() not in labels
    ]
    return Score((len(cited) - len(reasons)) / len(cited), reasons[:MAX_REASONS])


def objectives_have_levels(case: Mapping[str, Any], payload: Any) -> Score:
    """Fraction of objectives with a Bloom level (remember … create) rather than null.

    Failing means the plan cannot show cognitive progression: a teacher cannot tell recall from
    application, and assessments cannot be pitched at the intended depth.
    """
    objectives = _objectives(payload)
    if not objectives:
        return Score(0.0, ["The blueprint has no objectives to score."])
    reasons = [
        f"The objective {_text(o.get('statement'))[:60]!r} has no valid level."
        for o in objectives
        if o.get("level") not in BLOOM_LEVELS
    ]
    return Score((len(objectives) - len(reasons)) / len(objectives), reasons[:MAX_REASONS])


_OPERATOR: Final = r"[+\-−×*/÷·^]"
_SYMBOL: Final = r"Δ?[A-Za-zλρσμωθπ][₀-₉²³]?"
_NUMBER: Final = r"(?:\d+(?:\.\d+)?|[½⅓⅔¼¾])"
_TERM: Final = rf"(?:{_SYMBOL}|{_NUMBER}|[\wΔ]*[\d²³₀-₉][\wΔ²³₀-₉]*)"
_FORMULA: Final = re.compile(
    rf"(?<![\w=])[A-Za-zΔ][\w₀-₉²³]*(?:\([\w ,]{{1,12}}\))?\s*=\s*"
    rf"{_TERM}(?:\s*(?:{_OPERATOR}\s*)?{_TERM}(?![\w]))*"
)
_CONTINUES: Final = re.compile(rf"\s*(?:{_OPERATOR}|{_NUMBER}|{_SYMBOL}(?!\w))")


def _squash(text: str) -> str:
    return " ".join(normalise_text(text).split())


def cut_formula(statement: str, material: str) -> str | None:
    """A formula the statement writes only in part (`F = m` where the material has `F = m a`).

    Each formula in the statement is looked up in the material; it is cut when every place the
    material writes it goes on with another operator, number or one-letter symbol.
    """
    text = _squash(material)
    for match in _FORMULA.finditer(_squash(statement)):
        formula = match.group(0).strip()
        ends = [m.end() for m in re.finditer(re.escape(formula), text)]
        if ends and all(_CONTINUES.match(text, end) for end in ends):
            return formula
    return None


def teacher_wording(case: Mapping[str, Any], payload: Any) -> Score:
    """Fraction of topic titles and objective statements that read as a teacher would write them.

    Failing means a title or statement names an upload's file (`forces.md`) or a source label
    (`Source 2`) instead of an idea, or writes a formula cut short (`Use F = m to …` where the
    material says `F = m a`): the web app shows these words to students as the course plan.
    """
    topics = _topics(payload)
    if not topics:
        return Score(0.0, [_NO_TOPICS])
    material = case_material(case)
    texts = [
        text
        for topic in topics
        for text in [
            _text(topic.get("title")),
            *(
                _text(o.get("statement"))
                for o in topic.get("objectives") or []
                if isinstance(o, dict)
            ),
        ]
    ]
    reasons: list[str] = []
    for text in texts:
        if problem := naming_problem(text):
            reasons.append(f"{text!r} {problem}.")
        elif cut := cut_formula(text, material):
            reasons.append(f"{text!r} cuts a formula short: {cut!r} goes on in the material.")
    return Score((len(texts) - len(reasons)) / len(texts), reasons[:MAX_REASONS])


BLUEPRINT_SCORERS: Final[Mapping[str, Scorer]] = {
    "contract_valid": contract_valid,
    "valid_dag": valid_dag,
    "section_coverage": section_coverage,
    "evidence_labels_exist": evidence_labels_exist,
    "objectives_have_levels": objectives_have_levels,
    "teacher_wording": teacher_wording,
}
"""The blueprint suite's scorers, in the order the scorecard lists them."""
