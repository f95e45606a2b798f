"""The generation calls: blueprints, quiz, flashcards, `chat/generate` and `chat/canvas`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.contract import bodies
from tests.contract.conftest import WebApp, read_stream
from tests.contract.reading import (
    array,
    fields,
    is_int,
    non_null_str,
    one_of,
    read_ok,
    text,
)
from tests.contract.shapes import blueprint, canvas_spec, chat_reply, flashcards, generation, quiz

LENA = bodies.LENA


def read_blueprint(data: Any) -> None:
    topics = blueprint(generation(data)["payload"])
    statements = " ".join(o["statement"] for t in topics for o in t["objectives"])
    # Whole formulas from the material, never cut ("F = m a", not "F = m").
    assert "F = m a" in statements or "F = m" not in statements, statements


def test_blueprints_generate(webapp: WebApp) -> None:
    """The material is titled by its file names, as uploads often are: topics are still named
    after ideas and every objective's evidence is `[{sourceLabel, rationale}]`."""
    read_blueprint(read_ok(webapp.call("/v1/blueprints/generate", bodies.blueprint())))


def test_quiz_generate(webapp: WebApp) -> None:
    data = read_ok(webapp.call("/v1/quiz/generate", bodies.quiz(question_count=4)))
    quiz(generation(data)["payload"], question_count=4)


def test_flashcards_generate(webapp: WebApp) -> None:
    data = read_ok(webapp.call("/v1/flashcards/generate", bodies.flashcards(card_count=5)))
    flashcards(generation(data)["payload"], card_count=5)


def read_chat(data: Any) -> Any:
    found = generation(data)
    reply = chat_reply(found["payload"], "data.payload")
    orchestration = fields(
        found.get("orchestration"),
        "data.orchestration",
        ("engine", "tool_mode", "tool_calls", "tool_catalog", "notes"),
    )
    text(orchestration["engine"], "data.orchestration.engine")
    one_of(orchestration["tool_mode"], ("off", "plan", "auto"), "data.orchestration.tool_mode")
    array(orchestration["tool_calls"], "data.orchestration.tool_calls")
    array(orchestration["tool_catalog"], "data.orchestration.tool_catalog")
    return reply


def test_chat_generate_with_the_users_token(webapp: WebApp) -> None:
    body = bodies.chat_generate("What is the unit of force?")
    reply = read_chat(read_ok(webapp.call("/v1/chat/generate", body, user=LENA)))
    assert reply["safety"] == "ok" and reply["citations"], reply


def test_chat_generate_with_the_service_key_alone(webapp: WebApp) -> None:
    body = bodies.chat_generate("What is the unit of force?")
    reply = read_chat(read_ok(webapp.call("/v1/chat/generate", body)))
    assert reply["safety"] == "ok" and reply["citations"], reply


def test_chat_generate_orchestration_notes_is_one_string(webapp: WebApp) -> None:
    body = bodies.chat_generate("What is the unit of force?")
    data = read_ok(webapp.call("/v1/chat/generate", body, user=LENA))
    notes = non_null_str(data["orchestration"]["notes"], "data.orchestration.notes")
    assert notes == "; ".join(part for part in notes.split("; ") if part)


CANVASES = {
    "chart": (
        "speed of sound in different materials",
        "How fast does sound travel in air, water and steel?",
        "Sound travels at about 343 m/s in air, 1480 m/s in water and 5960 m/s in steel.",
    ),
    "diagram": (
        "the stages of the water cycle",
        "What happens in the water cycle?",
        "Water evaporates, condenses into clouds, falls as precipitation and collects again.",
    ),
    "wave": (
        "amplitude and frequency of two sound waves",
        "How do loud and high sounds differ?",
        "A louder sound has a larger amplitude; a higher sound has a higher frequency.",
    ),
    "vector": (
        "the resultant of two forces at right angles",
        "How do I add a 3 N force and a 4 N force at right angles?",
        "Draw them tip to tail: the resultant is 5 N, by Pythagoras.",
    ),
}


@pytest.mark.parametrize("kind", list(CANVASES))
def test_chat_canvas(webapp: WebApp, kind: str) -> None:
    body = bodies.canvas(kind, *CANVASES[kind])
    spec = canvas_spec(
        fields(read_ok(webapp.call("/v1/chat/canvas", body)), "data", ("spec",))["spec"]
    )
    assert spec["type"] == kind


STREAMED: dict[str, tuple[str, Callable[[], dict[str, Any]], str | None, Callable[[Any], Any]]] = {
    "quiz": (
        "/v1/quiz/generate",
        lambda: bodies.quiz(question_count=3),
        None,
        lambda data: quiz(generation(data)["payload"], question_count=3),
    ),
    "flashcards": (
        "/v1/flashcards/generate",
        lambda: bodies.flashcards(card_count=3),
        None,
        lambda data: flashcards(generation(data)["payload"], card_count=3),
    ),
    "blueprints": ("/v1/blueprints/generate", bodies.blueprint, None, read_blueprint),
    "chat": (
        "/v1/chat/generate",
        lambda: bodies.chat_generate("What is the unit of force?"),
        LENA,
        read_chat,
    ),
    "canvas": (
        "/v1/chat/canvas",
        lambda: bodies.canvas("chart", *CANVASES["chart"]),
        None,
        lambda data: canvas_spec(data["spec"]),
    ),
}


@pytest.mark.parametrize("route", list(STREAMED))
def test_generation_routes_stream_when_asked(webapp: WebApp, route: str) -> None:
    """Same framing everywhere; the final `values` event holds what JSON puts in `data`."""
    path, body, user, read = STREAMED[route]
    data, events = read_stream(webapp, path, body(), user=user)
    read(data)
    assert any(e.event in ("updates", "custom") for e in events)
    if route != "canvas":
        is_int(data["latency_ms"], "values.latency_ms")
