"""`/v1/classes/*`, in-process on both backends (guests joining: `test_access_rules`)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.server.conftest import Api, user_token
from tests.server.routes.test_workspace import ok
from tests.server.test_app import assert_error
from tools.demo import (
    DEMO_CLASS_ID,
    DEMO_JOIN_CODE,
    DEMO_STUDENT_IDS,
    DEMO_TEACHER_ID,
)


def create(api: Api, user: str, **body: Any) -> httpx.Response:
    return api.post(
        "/v1/classes/create",
        {"user_id": user, "title": "Chemistry 2", "join_code": "CHEM-2", **body},
        token=user_token(user),
    )


def join(api: Api, user: str, code: str, *, anonymous: bool = False) -> httpx.Response:
    return api.post(
        "/v1/classes/join",
        {"user_id": user, "join_code": code},
        token=user_token(user, anonymous=anonymous),
    )


def test_teachers_create_classes_with_unique_codes(api: Api) -> None:
    created = ok(create(api, DEMO_TEACHER_ID, subject=None, level=None, description=None))
    class_id = created["class_id"]
    assert uuid.UUID(class_id)
    # The creator is the class's teacher.
    participants = api.post(
        "/v1/chat/workspace/participants",
        {"class_id": class_id, "user_id": DEMO_TEACHER_ID},
        token=user_token(DEMO_TEACHER_ID),
    )
    assert ok(participants)["participants"] == []
    assert_error(create(api, DEMO_TEACHER_ID, join_code="chem-2"), 409, "join_code_conflict")
    assert_error(create(api, DEMO_STUDENT_IDS[0], join_code="OTHER"), 403, "forbidden_account_type")
    assert_error(create(api, str(uuid.uuid4()), join_code="NEW"), 403, "profile_missing")
    assert_error(create(api, DEMO_TEACHER_ID, join_code="   "), 422, "validation_error")
    body = {"user_id": DEMO_TEACHER_ID, "title": "x", "join_code": "Y"}
    assert_error(api.post("/v1/classes/create", body), 401, "user_token_required")


def test_students_join_case_insensitively_and_twice(api: Api) -> None:
    created = ok(create(api, DEMO_TEACHER_ID, join_code="Bio_7%"))
    student = DEMO_STUDENT_IDS[0]
    assert ok(join(api, student, "bio_7%"))["class_id"] == created["class_id"]
    assert ok(join(api, student, "  BIO_7%  "))["class_id"] == created["class_id"]
    # Wildcards in a code are literal characters, never patterns.
    assert_error(join(api, student, "Bio__%"), 404, "class_not_found")
    assert_error(join(api, student, "%"), 404, "class_not_found")
    assert_error(join(api, student, "b_o_7%"), 404, "class_not_found")
    assert ok(join(api, student, DEMO_JOIN_CODE.lower()))["class_id"] == DEMO_CLASS_ID
    assert_error(join(api, DEMO_TEACHER_ID, "bio_7%"), 403, "forbidden_account_type")
    mismatch = api.post(
        "/v1/classes/join",
        {"user_id": student, "join_code": "x"},
        token=user_token(DEMO_STUDENT_IDS[1]),
    )
    assert_error(mismatch, 403, "user_id_mismatch")
