"""`/v1/classes/*` and the materials queue (`dispatch`, `process`) as the web app calls them."""

from __future__ import annotations

import uuid
from typing import Any

from tests.contract import bodies
from tests.contract.conftest import WebApp
from tests.contract.reading import (
    array,
    boolean,
    fields,
    is_int,
    non_null_str,
    read_error,
    read_ok,
    uuid_str,
)
from tools.demo import DEMO_CLASS_ID

TEACHER, LENA, TOMAS = bodies.TEACHER, bodies.LENA, bodies.TOMAS


def new_code() -> str:
    return f"C{uuid.uuid4().hex[:7].upper()}"


def create_class(webapp: WebApp, code: str) -> str:
    data = read_ok(webapp.call("/v1/classes/create", bodies.classes_create(code), user=TEACHER))
    return uuid_str(fields(data, "data", ("class_id",))["class_id"], "data.class_id")


def test_classes_create(webapp: WebApp) -> None:
    code = new_code()
    class_id = create_class(webapp, code)
    assert class_id != DEMO_CLASS_ID
    again = webapp.call("/v1/classes/create", bodies.classes_create(code.lower()), user=TEACHER)
    read_error(again, 409, "join_code_conflict")


def test_classes_join(webapp: WebApp) -> None:
    code = new_code()
    class_id = create_class(webapp, code)
    for sent in (code.lower(), code):  # case-insensitive; joining twice is not an error
        data = read_ok(webapp.call("/v1/classes/join", bodies.classes_join(LENA, sent), user=LENA))
        assert uuid_str(data["class_id"], "data.class_id") == class_id
    unknown = webapp.call(
        "/v1/classes/join", bodies.classes_join(TOMAS, "NO-SUCH-CODE"), user=TOMAS
    )
    read_error(unknown, 404, "class_not_found")


def upload(webapp: WebApp) -> str:
    """A teacher's upload, stored so the web app can dispatch it (stemgraph's own route)."""
    body = {
        "class_id": DEMO_CLASS_ID,
        "user_id": TEACHER,
        "title": "Optics",
        "file_name": "optics.md",
        "mime_type": "text/markdown",
        "text": "# Optics\n\nA convex lens converges light to a focal point. Refraction bends it.",
        "process": False,
    }
    data = read_ok(webapp.call("/v1/materials/create", body, user=TEACHER))
    return str(data["material_id"])


def read_process(data: Any) -> None:
    found = fields(
        data, "data", ("triggered", "processed", "succeeded", "failed", "retried", "errors")
    )
    for key in ("processed", "succeeded", "failed", "retried"):
        is_int(found[key], f"data.{key}")
    assert found["processed"] == found["succeeded"] + found["failed"] + found["retried"]
    for n, error in enumerate(array(found["errors"], "data.errors")):
        non_null_str(error, f"data.errors[{n}]")


def test_materials_process(webapp: WebApp) -> None:
    # Before any dispatch in this module starts a background batch that could take the job.
    material_id = upload(webapp)
    body = {"class_id": DEMO_CLASS_ID, "material_id": material_id, "trigger_worker": False}
    read_ok(webapp.call("/v1/materials/dispatch", body, user=TEACHER))
    data = read_ok(webapp.call("/v1/materials/process", bodies.process()))  # `batch_size: null`
    read_process(data)
    assert data["succeeded"] >= 1


def test_materials_dispatch(webapp: WebApp) -> None:
    material_id = upload(webapp)
    data = read_ok(
        webapp.call("/v1/materials/dispatch", bodies.dispatch(material_id), user=TEACHER)
    )
    found = fields(data, "data", ("enqueued", "triggered"))
    assert boolean(found["enqueued"], "data.enqueued") is True
    assert boolean(found["triggered"], "data.triggered") is True


def test_materials_process_triggered_is_a_boolean(webapp: WebApp) -> None:
    data = read_ok(webapp.call("/v1/materials/process", bodies.process(batch_size=3)))
    read_process(data)
    assert boolean(data["triggered"], "data.triggered") is True  # this call ran a batch
    is_int(data.get("recovered"), "data.recovered")  # stemgraph's addition: stuck jobs recovered
