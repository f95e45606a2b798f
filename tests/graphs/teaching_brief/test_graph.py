"""The teaching brief graph on its own: offline brief, caps, no data, repairs and salvage."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from graphs.teaching_brief import BriefContext, graph
from graphs.teaching_brief.rules import validate_brief
from tests.fakes import RecordingChatModel, json_call
from tools.analytics.insights import compute_insights
from tools.demo import DEMO_CLASS_ID, seed_demo
from tools.models.providers import ChatProvider
from tools.models.router import ModelRouter

CLASS_ID = "c0000000-0000-4000-8000-000000000001"
FINN, BEN, ADA, LIA = (f"5{n}000000-0000-4000-8000-000000000000" for n in range(4))


def topic(key: str, title: str, avg: float, attempts: int, status: str) -> dict[str, Any]:
    return {
        "topic_id": key,
        "title": title,
        "bloom_levels": ["apply"],
        "avg_score": avg,
        "attempt_count": attempts,
        "status": status,
    }


def student(sid: str, name: str, avg: float, completion: float, chats: int, risk: str) -> Any:
    return {
        "student_id": sid,
        "display_name": name,
        "avg_score": avg,
        "completion_rate": completion,
        "chat_message_count": chats,
        "risk_level": risk,
        "activity_breakdown": [{"activity_id": "a1", "title": "Quiz", "score": avg, "attempts": 1}],
        "ai_mini_summary": None,
    }


INSIGHTS: dict[str, Any] = {
    "generated_at": "2026-11-21T08:00:00.000000Z",
    "class_summary": {
        "student_count": 4,
        "avg_score": 0.66,
        "completion_rate": 0.7,
        "at_risk_count": 1,
        "avg_chat_messages": 3.5,
        "is_empty": False,
    },
    "topics": [
        topic("forces", "Forces", 0.82, 30, "good"),
        topic("waves", "Waves and sound", 0.54, 23, "critical"),
        topic("energy", "Energy", 0.71, 12, "warning"),
    ],
    "bloom_breakdown": {"remember": 0.8, "apply": 0.6},
    "students": [
        student(FINN, "Finn O.", 0.41, 0.3, 8, "high"),
        student(BEN, "Ben C.", 0.62, 0.8, 2, "medium"),
        student(ADA, "Ada K.", 0.93, 1.0, 4, "low"),
        student(LIA, "Lia M.", 0.78, 0.9, 0, "low"),
    ],
    "ai_narrative": None,
}
BLUEPRINT: dict[str, Any] = {
    "topics": [
        {"key": "forces", "misconceptionFlags": ["Heavier objects fall faster."]},
        {"key": "waves", "misconceptionFlags": ["Sound can travel through a vacuum."]},
        {"key": "energy", "misconceptionFlags": ["Energy gets used up."]},
    ]
}
VALID: dict[str, Any] = {
    "summary": "Waves is the weak spot.",
    "strongest_action": "Reteach waves.",
    "attention_items": ["Waves and sound: avg 54% over 23 attempts"],
    "misconceptions": [
        {"topic_id": "waves", "topic_title": "Waves and sound", "description": "Vacuum."}
    ],
    "students_to_watch": [{"student_id": FINN, "display_name": "Finn O.", "reason": "41%"}],
    "next_step": "Quiz on waves.",
    "recommended_activity": {"type": "quiz", "reason": "Lowest topic."},
    "evidence_basis": "Quiz attempts and chat.",
}


def context(
    insights: dict[str, Any] = INSIGHTS,
    *replies: Any,
    blueprint: dict[str, Any] | None = BLUEPRINT,
) -> tuple[RecordingChatModel, BriefContext]:
    model = RecordingChatModel.replying(*replies)
    providers = [ChatProvider("openai", "fake", model)] if replies else []

    async def load_insights(class_id: str) -> dict[str, Any]:
        assert class_id == CLASS_ID
        return copy.deepcopy(insights)

    async def load_blueprint(class_id: str) -> dict[str, Any] | None:
        return blueprint

    return model, BriefContext(
        router=ModelRouter(providers),
        load_insights=load_insights,
        load_blueprint=load_blueprint,
    )


async def run(ctx: BriefContext) -> dict[str, Any]:
    return dict(await graph.ainvoke({"class_id": CLASS_ID}, context=ctx))


async def test_the_offline_brief_is_valid_and_built_from_the_numbers() -> None:
    _, ctx = context()
    result = await run(ctx)
    assert (result["status"], result["has_evidence"], result["provider"]) == (
        "ready",
        True,
        "offline",
    )
    brief = result["payload"]
    assert validate_brief(brief, INSIGHTS) == []
    assert brief["attention_items"] == [
        "Waves and sound: avg 54% over 23 attempts",
        "Energy: avg 71% over 12 attempts",
        "Completion: 70% of assigned work has been submitted",
    ]
    assert [s["student_id"] for s in brief["students_to_watch"]] == [FINN, BEN]
    assert brief["students_to_watch"][0]["display_name"] == "Finn O."
    assert "average 41%" in brief["students_to_watch"][0]["reason"]
    # Only weak topics' blueprint flags, weakest first; the strong topic's flag is left out.
    assert [m["topic_id"] for m in brief["misconceptions"]] == ["waves", "energy"]
    assert "vacuum" in brief["misconceptions"][0]["description"]
    assert brief["recommended_activity"]["type"] == "quiz"
    assert "Waves and sound" in brief["recommended_activity"]["reason"]
    assert (
        "blueprint" in brief["evidence_basis"] and "65 scored attempts" in brief["evidence_basis"]
    )
    assert result["usage"]["total_tokens"] > 0


async def test_the_offline_brief_respects_the_caps() -> None:
    insights = copy.deepcopy(INSIGHTS)
    insights["topics"] = [
        topic(f"t{n}", f"Topic {n}", 0.3 + n / 100, 10 + n, "critical") for n in range(6)
    ]
    insights["students"] = [
        student(str(uuid.UUID(int=n + 1)), f"S{n}", 0.2, 0.1, n, "high") for n in range(8)
    ]
    blueprint = {"topics": [{"key": f"t{n}", "misconceptionFlags": ["a", "b"]} for n in range(6)]}
    _, ctx = context(insights, blueprint=blueprint)
    brief = (await run(ctx))["payload"]
    assert validate_brief(brief, insights) == []
    caps = (len(brief["attention_items"]), len(brief["misconceptions"]))
    assert caps == (3, 3) and len(brief["students_to_watch"]) == 5
    assert brief["attention_items"][0].startswith("Topic 0: avg 30% over 10 attempts")


async def test_a_strong_class_without_a_blueprint_gets_a_plain_brief() -> None:
    insights = copy.deepcopy(INSIGHTS)
    insights["topics"] = [topic("forces", "Forces", 0.9, 5, "good")]
    insights["class_summary"]["completion_rate"] = 0.95
    insights["students"] = [student(ADA, "Ada K.", 0.93, 1.0, 4, "low")]
    _, ctx = context(insights, blueprint=None)
    brief = (await run(ctx))["payload"]
    assert validate_brief(brief, insights) == []
    assert brief["attention_items"] == brief["misconceptions"] == brief["students_to_watch"] == []
    assert brief["recommended_activity"] is None and "blueprint" not in brief["evidence_basis"]


async def test_no_evidence_is_no_data_and_asks_no_model() -> None:
    insights = copy.deepcopy(INSIGHTS)
    insights["class_summary"]["is_empty"] = True
    model, ctx = context(insights, VALID)
    result = await run(ctx)
    assert result == {
        "status": "no_data",
        "payload": None,
        "has_evidence": False,
        "provider": None,
        "model": None,
        "usage": None,
        "latency_ms": 0,
        "attempts": [],
    }
    assert model.prompts == []


async def test_a_valid_model_brief_passes_and_the_prompt_carries_the_data() -> None:
    model, ctx = context(INSIGHTS, VALID)
    result = await run(ctx)
    assert result["payload"] == VALID and (result["provider"], result["model"]) == (
        "openai",
        "fake",
    )
    [prompt] = model.prompts
    assert FINN in prompt[1].text and "Waves and sound" in prompt[1].text
    assert "Sound can travel through a vacuum." in prompt[1].text
    assert "activity_breakdown" not in prompt[1].text


async def test_unknown_names_are_sent_back_for_repair() -> None:
    invented = copy.deepcopy(VALID)
    invented["students_to_watch"] = [
        {"student_id": str(uuid.uuid4()), "display_name": "Zed Q.", "reason": "made up"},
        {"student_id": BEN, "display_name": "Benjamin", "reason": "62%"},
    ]
    invented["misconceptions"][0]["topic_id"] = "optics"
    invented["recommended_activity"] = {"type": "lecture", "reason": "x"}
    model, ctx = context(INSIGHTS, invented, VALID)
    result = await run(ctx)
    assert result["payload"] == VALID
    assert len(model.prompts) == 2
    repair = model.prompts[1][-1].text
    assert "is not a student of this class" in repair
    assert "display_name must be 'Ben C.'" in repair
    assert "'optics' is not a topic of this class" in repair
    assert "recommended_activity.type must be one of" in repair


async def test_over_the_caps_is_repaired_then_salvaged() -> None:
    crowded = copy.deepcopy(VALID)
    crowded["attention_items"] = [f"Waves: point {n}" for n in range(5)]
    crowded["students_to_watch"].append(
        {"student_id": "nobody", "display_name": "No One", "reason": "?"}
    )
    model, ctx = context(INSIGHTS, crowded, crowded, crowded)
    result = await run(ctx)
    assert len(model.prompts) == 3
    assert "attention_items has 5 items; at most 3 are allowed." in model.prompts[1][-1].text
    brief = result["payload"]
    assert brief["attention_items"] == ["Waves: point 0", "Waves: point 1", "Waves: point 2"]
    assert brief["students_to_watch"] == VALID["students_to_watch"]
    assert validate_brief(brief, INSIGHTS) == []


async def test_nothing_usable_after_two_repairs_falls_back_to_the_offline_brief() -> None:
    model, ctx = context(INSIGHTS, "no", {"summary": "only this"}, "[]")
    result = await run(ctx)
    assert len(model.prompts) == 3
    assert model.options == [json_call(0.3, 1_500)] * 3
    assert (result["status"], result["provider"]) == ("ready", "offline")
    assert validate_brief(result["payload"], INSIGHTS) == []
    assert [(a["provider"], a["error"]) for a in result["attempts"]] == [
        ("openai", "invalid_output")
    ]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"summary": ""}, "summary must be a non-empty string."),
        ({"attention_items": ["no colon here"]}, 'must read "topic: detail"'),
        ({"recommended_activity": "quiz"}, "recommended_activity must be null or an object"),
        ({"misconceptions": "none"}, "misconceptions must be a list."),
    ],
)
def test_rules_name_each_problem(change: dict[str, Any], error: str) -> None:
    assert any(error in e for e in validate_brief({**VALID, **change}, INSIGHTS))


def test_rules_catch_mismatched_titles_repeats_and_a_missing_activity() -> None:
    brief = copy.deepcopy(VALID)
    brief["misconceptions"][0]["topic_title"] = "Optics"
    brief["students_to_watch"].append(dict(brief["students_to_watch"][0]))
    del brief["recommended_activity"]
    errors = validate_brief(brief, INSIGHTS)
    assert "misconceptions[0].topic_title must be 'Waves and sound'." in errors
    assert f"students_to_watch[1] repeats student '{FINN}'." in errors
    assert "recommended_activity is missing (use null for none)." in errors
    assert validate_brief({**VALID, "recommended_activity": None}, INSIGHTS) == []


async def test_the_default_loaders_read_the_demo_class_from_the_store(store: Any) -> None:
    await seed_demo(store)
    ctx = BriefContext(router=ModelRouter([]), store=store)
    result = dict(await graph.ainvoke({"class_id": DEMO_CLASS_ID}, context=ctx))
    insights = await compute_insights(store, DEMO_CLASS_ID)
    assert result["status"] == "ready" and validate_brief(result["payload"], insights) == []
    assert result["payload"]["misconceptions"], "weak demo topics have blueprint flags"

    teacher, empty_class = str(uuid.uuid4()), str(uuid.uuid4())
    await store.upsert_profile(teacher, "teacher", "T")
    await store.create_class(
        class_id=empty_class, owner_id=teacher, title="New", join_code=uuid.uuid4().hex[:8]
    )
    empty = dict(await graph.ainvoke({"class_id": empty_class}, context=ctx))
    assert (empty["status"], empty["payload"]) == ("no_data", None)
