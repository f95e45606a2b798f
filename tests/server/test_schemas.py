"""The one list of request fields that are accepted and ignored (`server.schemas.IGNORED_FIELDS`)
matches the route bodies, the routes never read those fields, and sending them changes nothing."""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from starlette.routing import Route

from server.app import create_app
from server.schemas import IGNORED_FIELDS
from server.settings import Settings
from tests.server.conftest import Api, user_token
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS

ROUTES = {
    route.path: route.endpoint
    for route in create_app(Settings(data_dir=Path("unused"))).routes
    if isinstance(route, Route)
}


def _body_model(path: str) -> type[BaseModel]:
    """The model the route's handler passes to `admit(request, Model, ...)`."""
    endpoint = ROUTES[path]
    tree = ast.parse(textwrap.dedent(inspect.getsource(endpoint)))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "admit"
            and isinstance(node.args[1], ast.Name)
        ):
            model = getattr(sys.modules[endpoint.__module__], node.args[1].id)
            assert issubclass(model, BaseModel)
            return model
    raise AssertionError(f"{path} does not admit a body")


@pytest.mark.parametrize("path", sorted(IGNORED_FIELDS))
def test_each_ignored_field_is_declared_by_its_route_s_body(path: str) -> None:
    fields = _body_model(path).model_fields
    for name, why in IGNORED_FIELDS[path].items():
        assert name in fields, f"{path} does not accept {name}"
        assert why.strip(), f"{path}: say why {name} is ignored"


@pytest.mark.parametrize("path", sorted(IGNORED_FIELDS))
def test_routes_never_read_the_fields_they_ignore(path: str) -> None:
    module = sys.modules[ROUTES[path].__module__]
    tree = ast.parse(inspect.getsource(module))
    read = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in {"body", "options"}
    }
    assert read & set(IGNORED_FIELDS[path]) == set()


def _data(response: Any) -> Any:
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    data.pop("latency_ms", None)
    return data


def test_sending_the_ignored_fields_changes_nothing(api: Api) -> None:
    llm = {"system": "Be brief.", "user": "What is the SI unit of force?"}
    noise: dict[str, Any] = {"session_id": "s-1", "transforms": ["middle-out"]}
    assert set(noise) == set(IGNORED_FIELDS["/v1/llm/generate"])
    plain = _data(api.post("/v1/llm/generate", llm))
    assert _data(api.post("/v1/llm/generate", {**llm, **noise})) == plain

    student = DEMO_STUDENT_IDS[0]
    chat = {
        "class_id": DEMO_CLASS_ID,
        "user_id": student,
        "class_title": "Physics & Chemistry 101",
        "user_message": "What is the SI unit of force?",
        "transcript": [],
        "blueprint_context": "",
        "material_context": "The SI unit of force is the newton.",
        "tool_mode": "off",
    }
    noise = {"session_id": "s-1", "orchestration_hints": {"prefer": "canvas"}}
    assert set(noise) == set(IGNORED_FIELDS["/v1/chat/generate"])
    token = user_token(student)
    plain = _data(api.post("/v1/chat/generate", chat, token=token))
    assert plain["payload"]["answer"]
    assert _data(api.post("/v1/chat/generate", {**chat, **noise}, token=token)) == plain
