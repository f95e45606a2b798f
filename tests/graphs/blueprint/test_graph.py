"""The blueprint graph: generation, validation and repair, then the teacher's review and publish."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

import graphs.blueprint.nodes as nodes
from graphs.blueprint import graph
from graphs.blueprint.nodes import BlueprintRequestError, BlueprintReviewError
from graphs.shared.context import GenerationContext
from graphs.shared.errors import GenerationError
from tests.fakes import RecordingChatModel, json_call
from tools.demo.blueprint import DEMO_BLUEPRINT
from tools.models.providers import ChatProvider
from tools.models.router import ModelRouter
from tools.payloads.blueprint import material_source_labels, validate_blueprint
from tools.store.base import Store

MATERIAL = "\n\n".join(
    f"Source {n} | {title} | markdown 1\n## {title}\n{text}"
    for n, (title, text) in enumerate(
        [
            ("Forces", "Force is a push or a pull. Newton's second law is F = m × a."),
            ("Energy", "Energy is transferred by work. Power is the rate of energy transfer."),
            ("Atoms", "An atom has a nucleus of protons and neutrons surrounded by electrons."),
            ("Waves", "A wave transfers energy without transferring matter. Sound is a wave."),
        ],
        start=1,
    )
)
LABELS = material_source_labels(MATERIAL, material_count=4)
INPUT: dict[str, Any] = {
    "class_title": "Physical science",
    "subject": "science",
    "level": "Year 9",
    "material_count": 4,
    "material_text": MATERIAL,
}
OUTPUT_KEYS = {
    "payload",
    "provider",
    "model",
    "usage",
    "latency_ms",
    "attempts",
    "published",
    "blueprint_id",
}
OFFLINE = GenerationContext(router=ModelRouter([]))


def scripted(*replies: Any, store: Store | None = None) -> tuple[RecordingChatModel, Any]:
    model = RecordingChatModel.replying(*replies)
    router = ModelRouter([ChatProvider("openai", "fake", model)])
    return model, GenerationContext(router=router, store=store)


def broken() -> dict[str, Any]:
    payload = copy.deepcopy(DEMO_BLUEPRINT)
    payload["topics"][0]["key"] = "Forces And Motion"
    payload["topics"][3]["evidence"][0]["sourceLabel"] = "Source 7"
    return payload


async def test_a_valid_model_blueprint_passes_through_unchanged() -> None:
    model, context = scripted(DEMO_BLUEPRINT)
    result = await graph.ainvoke(INPUT, context=context)
    assert set(result) == OUTPUT_KEYS
    assert result["payload"] == DEMO_BLUEPRINT
    assert (result["provider"], result["model"]) == ("openai", "fake")
    assert (result["published"], result["blueprint_id"]) == (False, None)
    assert len(model.prompts) == 1
    system, user = model.prompts[0]
    assert "Physical science" in system.text and "Year 9" in system.text
    assert "Source 1, Source 2, Source 3, Source 4" in user.text
    assert MATERIAL in user.text


async def test_repair_sends_the_errors_back_and_sums_usage() -> None:
    model, context = scripted(broken(), DEMO_BLUEPRINT)
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == DEMO_BLUEPRINT
    assert len(model.prompts) == 2
    repair = model.prompts[1][-1].text
    assert "'Forces And Motion' must be kebab-case" in repair
    assert "'Source 7' is not in the material" in repair
    assert model.prompts[1][-2].text == json.dumps(broken())


async def test_a_reply_that_is_not_json_is_repaired_and_stray_spaces_trimmed() -> None:
    spaced = copy.deepcopy(DEMO_BLUEPRINT)
    spaced["topics"][0]["title"] = "  Forces and Newton's laws "
    spaced["topics"].reverse()  # out of order, but every sequence is right
    model, context = scripted("I cannot do that.", "```json\n" + json.dumps(spaced) + "\n```")
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == DEMO_BLUEPRINT
    assert "not a JSON object" in model.prompts[1][-1].text


async def test_a_wrapped_blueprint_is_unwrapped() -> None:
    _, context = scripted({"blueprint": DEMO_BLUEPRINT})
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == DEMO_BLUEPRINT


async def test_after_two_repairs_an_invalid_blueprint_falls_back_to_the_offline_one() -> None:
    model, context = scripted(broken(), broken(), broken(), DEMO_BLUEPRINT)
    result = await graph.ainvoke(INPUT, context=context)
    assert len(model.prompts) == 3
    assert model.options == [json_call(0.2, 3_500)] * 3
    assert (result["provider"], result["model"]) == ("offline", "stemgraph-offline-1")
    offline = await graph.ainvoke(INPUT, context=OFFLINE)
    assert result["payload"] == offline["payload"]
    (attempt,) = result["attempts"]
    assert (attempt["error"], attempt["model"]) == ("invalid_output", "fake")
    assert "kebab-case" in attempt["message"]


async def test_the_offline_engine_is_never_asked_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def invalid(material: str, **_: Any) -> dict[str, Any]:
        calls.append(material)
        return broken()

    monkeypatch.setattr(nodes, "offline_blueprint", invalid)
    with pytest.raises(GenerationError, match="blueprint rules"):
        await graph.ainvoke(INPUT, context=OFFLINE)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("material", "count"),
    [
        (MATERIAL, 4),
        ("Photosynthesis makes glucose from carbon dioxide and water using light.", 2),
        (
            "# Cells\n## Organelles\nThe nucleus controls the cell. Mitochondria release energy."
            "\n## Membranes\nDiffusion is the net movement of particles down a gradient. "
            "Osmosis is the diffusion of water across a partially permeable membrane.",
            1,
        ),
        (
            "Source 2 | Probability | pdf 1\nFor independent events, P(A and B) = P(A) × P(B). "
            "The gambler's fallacy is the mistaken belief that a tail is due after heads.\n\n"
            "Source 3 | Statistics | pdf 2\nThe mean is the sum of the values divided by their "
            "number. The median is the middle value, whereas the mode is the most common one.",
            3,
        ),
    ],
)
async def test_offline_blueprints_are_valid_for_varied_materials(material: str, count: int) -> None:
    result = await graph.ainvoke(
        {"class_title": "Class", "material_count": count, "material_text": material},
        context=OFFLINE,
    )
    assert result["provider"] == "offline"
    labels = material_source_labels(material, material_count=count)
    assert validate_blueprint(result["payload"], source_labels=labels) == []
    assert result["usage"]["total_tokens"] > 0
    assert result["published"] is False


async def test_no_material_is_a_generation_error() -> None:
    with pytest.raises(GenerationError, match="no class material"):
        await graph.ainvoke({**INPUT, "material_text": "\u200b "}, context=OFFLINE)


async def test_progress_is_reported_on_the_custom_stream() -> None:
    stages = [
        event["stage"]
        async for event in graph.astream(INPUT, context=OFFLINE, stream_mode="custom")
    ]
    assert stages == ["context", "generate", "validate", "done"]


# --- review and publish --------------------------------------------------------------------------


async def _class(store: Store) -> str:
    teacher, class_id = str(uuid.uuid4()), str(uuid.uuid4())
    await store.upsert_profile(teacher, "teacher", "Teacher")
    await store.create_class(
        class_id=class_id, owner_id=teacher, title="Science", join_code=uuid.uuid4().hex[:8]
    )
    return class_id


def _checkpointed() -> Any:
    return graph.copy(update={"checkpointer": InMemorySaver()})


def _thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


async def _draft(app: Any, config: dict[str, Any], store: Store, class_id: str) -> Any:
    """Run to the review interrupt; the model writes the demo blueprint."""
    _, context = scripted(DEMO_BLUEPRINT, store=store)
    paused = await app.ainvoke(
        {**INPUT, "class_id": class_id, "require_approval": True}, config, context=context
    )
    snapshot = await app.aget_state(config)
    assert snapshot.next == ("review",)
    assert [i.value for i in snapshot.interrupts] == [
        {"draft": DEMO_BLUEPRINT, "class_id": class_id}
    ]
    assert paused["__interrupt__"][0].value["draft"] == DEMO_BLUEPRINT
    return context


async def _count(store: Store, class_id: str, status: str) -> int:
    async with store.session() as db:
        rows = await db.query(
            "SELECT COUNT(*) AS n FROM blueprints WHERE class_id = :c AND status = :s",
            {"c": class_id, "s": status},
        )
    return int(rows[0]["n"])


async def test_approval_publishes_the_draft_into_the_store(store: Store) -> None:
    class_id = await _class(store)
    app, config = _checkpointed(), _thread()
    context = await _draft(app, config, store, class_id)
    assert await store.get_published_blueprint(class_id) is None
    result = await app.ainvoke(Command(resume={"approved": True}), config, context=context)
    assert set(result) == OUTPUT_KEYS
    assert result["published"] is True
    assert uuid.UUID(result["blueprint_id"])
    assert result["payload"] == DEMO_BLUEPRINT
    assert await store.get_published_blueprint(class_id) == DEMO_BLUEPRINT
    assert (await app.aget_state(config)).next == ()


async def test_rejection_publishes_nothing(store: Store) -> None:
    class_id = await _class(store)
    app, config = _checkpointed(), _thread()
    context = await _draft(app, config, store, class_id)
    result = await app.ainvoke(Command(resume={"approved": False}), config, context=context)
    assert (result["published"], result["blueprint_id"]) == (False, None)
    assert await store.get_published_blueprint(class_id) is None
    assert await _count(store, class_id, "published") == 0


async def test_an_edited_blueprint_is_validated_again_and_published(store: Store) -> None:
    class_id = await _class(store)
    app, config = _checkpointed(), _thread()
    context = await _draft(app, config, store, class_id)
    edited = copy.deepcopy(DEMO_BLUEPRINT)
    edited["topics"][0]["title"] = "Forces, mass and acceleration"
    resume = Command(resume={"approved": True, "payload": edited})
    result = await app.ainvoke(resume, config, context=context)
    assert result["published"] is True and result["payload"] == edited
    assert await store.get_published_blueprint(class_id) == edited


async def test_an_invalid_edit_fails_and_publishes_nothing(store: Store) -> None:
    class_id = await _class(store)
    app, config = _checkpointed(), _thread()
    context = await _draft(app, config, store, class_id)
    edited = copy.deepcopy(DEMO_BLUEPRINT)
    edited["topics"][1]["prerequisites"] = ["waves-and-sound"]
    edited["topics"][3]["prerequisites"] = ["energy-work-power"]
    resume = Command(resume={"approved": True, "payload": edited})
    with pytest.raises(BlueprintReviewError, match="edited blueprint is not valid.*cycle"):
        await app.ainvoke(resume, config, context=context)
    assert await store.get_published_blueprint(class_id) is None


async def test_a_malformed_decision_is_refused(store: Store) -> None:
    class_id = await _class(store)
    app, config = _checkpointed(), _thread()
    context = await _draft(app, config, store, class_id)
    with pytest.raises(BlueprintReviewError, match="review decision must be an object"):
        await app.ainvoke(Command(resume="yes"), config, context=context)
    assert await store.get_published_blueprint(class_id) is None


async def test_publishing_twice_leaves_exactly_one_published(store: Store) -> None:
    class_id = await _class(store)
    ids = []
    second = copy.deepcopy(DEMO_BLUEPRINT)
    second["summary"] = "The second version of the course."
    for payload in (None, second):
        app, config = _checkpointed(), _thread()
        context = await _draft(app, config, store, class_id)
        decision: dict[str, Any] = {"approved": True}
        if payload is not None:
            decision["payload"] = payload
        result = await app.ainvoke(Command(resume=decision), config, context=context)
        ids.append(result["blueprint_id"])
    assert len(set(ids)) == 2
    assert await store.get_published_blueprint(class_id) == second
    assert await _count(store, class_id, "published") == 1
    assert await _count(store, class_id, "archived") == 1


async def test_without_approval_nothing_is_stored(store: Store) -> None:
    class_id = await _class(store)
    _, context = scripted(DEMO_BLUEPRINT, store=store)
    result = await graph.ainvoke({**INPUT, "class_id": class_id}, context=context)
    assert (result["published"], result["blueprint_id"]) == (False, None)
    assert await store.get_published_blueprint(class_id) is None


async def test_approval_needs_a_class_and_a_store() -> None:
    with pytest.raises(BlueprintRequestError, match="needs the class"):
        await graph.ainvoke({**INPUT, "require_approval": True}, context=OFFLINE)
    with pytest.raises(BlueprintRequestError, match="needs a store"):
        await graph.ainvoke({**INPUT, "require_approval": True, "class_id": "c1"}, context=OFFLINE)
    assert BlueprintRequestError.status == 400 and BlueprintReviewError.status == 422
