"""The insights graph on both backends: snapshots, the narrative and its validation."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

from graphs.insights import graph
from graphs.shared.context import GenerationContext
from graphs.shared.errors import GenerationError
from tests.fakes import FailingChatModel, RecordingChatModel, json_call
from tools.analytics import compute_insights, get_insights_snapshot
from tools.clock import to_iso, utc_now
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, demo_topic_id, seed_demo
from tools.models.providers import ChatProvider
from tools.models.router import ModelRouter
from tools.store.base import Store

WAVES = demo_topic_id("waves-and-sound")

RUN = {"class_id": DEMO_CLASS_ID}
LENA, TOMAS = DEMO_STUDENT_IDS


@pytest.fixture
async def demo(store: Store) -> Store:
    await seed_demo(store)
    return store


def context(store: Store, model: BaseChatModel | None = None, **router: Any) -> Any:
    providers = [ChatProvider("openai", "fake", model)] if model is not None else []
    return GenerationContext(router=ModelRouter(providers, **router), store=store)


def scripted(*replies: dict[str, Any] | str) -> RecordingChatModel:
    return RecordingChatModel.replying(*replies)


def narrative(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "executive_summary": "The class is doing fine overall.",
        "key_findings": ["Waves need work.", "Forces are strong."],
        "interventions": [
            {
                "type": "generate_quiz",
                "topic_id": WAVES,
                "topic_title": "Waves",
                "reason": "Lowest topic.",
                "suggested_action": "Quiz on v = f λ.",
            }
        ],
        "student_summaries": {LENA: "Lena is steady.", TOMAS: "Tomás should try the chat."},
    }
    return base | changes


def numbers(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without its words and timestamp: what must come from the database."""
    return {
        **{k: v for k, v in payload.items() if k not in ("ai_narrative", "generated_at")},
        "students": [
            {k: v for k, v in s.items() if k != "ai_mini_summary"} for s in payload["students"]
        ],
    }


async def test_offline_narrative_is_complete_and_stored(demo: Store) -> None:
    result = await graph.ainvoke(RUN, context=context(demo))
    assert set(result) == {"payload", "provider", "model", "attempts"}
    assert result["provider"] == "offline" and result["attempts"] == []
    payload = result["payload"]
    assert numbers(payload) == numbers(await compute_insights(demo, DEMO_CLASS_ID))
    story = payload["ai_narrative"]
    assert story["executive_summary"] and 2 <= len(story["key_findings"]) <= 5
    weak = sorted(
        (t for t in payload["topics"] if t["status"] != "good"), key=lambda t: t["avg_score"]
    )
    assert [i["topic_id"] for i in story["interventions"]] == [t["topic_id"] for t in weak][:3]
    assert {i["type"] for i in story["interventions"]} == {"generate_quiz"}
    assert all(s["ai_mini_summary"] for s in payload["students"])
    snapshot = await get_insights_snapshot(demo, DEMO_CLASS_ID)
    assert snapshot is not None and snapshot[0] == payload


async def test_snapshot_is_reused_within_the_hour_and_force_refresh_recomputes(
    demo: Store,
) -> None:
    model = scripted(narrative(), narrative(executive_summary="Second look."))
    first = await graph.ainvoke(RUN, context=context(demo, model))
    assert len(model.prompts) == 1 and first["provider"] == "openai"
    prompt = model.prompts[0][1].text
    assert '"student_count":12' in prompt and "activity_breakdown" not in prompt

    again = await graph.ainvoke(RUN, context=context(demo, model))
    assert len(model.prompts) == 1  # the snapshot skipped the model
    assert again["payload"] == first["payload"] and again["provider"] == "snapshot"

    forced = await graph.ainvoke(RUN | {"force_refresh": True}, context=context(demo, model))
    assert len(model.prompts) == 2
    assert forced["payload"]["ai_narrative"]["executive_summary"] == "Second look."
    assert forced["payload"]["generated_at"] >= first["payload"]["generated_at"]
    assert numbers(forced["payload"]) == numbers(first["payload"])


async def test_a_snapshot_older_than_an_hour_is_recomputed(demo: Store) -> None:
    model = scripted(narrative(), narrative())
    await graph.ainvoke(RUN, context=context(demo, model))
    async with demo.transaction() as db:
        await db.execute(
            "UPDATE class_insights_snapshots SET generated_at = :at WHERE class_id = :c",
            {"at": to_iso(utc_now() - timedelta(minutes=61)), "c": DEMO_CLASS_ID},
        )
    result = await graph.ainvoke(RUN, context=context(demo, model))
    assert len(model.prompts) == 2 and result["provider"] == "openai"


@pytest.mark.parametrize(
    "reply",
    [
        "Sorry, I cannot help with that.",
        json.dumps(narrative(executive_summary="")),
        json.dumps(["not", "an", "object"]),
    ],
)
async def test_an_unusable_narrative_is_repaired_then_replaced_by_the_offline_one(
    demo: Store, reply: str
) -> None:
    model = scripted(reply, reply, reply)
    result = await graph.ainvoke(RUN, context=context(demo, model))
    payload = result["payload"]
    assert len(model.prompts) == 3
    # JSON mode and a cap of 700 + 70 per student (12 in the demo class) on every call.
    assert model.options == [json_call(0.3, 700 + 70 * 12)] * 3
    assert "could not be used" in model.prompts[1][-1].text
    assert (result["provider"], result["model"]) == ("offline", "stemgraph-offline-1")
    assert [(a["provider"], a["error"]) for a in result["attempts"]] == [
        ("openai", "invalid_output")
    ]
    assert numbers(payload) == numbers(await compute_insights(demo, DEMO_CLASS_ID))
    stored = await get_insights_snapshot(demo, DEMO_CLASS_ID)
    assert stored is not None and stored[0] == payload
    offline = await graph.ainvoke(RUN | {"force_refresh": True}, context=context(demo))
    assert payload["ai_narrative"] == offline["payload"]["ai_narrative"]


async def test_a_failing_model_leaves_the_numbers_intact(demo: Store) -> None:
    failing = FailingChatModel()
    result = await graph.ainvoke(RUN, context=context(demo, failing, offline_fallback=False))
    assert failing.calls == 1
    assert (result["provider"], result["model"]) == ("none", "none")
    payload = result["payload"]
    assert payload["ai_narrative"] is None
    assert all(s["ai_mini_summary"] is None for s in payload["students"])
    assert numbers(payload) == numbers(await compute_insights(demo, DEMO_CLASS_ID))


async def test_invalid_parts_of_a_narrative_are_dropped(demo: Store) -> None:
    good = narrative()["interventions"][0]
    reply = narrative(
        key_findings=["One.", "", 42, "Two.", "Three.", "Four.", "Five.", "Six."],
        interventions=[
            {**good, "topic_id": "quantum-gravity"},
            {**good, "type": "send_email"},
            {**good, "reason": ""},
            good,
            good,
        ],
        student_summaries={LENA: "  Lena is\u200b steady.  ", "not-a-student": "Hi.", TOMAS: 7},
        # A model that tries to rewrite numbers changes nothing.
        class_summary={"student_count": 999},
    )
    result = await graph.ainvoke(RUN, context=context(demo, scripted(reply)))
    payload = result["payload"]
    story = payload["ai_narrative"]
    assert story["key_findings"] == ["One.", "Two.", "Three.", "Four.", "Five."]
    waves = next(t for t in payload["topics"] if t["topic_id"] == WAVES)
    assert story["interventions"] == [{**good, "topic_title": waves["title"]}]
    summaries = {s["student_id"]: s["ai_mini_summary"] for s in payload["students"]}
    assert summaries[LENA] == "Lena is steady."
    assert summaries[TOMAS] is None
    assert payload["class_summary"]["student_count"] == 12
    assert set(payload) == {
        "generated_at",
        "class_summary",
        "topics",
        "bloom_breakdown",
        "students",
        "ai_narrative",
    }


async def test_a_missing_executive_summary_is_repaired(demo: Store) -> None:
    reply = narrative(
        executive_summary=None, student_summaries=[{"student_id": LENA, "summary": "Ok."}]
    )
    model = scripted(reply, narrative(student_summaries=[{"student_id": LENA, "summary": "Ok."}]))
    result = await graph.ainvoke(RUN, context=context(demo, model))
    payload = result["payload"]
    assert "executive_summary" in model.prompts[1][-1].text
    assert (result["provider"], result["attempts"]) == ("openai", [])
    assert payload["ai_narrative"]["executive_summary"] == "The class is doing fine overall."
    assert {s["student_id"]: s["ai_mini_summary"] for s in payload["students"]}[LENA] == "Ok."


async def test_an_unknown_class_is_a_404(demo: Store) -> None:
    run = {"class_id": "c1a55000-0000-4000-8000-0000000000ff"}
    with pytest.raises(GenerationError) as raised:
        await graph.ainvoke(run, context=context(demo))
    assert raised.value.status == 404 and raised.value.code == "class_not_found"


async def test_the_graph_needs_a_database() -> None:
    with pytest.raises(GenerationError, match="class database"):
        await graph.ainvoke(RUN, context=GenerationContext(router=ModelRouter([])))
