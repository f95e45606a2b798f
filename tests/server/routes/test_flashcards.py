"""`POST /v1/flashcards/generate`: JSON in-process, SSE over a real socket."""

from __future__ import annotations

import pytest

from tests.server.conftest import API_KEY, Api, Serve, user_token
from tests.server.test_app import assert_error
from tests.sse import iter_events
from tools.demo import DEMO_CLASS_ID, DEMO_GUEST_ID, DEMO_SANDBOX_ID
from tools.payloads.flashcards import validate_flashcards

MATERIAL = (
    "Inertia is the tendency of an object to resist changes in its motion. "
    "The SI unit of force is the newton. Momentum is the product of mass and velocity. "
    "The speed of sound in air is about 343 m/s."
)
BODY = {
    "class_title": "Physics",
    "card_count": 3,
    "instructions": "",
    "blueprint_context": "",
    "material_context": MATERIAL,
}


def test_json_cards_are_valid_and_recorded(api: Api) -> None:
    response = api.post("/v1/flashcards/generate", BODY)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"payload", "provider", "model", "usage", "latency_ms", "attempts"}
    assert validate_flashcards(data["payload"], card_count=3) == []
    for card in data["payload"]["cards"]:
        assert card["back"] in MATERIAL


def test_cards_from_the_class_materials_and_validation(api: Api) -> None:
    by_class = {
        **BODY,
        "material_context": None,
        "class_id": DEMO_CLASS_ID,
        "instructions": "waves",
    }
    data = api.post("/v1/flashcards/generate", by_class).json()["data"]
    assert validate_flashcards(data["payload"], card_count=3) == []
    assert_error(
        api.post("/v1/flashcards/generate", {**BODY, "card_count": 31}), 422, "validation_error"
    )
    assert_error(
        api.post("/v1/flashcards/generate", {**BODY, "material_context": ""}),
        422,
        "validation_error",
    )


@pytest.mark.live
def test_stream_ends_with_the_json_data(api: Api) -> None:
    headers = {"x-api-key": API_KEY, "accept": "text/event-stream"}
    with api.client.stream(
        "POST", api.url + "/v1/flashcards/generate", json=BODY, headers=headers
    ) as response:
        events = list(iter_events(response))
    assert events[0].event == "metadata" and events[-1].event == "values"
    assert events[-1].data == api.post("/v1/flashcards/generate", BODY).json()["data"] | {
        "latency_ms": events[-1].data["latency_ms"]
    }


def test_guest_flashcards_limit(serve: Serve) -> None:
    with serve(guest_flashcards_limit=1) as api:
        guest = user_token(DEMO_GUEST_ID, anonymous=True)
        body = {**BODY, "sandbox_id": DEMO_SANDBOX_ID}
        assert api.post("/v1/flashcards/generate", body, token=guest).status_code == 200
        assert_error(
            api.post("/v1/flashcards/generate", body, token=guest), 429, "guest_rate_limit"
        )
