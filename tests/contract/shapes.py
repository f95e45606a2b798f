"""The contract's objects and payloads, read field by field the way the web app's parsers read
them (`../shared/contract.md`, "Payloads the web app parses" and the session/message objects)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tests.contract.reading import (
    absent_or,
    array,
    boolean,
    fields,
    fraction,
    is_int,
    mapping,
    non_null_str,
    number,
    one_of,
    optional_fraction,
    optional_int,
    optional_str,
    optional_timestamp,
    text,
    timestamp,
    uuid_str,
)

BLOOM = ("remember", "understand", "apply", "analyze", "evaluate", "create")
_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SOURCE_LABEL = re.compile(r"^Source [1-9]\d*$")
_FILE_NAME = re.compile(r"\w\.(?:md|txt|pdf|docx?|pptx?|html?|csv)\b", re.IGNORECASE)
_LABEL_IN_TEXT = re.compile(r"\bSource \d+\b", re.IGNORECASE)
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def usage(value: Any, where: str) -> None:
    """`usage` is null or three whole token counts (they go into `int` columns)."""
    if value is None:
        return
    found = fields(value, where, ("prompt_tokens", "completion_tokens", "total_tokens"))
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        is_int(found[key], f"{where}.{key}")


def generation(data: Any, where: str = "data") -> Mapping[str, Any]:
    """`{payload, provider, model, usage, latency_ms}` of the one-shot generation routes."""
    found = fields(data, where, ("payload", "provider", "model", "usage", "latency_ms"))
    text(found["provider"], f"{where}.provider")
    text(found["model"], f"{where}.model")
    usage(found["usage"], f"{where}.usage")
    is_int(found["latency_ms"], f"{where}.latency_ms")
    return found


# --- generated content ---------------------------------------------------------------------------


def _evidence(value: Any, where: str) -> None:
    for n, item in enumerate(array(value, where)):
        found = fields(item, f"{where}[{n}]", ("sourceLabel", "rationale"))
        label = non_null_str(found["sourceLabel"], f"{where}[{n}].sourceLabel")
        assert _SOURCE_LABEL.match(label), f"{where}[{n}].sourceLabel: {label!r}"
        text(found["rationale"], f"{where}[{n}].rationale")


def _teacher_words(value: str, where: str) -> None:
    """Topic titles and objective statements name ideas, never an upload or its label."""
    assert not _FILE_NAME.search(value), f"{where}: names a file: {value!r}"
    assert not _LABEL_IN_TEXT.search(value), f"{where}: names a source label: {value!r}"


def blueprint(payload: Any, where: str = "data.payload") -> list[Mapping[str, Any]]:
    """The v2 blueprint; returns its topics."""
    found = fields(payload, where, ("schemaVersion", "summary", "topics"))
    assert found["schemaVersion"] == "v2", f"{where}.schemaVersion: {found['schemaVersion']!r}"
    text(found["summary"], f"{where}.summary")
    for key in ("assumptions", "uncertaintyNotes"):
        for n, item in enumerate(array(found.get(key, []), f"{where}.{key}")):
            text(item, f"{where}.{key}[{n}]")
    rubric = found.get("qualityRubric")
    if rubric is not None:
        grades = ("coverageCompleteness", "logicalProgression", "evidenceGrounding")
        rubric = fields(rubric, f"{where}.qualityRubric", (*grades, "notes"))
        for key in grades:
            one_of(rubric[key], ("low", "medium", "high"), f"{where}.qualityRubric.{key}")
        array(rubric["notes"], f"{where}.qualityRubric.notes")
    topics = array(found["topics"], f"{where}.topics", min_len=1)
    keys = [non_null_str(mapping(t, "topic").get("key"), f"{where}.topics[].key") for t in topics]
    assert len(set(keys)) == len(keys) and all(_KEBAB.match(k) for k in keys), keys
    for n, topic in enumerate(topics):
        at = f"{where}.topics[{n}]"
        required = ("key", "title", "sequence", "prerequisites", "objectives")
        topic = fields(topic, at, (*required, "assessmentIdeas", "misconceptionFlags", "evidence"))
        _teacher_words(text(topic["title"], f"{at}.title"), f"{at}.title")
        optional_str(topic.get("description"), f"{at}.description")
        optional_str(topic.get("section"), f"{at}.section")
        assert is_int(topic["sequence"], f"{at}.sequence") == n + 1, f"{at}.sequence"
        for prerequisite in array(topic["prerequisites"], f"{at}.prerequisites"):
            assert prerequisite in keys[:n], f"{at}.prerequisites: {prerequisite!r}"
        for m, objective in enumerate(array(topic["objectives"], f"{at}.objectives", min_len=1)):
            o_at = f"{at}.objectives[{m}]"
            objective = fields(objective, o_at, ("statement", "level", "evidence"))
            _teacher_words(text(objective["statement"], f"{o_at}.statement"), f"{o_at}.statement")
            one_of(objective["level"], (*BLOOM, None), f"{o_at}.level")
            optional_str(objective.get("masteryCriteria"), f"{o_at}.masteryCriteria")
            optional_str(objective.get("misconceptionAddressed"), f"{o_at}.misconceptionAddressed")
            _evidence(objective["evidence"], f"{o_at}.evidence")
        for m, idea in enumerate(
            array(topic["assessmentIdeas"], f"{at}.assessmentIdeas", min_len=1)
        ):
            text(idea, f"{at}.assessmentIdeas[{m}]")
        for m, flag in enumerate(array(topic["misconceptionFlags"], f"{at}.misconceptionFlags")):
            text(flag, f"{at}.misconceptionFlags[{m}]")
        _evidence(topic["evidence"], f"{at}.evidence")
    return topics


def _folded(value: str) -> str:
    return " ".join(value.casefold().split())


def quiz(payload: Any, question_count: int, where: str = "data.payload") -> list[Any]:
    questions = array(
        fields(payload, where, ("questions",))["questions"],
        f"{where}.questions",
        min_len=1,
        max_len=question_count,
    )
    seen: set[str] = set()
    for n, question in enumerate(questions):
        at = f"{where}.questions[{n}]"
        question = fields(question, at, ("question", "choices", "answer", "explanation"))
        choices = [
            text(c, f"{at}.choices[{m}]")
            for m, c in enumerate(array(question["choices"], f"{at}.choices", min_len=4, max_len=4))
        ]
        assert len({_folded(c) for c in choices}) == 4, f"{at}.choices repeat: {choices}"
        assert question["answer"] in choices, f"{at}.answer is not a choice"
        text(question["explanation"], f"{at}.explanation")
        asked = _folded(text(question["question"], f"{at}.question"))
        assert asked not in seen, f"{at}.question repeats an earlier question"
        seen.add(asked)
    return questions


def flashcards(payload: Any, card_count: int, where: str = "data.payload") -> list[Any]:
    cards = array(
        fields(payload, where, ("cards",))["cards"], f"{where}.cards", min_len=1, max_len=card_count
    )
    fronts: set[str] = set()
    for n, card in enumerate(cards):
        card = fields(card, f"{where}.cards[{n}]", ("front", "back"))
        front = re.sub(r"[^0-9a-z]", "", text(card["front"], f"{where}.cards[{n}].front").lower())
        assert front not in fronts, f"{where}.cards[{n}].front repeats"
        fronts.add(front)
        assert len(text(card["back"], f"{where}.cards[{n}].back").split()) >= 3, card
    return cards


def citation(value: Any, where: str) -> None:
    """A citation as the web app accepts it: `sourceLabel`/`source_label` and
    `rationale`/`snippet`, all non-null text."""
    found = mapping(value, where)
    label = found.get("sourceLabel", found.get("source_label"))
    assert _SOURCE_LABEL.match(non_null_str(label, f"{where}.sourceLabel")), label
    text(found.get("rationale", found.get("snippet")), f"{where}.rationale")


def chat_reply(value: Any, where: str) -> Mapping[str, Any]:
    """`{safety, answer, citations, confidence?, canvas_hint?}`: what a student sees."""
    reply = fields(value, where, ("safety", "answer", "citations"))
    one_of(reply["safety"], ("ok", "refusal"), f"{where}.safety")
    text(reply["answer"], f"{where}.answer")
    for n, item in enumerate(array(reply["citations"], f"{where}.citations")):
        citation(item, f"{where}.citations[{n}]")
    if reply.get("confidence") is not None:
        one_of(reply["confidence"], ("low", "medium", "high"), f"{where}.confidence")
    if reply.get("canvas_hint") is not None:
        hint = fields(reply["canvas_hint"], f"{where}.canvas_hint", ("type", "concept", "title"))
        one_of(hint["type"], ("chart", "diagram", "wave", "vector"), f"{where}.canvas_hint.type")
        text(hint["concept"], f"{where}.canvas_hint.concept")
        text(hint["title"], f"{where}.canvas_hint.title")
    return reply


def chart(spec: Any, where: str, *, points: tuple[int, int]) -> list[Any]:
    found = fields(spec, where, ("type", "chartType", "title", "data"))
    assert found["type"] == "chart", f"{where}.type: {found['type']!r}"
    one_of(found["chartType"], ("bar", "line", "pie", "scatter"), f"{where}.chartType")
    text(found["title"], f"{where}.title")
    data = array(found["data"], f"{where}.data", min_len=points[0], max_len=points[1])
    for n, point in enumerate(data):
        point = fields(point, f"{where}.data[{n}]", ("label", "value"))
        text(point["label"], f"{where}.data[{n}].label")
        number(point["value"], f"{where}.data[{n}].value")
    for key in ("xLabel", "yLabel"):
        if absent_or(found, key, where) is not None:
            text(found[key], f"{where}.{key}")
    return data


def canvas_spec(spec: Any, where: str = "data.spec") -> Mapping[str, Any]:
    """One of the four canvas specs; optional fields are omitted, never null."""
    found = fields(spec, where, ("type", "title"))
    kind = one_of(found["type"], ("chart", "diagram", "wave", "vector"), f"{where}.type")
    text(found["title"], f"{where}.title")
    if kind == "chart":
        chart(found, where, points=(3, 8))
    elif kind == "diagram":
        found = fields(found, where, ("diagramType", "definition"))
        one_of(found["diagramType"], ("flowchart", "concept-map"), f"{where}.diagramType")
        definition = text(found["definition"], f"{where}.definition")
        assert "```" not in definition, f"{where}.definition is fenced: {definition[:80]!r}"
        first = definition.strip().split(None, 1)[0]
        one_of(first, ("flowchart", "graph", "mindmap"), f"{where}.definition (Mermaid header)")
    elif kind == "wave":
        for n, wave in enumerate(
            array(fields(found, where, ("waves",))["waves"], f"{where}.waves", min_len=1)
        ):
            at = f"{where}.waves[{n}]"
            wave = fields(wave, at, ("label", "amplitude", "frequency", "color"))
            text(wave["label"], f"{at}.label")
            assert 0.1 <= number(wave["amplitude"], f"{at}.amplitude") <= 2, wave
            assert 0.1 <= number(wave["frequency"], f"{at}.frequency") <= 5, wave
            assert _HEX_COLOR.match(non_null_str(wave["color"], f"{at}.color")), wave
    else:
        vectors = array(
            fields(found, where, ("vectors",))["vectors"], f"{where}.vectors", min_len=1
        )
        for n, vector in enumerate(vectors):
            at = f"{where}.vectors[{n}]"
            vector = fields(vector, at, ("label", "magnitude", "angleDeg", "color"))
            text(vector["label"], f"{at}.label")
            assert 0.5 <= number(vector["magnitude"], f"{at}.magnitude") <= 5, vector
            assert 0 <= number(vector["angleDeg"], f"{at}.angleDeg") <= 360, vector
            text(vector["color"], f"{at}.color")
        if absent_or(found, "gridSize", where) is not None:
            assert number(found["gridSize"], f"{where}.gridSize") > 0, found["gridSize"]
    return found


# --- workspace objects ---------------------------------------------------------------------------

SESSION_FIELDS = (
    "id",
    "class_id",
    "owner_user_id",
    "title",
    "is_pinned",
    "archived_at",
    "last_message_at",
    "created_at",
    "updated_at",
)
MESSAGE_FIELDS = (
    "id",
    "session_id",
    "class_id",
    "author_user_id",
    "author_kind",
    "content",
    "citations",
    "safety",
    "provider",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "latency_ms",
    "created_at",
)


def session(value: Any, where: str) -> Mapping[str, Any]:
    """The session object; `last_message_at` is a string the web app sorts by, never null."""
    found = fields(value, where, SESSION_FIELDS)
    for key in ("id", "class_id", "owner_user_id"):
        uuid_str(found[key], f"{where}.{key}")
    text(found["title"], f"{where}.title")
    boolean(found["is_pinned"], f"{where}.is_pinned")
    optional_timestamp(found["archived_at"], f"{where}.archived_at")
    for key in ("last_message_at", "created_at", "updated_at"):
        timestamp(found[key], f"{where}.{key}")
    return found


def message(value: Any, where: str) -> Mapping[str, Any]:
    """The message object; token counts and latency are whole numbers (or null on a question)."""
    found = fields(value, where, MESSAGE_FIELDS)
    for key in ("id", "session_id", "class_id"):
        uuid_str(found[key], f"{where}.{key}")
    if found["author_user_id"] is not None:
        uuid_str(found["author_user_id"], f"{where}.author_user_id")
    kind = one_of(found["author_kind"], ("student", "teacher", "assistant"), f"{where}.author_kind")
    text(found["content"], f"{where}.content")
    for n, item in enumerate(array(found["citations"], f"{where}.citations")):
        citation(item, f"{where}.citations[{n}]")
    for key in ("prompt_tokens", "completion_tokens", "total_tokens", "latency_ms"):
        (is_int if kind == "assistant" else optional_int)(found[key], f"{where}.{key}")
    if kind == "assistant":
        one_of(found["safety"], ("ok", "refusal"), f"{where}.safety")
        text(found["provider"], f"{where}.provider")
        text(found["model"], f"{where}.model")
    timestamp(found["created_at"], f"{where}.created_at")
    return found


# --- analytics -----------------------------------------------------------------------------------


def insights(data: Any, where: str = "data") -> Mapping[str, Any]:
    found = fields(
        data, where, ("generated_at", "class_summary", "topics", "bloom_breakdown", "students")
    )
    timestamp(found["generated_at"], f"{where}.generated_at")
    summary = fields(
        found["class_summary"],
        f"{where}.class_summary",
        ("student_count", "avg_score", "completion_rate", "at_risk_count", "avg_chat_messages"),
    )
    is_int(summary["student_count"], f"{where}.class_summary.student_count")
    fraction(summary["avg_score"], f"{where}.class_summary.avg_score")
    fraction(summary["completion_rate"], f"{where}.class_summary.completion_rate")
    is_int(summary["at_risk_count"], f"{where}.class_summary.at_risk_count")
    number(summary["avg_chat_messages"], f"{where}.class_summary.avg_chat_messages")
    boolean(summary.get("is_empty"), f"{where}.class_summary.is_empty")
    for n, topic in enumerate(array(found["topics"], f"{where}.topics")):
        at = f"{where}.topics[{n}]"
        keys = ("topic_id", "title", "bloom_levels", "avg_score", "attempt_count", "status")
        topic = fields(topic, at, keys)
        text(topic["topic_id"], f"{at}.topic_id")
        text(topic["title"], f"{at}.title")
        for level in array(topic["bloom_levels"], f"{at}.bloom_levels"):
            one_of(level, BLOOM, f"{at}.bloom_levels[]")
        score = fraction(topic["avg_score"], f"{at}.avg_score")
        is_int(topic["attempt_count"], f"{at}.attempt_count")
        status = "critical" if score < 0.6 else "warning" if score <= 0.75 else "good"
        assert topic["status"] == status, f"{at}.status {topic['status']!r} for {score}"
    bloom = fields(found["bloom_breakdown"], f"{where}.bloom_breakdown", BLOOM)
    for level in BLOOM:
        optional_fraction(bloom[level], f"{where}.bloom_breakdown.{level}")
    for n, student in enumerate(array(found["students"], f"{where}.students")):
        at = f"{where}.students[{n}]"
        student = fields(
            student,
            at,
            (
                "student_id",
                "display_name",
                "avg_score",
                "completion_rate",
                "chat_message_count",
                "risk_level",
                "activity_breakdown",
                "ai_mini_summary",
            ),
        )
        uuid_str(student["student_id"], f"{at}.student_id")
        text(student["display_name"], f"{at}.display_name")
        fraction(student["avg_score"], f"{at}.avg_score")
        fraction(student["completion_rate"], f"{at}.completion_rate")
        is_int(student["chat_message_count"], f"{at}.chat_message_count")
        one_of(student["risk_level"], ("high", "medium", "low"), f"{at}.risk_level")
        optional_str(student["ai_mini_summary"], f"{at}.ai_mini_summary")
        for m, activity in enumerate(
            array(student["activity_breakdown"], f"{at}.activity_breakdown")
        ):
            a_at = f"{at}.activity_breakdown[{m}]"
            activity = fields(activity, a_at, ("activity_id", "title", "score", "attempts"))
            text(activity["activity_id"], f"{a_at}.activity_id")
            text(activity["title"], f"{a_at}.title")
            # The drill-down chart computes `score * 100`: a number even when unattempted.
            fraction(activity["score"], f"{a_at}.score")
            attempts = is_int(activity["attempts"], f"{a_at}.attempts")
            assert attempts > 0 or activity["score"] == 0.0, f"{a_at}: unattempted but scored"
    narrative = found.get("ai_narrative")
    if narrative is not None:
        narrative = fields(
            narrative,
            f"{where}.ai_narrative",
            ("executive_summary", "key_findings", "interventions"),
        )
        text(narrative["executive_summary"], f"{where}.ai_narrative.executive_summary")
        for m, finding in enumerate(
            array(narrative["key_findings"], f"{where}.ai_narrative.key_findings")
        ):
            text(finding, f"{where}.ai_narrative.key_findings[{m}]")
        for m, item in enumerate(
            array(narrative["interventions"], f"{where}.ai_narrative.interventions")
        ):
            i_at = f"{where}.ai_narrative.interventions[{m}]"
            item = fields(
                item, i_at, ("type", "topic_id", "topic_title", "reason", "suggested_action")
            )
            assert item["type"] == "generate_quiz", item
            for key in ("topic_id", "topic_title", "reason", "suggested_action"):
                text(item[key], f"{i_at}.{key}")
    return found


def brief_payload(value: Any, where: str) -> None:
    keys = (
        "summary",
        "strongest_action",
        "attention_items",
        "misconceptions",
        "students_to_watch",
        "next_step",
        "recommended_activity",
        "evidence_basis",
    )
    found = fields(value, where, keys)
    for key in ("summary", "strongest_action", "next_step", "evidence_basis"):
        text(found[key], f"{where}.{key}")
    for n, item in enumerate(
        array(found["attention_items"], f"{where}.attention_items", max_len=3)
    ):
        assert ":" in text(item, f"{where}.attention_items[{n}]"), item  # "topic: detail"
    for n, item in enumerate(array(found["misconceptions"], f"{where}.misconceptions", max_len=3)):
        item = fields(
            item, f"{where}.misconceptions[{n}]", ("topic_id", "topic_title", "description")
        )
        for key in ("topic_id", "topic_title", "description"):
            text(item[key], f"{where}.misconceptions[{n}].{key}")
    for n, item in enumerate(
        array(found["students_to_watch"], f"{where}.students_to_watch", max_len=5)
    ):
        item = fields(
            item, f"{where}.students_to_watch[{n}]", ("student_id", "display_name", "reason")
        )
        for key in ("student_id", "display_name", "reason"):
            text(item[key], f"{where}.students_to_watch[{n}].{key}")
    activity = found["recommended_activity"]
    if activity is not None:
        activity = fields(activity, f"{where}.recommended_activity", ("type", "reason"))
        one_of(
            activity["type"],
            ("quiz", "flashcards", "chat", "discussion"),
            f"{where}.recommended_activity.type",
        )
        text(activity["reason"], f"{where}.recommended_activity.reason")
