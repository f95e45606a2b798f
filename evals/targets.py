"""What each eval suite runs: the real graphs, on the offline engine (no network, no keys)."""

from __future__ import annotations

from typing import Any

from graphs.chat import graph as chat_graph
from graphs.quiz import graph as quiz_graph
from graphs.shared.context import GenerationContext
from tools.models.router import ModelRouter

# No providers: every call is answered by the offline engine, so scores are reproducible.
_OFFLINE = GenerationContext(router=ModelRouter([]), timeout_ms=60_000)


async def quiz_target(case: dict[str, Any]) -> dict[str, Any]:
    """The quiz payload the quiz graph produces for one dataset case."""
    result = await quiz_graph.ainvoke(
        {
            "class_title": case.get("title", "Eval class"),
            "question_count": case["question_count"],
            "instructions": case.get("instructions", ""),
            "blueprint_context": "",
            "material_context": case["passage"],
        },
        context=_OFFLINE,
    )
    payload: dict[str, Any] = result["payload"]
    return payload


def _material(sources: list[dict[str, Any]]) -> str:
    return "\n\n".join(f"{s['label']} | {s['title']} | markdown 1\n{s['text']}" for s in sources)


async def chat_target(case: dict[str, Any]) -> dict[str, Any]:
    """The tutor's reply to one question, from the chat graph in stateless mode."""
    titles = ", ".join(dict.fromkeys(s["title"] for s in case["sources"]))
    result = await chat_graph.ainvoke(
        {
            "class_id": "eval-class",
            "class_title": case.get("class_title", "Eval class"),
            "user_message": case["question"],
            "material_context": _material(case["sources"]),
            "blueprint_context": f"Blueprint Context\nTopics: {titles}",
        },
        context=_OFFLINE,
    )
    reply: dict[str, Any] = result["reply"]
    return reply


async def compaction_target(case: dict[str, Any]) -> dict[str, Any]:
    """Replays the 40-turn conversation through the compaction rules, turn by turn."""
    from evals.scorers.compaction import load_case, replay

    conversation = load_case(None)
    return {"case": conversation, "steps": replay(conversation)}
