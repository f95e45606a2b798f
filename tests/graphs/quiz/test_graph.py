"""The quiz graph on its own: context, generation, validation, repair and salvage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graphs.quiz import graph
from graphs.shared.context import GenerationContext
from graphs.shared.errors import GenerationError
from tests.fakes import FailingChatModel, RecordingChatModel, json_call
from tools.chunking import chunk_text
from tools.models.providers import ChatProvider
from tools.models.router import ModelRouter
from tools.payloads.quiz import validate_quiz
from tools.store.base import ChunkInput, Store

MATERIAL = (
    "The SI unit of force is the newton. The SI unit of energy is the joule. "
    "Power is the rate of doing work and is measured in watts. "
    "Friction is a force that opposes motion between two surfaces."
)
INPUT: dict[str, Any] = {
    "class_title": "Physics",
    "question_count": 2,
    "instructions": "",
    "blueprint_context": "",
    "material_context": MATERIAL,
}


def question(text: str, answer: str = "newton") -> dict[str, Any]:
    return {
        "question": text,
        "choices": ["newton", "joule", "watt", "pascal"],
        "answer": answer,
        "explanation": "The material says so.",
    }


def scripted(*replies: Any) -> tuple[RecordingChatModel, GenerationContext]:
    model = RecordingChatModel.replying(*replies)
    router = ModelRouter([ChatProvider("openai", "fake", model)])
    return model, GenerationContext(router=router)


async def test_offline_quiz_is_valid_and_reports_the_offline_provider() -> None:
    result = await graph.ainvoke(INPUT, context=GenerationContext(router=ModelRouter([])))
    assert set(result) == {"payload", "provider", "model", "usage", "latency_ms", "attempts"}
    assert result["provider"] == "offline" and result["attempts"] == []
    assert validate_quiz(result["payload"], question_count=2) == []
    assert result["usage"]["total_tokens"] > 0


async def test_a_valid_model_quiz_passes_through_unchanged() -> None:
    quiz = {"questions": [question("What is the unit of force?")]}
    model, context = scripted(quiz)
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == quiz
    assert (result["provider"], result["model"]) == ("openai", "fake")
    assert result["attempts"] == []
    assert len(model.prompts) == 1
    # JSON mode, the quiz's temperature and a cap sized to 2 questions (250 each + 300).
    assert model.options == [json_call(0.3, 800)]
    prompt = model.prompts[0]
    assert "Physics" in prompt[0].text and MATERIAL in prompt[1].text


async def test_repair_sends_the_errors_back_and_sums_usage() -> None:
    duplicate = {"questions": [question("Unit of force?"), question("unit  of FORCE?")]}
    fixed = {"questions": [question("Unit of force?")]}
    model, context = scripted(duplicate, fixed)
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == fixed
    assert len(model.prompts) == 2
    # The repair carries the same cap as the first call.
    assert model.options == [json_call(0.3, 800)] * 2
    assert "duplicates an earlier question" in model.prompts[1][-1].text


async def test_fenced_json_and_stray_whitespace_are_accepted() -> None:
    quiz = {"questions": [question("  What is the unit of force? ")]}
    _, context = scripted("Here you go:\n```json\n" + json.dumps(quiz) + "\n```")
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"]["questions"][0]["question"] == "What is the unit of force?"


async def test_after_two_repairs_the_valid_questions_are_kept() -> None:
    broken = {"questions": [question("Unit of force?"), question("Bad one?", answer="volt")]}
    model, context = scripted(broken, broken, broken)
    result = await graph.ainvoke(INPUT, context=context)
    assert result["payload"] == {"questions": [question("Unit of force?")]}
    assert len(model.prompts) == 3


async def test_prose_after_two_repairs_falls_back_to_the_offline_quiz_and_says_so() -> None:
    model, context = scripted("no", "still no", "never")
    result = await graph.ainvoke(INPUT, context=context)
    assert len(model.prompts) == 3
    assert model.options == [json_call(0.3, 800)] * 3
    assert (result["provider"], result["model"]) == ("offline", "stemgraph-offline-1")
    assert validate_quiz(result["payload"], question_count=2) == []
    (attempt,) = result["attempts"]
    assert (attempt["provider"], attempt["model"], attempt["error"]) == (
        "openai",
        "fake",
        "invalid_output",
    )
    assert "after 2 repairs" in attempt["message"] and "not a JSON object" in attempt["message"]


async def test_a_dead_provider_and_a_prose_model_end_the_same_way() -> None:
    failing = ChatProvider("openai", "fake", FailingChatModel())
    down = await graph.ainvoke(INPUT, context=GenerationContext(router=ModelRouter([failing])))
    _, context = scripted("no", "still no", "never")
    prose = await graph.ainvoke(INPUT, context=context)
    assert down["payload"] == prose["payload"]
    assert down["provider"] == prose["provider"] == "offline"
    assert [a["error"] for a in down["attempts"]] == ["connection"]
    assert [a["error"] for a in prose["attempts"]] == ["invalid_output"]


async def test_no_material_is_a_generation_error() -> None:
    with pytest.raises(GenerationError, match="no class material"):
        await graph.ainvoke(
            {**INPUT, "material_context": "\u200b  "},
            context=GenerationContext(router=ModelRouter([])),
        )


async def test_class_id_retrieves_labelled_sources_from_the_store(store: Store) -> None:
    import uuid

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
    model, context = scripted(
        {"questions": [question("Which organelle releases energy?", answer="newton")]}
    )
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
    saver = InMemorySaver()
    checkpointed = graph.copy(update={"checkpointer": saver})
    config = {"configurable": {"thread_id": "quiz-run-1"}}
    await checkpointed.ainvoke(
        INPUT, config, context=GenerationContext(router=ModelRouter([])), durability="exit"
    )
    snapshot = await checkpointed.aget_state(config)
    assert snapshot.next == ()
    assert validate_quiz(snapshot.values["payload"], question_count=2) == []
    history = [s async for s in checkpointed.aget_state_history(config)]
    assert len(history) == 1
