"""The flashcards graph on its own: context, generation, validation, repair and salvage."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graphs.flashcards import graph
from graphs.shared.context import GenerationContext
from graphs.shared.errors import GenerationError
from prompts import DATA_RULE
from tests.fakes import FailingChatModel, RecordingChatModel, json_call
from tools.chunking import chunk_text
from tools.models.providers import ChatProvider
from tools.models.router import ModelRouter
from tools.payloads.flashcards import validate_flashcards
from tools.store.base import ChunkInput, Store

MATERIAL = (
    "The SI unit of force is the newton. Power is the rate of doing work and is measured in "
    "watts. Friction is a force that opposes motion between two surfaces. "
    "The speed of sound in air is about 343 m/s."
)
INPUT: dict[str, Any] = {
    "class_title": "Physics",
    "card_count": 2,
    "instructions": "",
    "blueprint_context": "",
    "material_context": MATERIAL,
}
OFFLINE = GenerationContext(router=ModelRouter([]))


def card(front: str, back: str = "The newton is the unit of force.") -> dict[str, str]:
    return {"front": front, "back": back}


def scripted(*replies: Any) -> tuple[RecordingChatModel, GenerationContext]:
    model = RecordingChatModel.replying(*replies)
    router = ModelRouter([ChatProvider("openai", "fake", model)])
    return model, GenerationContext(router=router)


async def test_offline_cards_are_valid_and_report_the_offline_provider() -> None:
    result = await graph.ainvoke(INPUT, context=OFFLINE)
    assert set(result) == {"payload", "provider", "model", "usage", "latency_ms", "attempts"}
    assert (result["provider"], result["model"]) == ("offline", "stemgraph-offline-1")
    assert validate_flashcards(result["payload"], card_count=2) == []
    assert len(result["payload"]["cards"]) == 2
    assert result["usage"]["total_tokens"] > 0


async def test_a_valid_model_deck_passes_through_unchanged() -> None:
    deck = {"cards": [card("What is the SI unit of force?")]}
    model, context = scripted(deck)
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == deck
    assert (result["provider"], result["model"]) == ("openai", "fake")
    assert len(model.prompts) == 1
    system, user = model.prompts[0]
    assert "Physics" in system.text and "at most 2 cards" in system.text
    assert DATA_RULE in system.text
    assert f"<material>\n{MATERIAL}\n</material>" in user.text


async def test_repair_sends_the_errors_back_and_sums_usage() -> None:
    duplicate = {"cards": [card("Unit of force?"), card("unit of FORCE")]}
    fixed = {"cards": [card("Unit of force?")]}
    model, context = scripted(duplicate, fixed)
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == fixed
    assert len(model.prompts) == 2
    repair = model.prompts[1]
    assert repair[-2].text == json.dumps(duplicate)
    assert 'Card 2 ("unit of FORCE") has the same front as card 1.' in repair[-1].text


async def test_fenced_json_stray_whitespace_and_extra_keys_are_tidied() -> None:
    deck = {
        "cards": [
            {"front": "  What is\tfriction? ", "back": " A force  that\nopposes motion. ", "x": 1}
        ]
    }
    _, context = scripted("Here you go:\n```json\n" + json.dumps(deck) + "\n```")
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == {
        "cards": [{"front": "What is friction?", "back": "A force that\nopposes motion."}]
    }


async def test_after_two_repairs_the_valid_cards_are_kept() -> None:
    broken = {
        "cards": [
            card("Unit of force?"),
            card("Friction?", "Opposes."),
            card("unit of force"),
            "not a card",
            card("What is power?", "The rate of doing work."),
        ]
    }
    model, context = scripted(broken, broken, broken)
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == {
        "cards": [card("Unit of force?"), card("What is power?", "The rate of doing work.")]
    }
    assert result["provider"] == "openai"
    assert len(model.prompts) == 3


async def test_salvage_keeps_no_more_cards_than_requested() -> None:
    many = {"cards": [card(f"Question {i}?") for i in range(5)]}
    model, context = scripted(many, many, many)
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == {"cards": [card("Question 0?"), card("Question 1?")]}
    assert "There are 5 cards; at most 2 are allowed." in model.prompts[1][-1].text


async def test_nothing_valid_after_repairs_falls_back_to_the_offline_deck() -> None:
    model, context = scripted("no", '{"cards": []}', '[{"front": "a", "back": "b c d"}]')
    result = await graph.ainvoke(INPUT, context=context)
    assert len(model.prompts) == 3
    # JSON mode, the deck's temperature and a cap for 2 cards (80 each + 200), every call.
    assert model.options == [json_call(0.3, 360)] * 3
    assert result["provider"] == "offline"
    assert validate_flashcards(result["payload"], card_count=2) == []
    assert [a["error"] for a in result["attempts"]] == ["invalid_output"]
    assert 'of the form {"cards": [...]}' in model.prompts[1][-1].text


async def test_the_offline_engine_is_not_asked_twice() -> None:
    stages: list[str] = []
    with pytest.raises(GenerationError, match="could not be generated"):
        async for mode, data in graph.astream(
            {**INPUT, "material_context": "Yes. No. Maybe."},
            context=OFFLINE,
            stream_mode=["custom", "values"],
        ):
            if mode == "custom":
                stages.append(data["stage"])
    assert stages == ["context", "generate", "validate"]


async def test_a_failing_provider_falls_back_to_the_offline_engine() -> None:
    router = ModelRouter([ChatProvider("openai", "down", FailingChatModel())])
    result = await graph.ainvoke(INPUT, context=GenerationContext(router=router))
    assert result["provider"] == "offline"
    assert validate_flashcards(result["payload"], card_count=2) == []


async def test_progress_is_reported_for_every_stage() -> None:
    _, context = scripted({"cards": [card("a"), card("a")]}, {"cards": [card("a")]})
    stages = [
        data["stage"]
        async for mode, data in graph.astream(
            INPUT, context=context, stream_mode=["custom", "values"]
        )
        if mode == "custom"
    ]
    assert stages == ["context", "generate", "validate", "generate", "validate", "done"]


async def test_no_material_is_a_generation_error() -> None:
    with pytest.raises(GenerationError, match="no class material"):
        await graph.ainvoke({**INPUT, "material_context": "\u200b  "}, context=OFFLINE)


async def test_class_id_retrieves_labelled_sources_from_the_store(store: Store) -> None:
    teacher, class_id, material_id = (str(uuid.uuid4()) for _ in range(3))
    await store.upsert_profile(teacher, "teacher", "T")
    await store.create_class(
        class_id=class_id, owner_id=teacher, title="Bio", join_code=uuid.uuid4().hex[:8]
    )
    text = "# Cells\nThe mitochondrion releases energy from glucose during respiration."
    chunks = [ChunkInput(c.index, c.content, c.section, c.token_count) for c in chunk_text(text)]
    await store.save_material(
        material_id=material_id,
        class_id=class_id,
        title="Cell biology",
        source_type="markdown",
        chunks=chunks,
    )
    model, context = scripted({"cards": [card("What releases energy from glucose?")]})
    context = GenerationContext(router=context.router, store=store)
    result = await graph.ainvoke(
        {**INPUT, "material_context": "", "class_id": class_id, "instructions": "respiration"},
        context=context,
    )
    assert result["provider"] == "openai"
    sent = model.prompts[0][1].text
    assert "Source 1 | Cell biology | markdown 1" in sent
    assert "mitochondrion releases energy" in sent


async def test_runs_with_a_checkpointer_keep_only_the_final_state() -> None:
    checkpointed = graph.copy(update={"checkpointer": InMemorySaver()})
    config = {"configurable": {"thread_id": "flashcards-run-1"}}
    await checkpointed.ainvoke(INPUT, config, context=OFFLINE, durability="exit")
    snapshot = await checkpointed.aget_state(config)
    assert snapshot.next == ()
    assert validate_flashcards(snapshot.values["payload"], card_count=2) == []
    history = [s async for s in checkpointed.aget_state_history(config)]
    assert len(history) == 1
