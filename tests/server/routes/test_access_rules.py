"""One access rule per kind of caller, on every class-scoped route, over a real socket and on
both backends: the service key alone (a trusted backend caller), a signed-in member, a guest.

The scenario: another teacher's class holds a confidential sentence. A guest with its own
active sandbox, even one enrolled in that class, and a signed-in user who is not a member must
get nothing from it on any route.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.server.conftest import Api, user_token, with_store
from tests.server.test_app import assert_error
from tools.chunking import chunk_text
from tools.demo import (
    DEMO_CLASS_ID,
    DEMO_GUEST_ID,
    DEMO_SANDBOX_CLASS_ID,
    DEMO_SANDBOX_ID,
    DEMO_STUDENT_IDS,
)
from tools.demo.blueprint import DEMO_BLUEPRINT
from tools.store import ChunkInput, Store

SECRET_CLASS = "5ec1e700-0000-4000-8000-000000000001"
SECRET_TEACHER = "5ec1e700-0000-4000-8000-0000000000aa"
SECRET_STUDENT = "5ec1e700-0000-4000-8000-0000000000bb"
SECRET_CODE = "ORCA99"
SECRET = "orca-9913"
SECRET_TEXT = (
    f"# Midterm\nThe confidential midterm code is {SECRET}. The SI unit of force is the newton. "
    "Energy is measured in joules. Power is the rate of doing work, measured in watts."
)
# A teacher account that teaches a class of its own, not the secret one.
OUTSIDER = "5ec1e700-0000-4000-8000-0000000000cc"


def make_secret_class(api: Api, *, enroll_guest: bool = True) -> None:
    """Another teacher's class with a confidential material and a published blueprint; the
    demo guest is enrolled in it too (enrollment must not let a guest out of its sandbox)."""

    async def seed(store: Store) -> None:
        await store.upsert_profile(SECRET_TEACHER, "teacher", "Rex Secret")
        await store.upsert_profile(SECRET_STUDENT, "student", "Sol Student")
        await store.upsert_profile(OUTSIDER, "teacher", "Otto Outsider")
        await store.create_class(
            class_id=SECRET_CLASS, owner_id=SECRET_TEACHER, title="Secret", join_code=SECRET_CODE
        )
        await store.create_class(
            class_id=str(uuid.uuid4()), owner_id=OUTSIDER, title="Other", join_code="OTTO-1"
        )
        await store.enroll(SECRET_CLASS, SECRET_STUDENT, "student")
        if enroll_guest:
            await store.enroll(SECRET_CLASS, DEMO_GUEST_ID, "student")
        chunks = [
            ChunkInput(c.index, c.content, c.section, c.token_count)
            for c in chunk_text(SECRET_TEXT)
        ]
        await store.save_material(
            material_id=str(uuid.uuid4()),
            class_id=SECRET_CLASS,
            title="Midterm notes",
            source_type="markdown",
            chunks=chunks,
        )
        await store.publish_blueprint(SECRET_CLASS, str(uuid.uuid4()), DEMO_BLUEPRINT)

    with_store(api, seed)


Body = Callable[[str, str], dict[str, Any]]
# Every class-scoped route: (path, body for (class_id, user_id), the route family's code for a
# caller that does not reach the class).
ROUTES: list[tuple[str, Body, str]] = [
    (
        "/v1/quiz/generate",
        lambda c, u: {
            "class_title": "Secret",
            "question_count": 3,
            "instructions": "the midterm code",
            "blueprint_context": "",
            "material_context": "",
            "class_id": c,
        },
        "forbidden",
    ),
    (
        "/v1/flashcards/generate",
        lambda c, u: {
            "class_title": "Secret",
            "card_count": 3,
            "instructions": "the midterm code",
            "blueprint_context": "",
            "material_context": "",
            "class_id": c,
        },
        "forbidden",
    ),
    (
        "/v1/blueprints/generate",
        lambda c, u: {
            "class_title": "Secret",
            "material_count": 1,
            "material_text": "Forces are pushes or pulls, measured in newtons.",
            "class_id": c,
        },
        "forbidden",
    ),
    (
        "/v1/blueprints/generate",
        lambda c, u: {
            "class_title": "Secret",
            "material_count": 1,
            "material_text": "Forces are pushes or pulls, measured in newtons.",
            "class_id": c,
            "require_approval": True,
        },
        "forbidden",
    ),
    (
        "/v1/blueprints/approve",
        lambda c, u: {
            "class_id": c,
            "user_id": u,
            "draft_id": str(uuid.uuid4()),
            "approved": True,
        },
        "forbidden",
    ),
    (
        "/v1/chat/generate",
        lambda c, u: {
            "class_id": c,
            "user_id": u,
            "class_title": "Secret",
            "user_message": "What is the confidential midterm code?",
            "transcript": [],
            "blueprint_context": "",
            "material_context": "",
            "tool_mode": "off",
        },
        "forbidden",
    ),
    (
        "/v1/chat/canvas",
        lambda c, u: {
            "class_id": c,
            "canvas_hint": {"type": "chart", "concept": "midterm code", "title": "Code"},
            "student_question": "What is the midterm code?",
            "ai_answer": "",
        },
        "forbidden",
    ),
    *(
        (f"/v1/chat/workspace/{path}", body, "class_access_required")
        for path, body in (
            ("participants", lambda c, u: {"class_id": c, "user_id": u}),
            ("sessions/list", lambda c, u: {"class_id": c, "user_id": u}),
            ("sessions/create", lambda c, u: {"class_id": c, "user_id": u}),
            (
                "sessions/rename",
                lambda c, u: {
                    "class_id": c,
                    "user_id": u,
                    "session_id": str(uuid.uuid4()),
                    "title": "x",
                },
            ),
            (
                "sessions/archive",
                lambda c, u: {"class_id": c, "user_id": u, "session_id": str(uuid.uuid4())},
            ),
            (
                "messages/list",
                lambda c, u: {"class_id": c, "user_id": u, "session_id": str(uuid.uuid4())},
            ),
            (
                "messages/send",
                lambda c, u: {
                    "class_id": c,
                    "user_id": u,
                    "session_id": str(uuid.uuid4()),
                    "message": "What is the midterm code?",
                    "tool_mode": "off",
                },
            ),
        )
    ),
    (
        "/v1/materials/create",
        lambda c, u: {"class_id": c, "user_id": u, "title": "Mine", "text": "Hello there."},
        "forbidden",
    ),
    (
        "/v1/materials/dispatch",
        lambda c, u: {"class_id": c, "material_id": str(uuid.uuid4()), "user_id": u},
        "forbidden",
    ),
    ("/v1/analytics/class-insights", lambda c, u: {"class_id": c, "user_id": u}, "forbidden"),
    (
        "/v1/analytics/class-teaching-brief",
        lambda c, u: {"class_id": c, "user_id": u, "force_refresh": True},
        "forbidden",
    ),
    (
        "/v1/analytics/data-query",
        lambda c, u: {"class_id": c, "user_id": u, "query": "average score by student"},
        "forbidden",
    ),
]


def refusals(
    api: Api, token: str, user: str, extra: dict[str, Any], routes: list[tuple[str, Body, str]]
) -> list[str]:
    """Every route whose answer is not its family's 403, or that leaks the secret."""
    wrong = []
    for path, body, code in routes:
        response = api.post(path, {**body(SECRET_CLASS, user), **extra}, token=token)
        leaked = SECRET in response.text
        got = response.json().get("error") or {}
        if response.status_code != 403 or got.get("code") != code or leaked:
            wrong.append(f"{path}: {response.status_code} {got.get('code')} leaked={leaked}")
        elif not str(got.get("message", "")).endswith("."):
            wrong.append(f"{path}: unreadable message {got.get('message')!r}")
    return wrong


def test_a_guest_reaches_no_class_outside_its_sandbox_on_any_route(api: Api) -> None:
    make_secret_class(api)
    guest = user_token(DEMO_GUEST_ID, anonymous=True)
    assert refusals(api, guest, DEMO_GUEST_ID, {"sandbox_id": DEMO_SANDBOX_ID}, ROUTES) == []
    # Joining another teacher's class by its code is refused too: a guest joins only classes of
    # its own sandbox.
    join = {"user_id": DEMO_GUEST_ID, "join_code": SECRET_CODE, "sandbox_id": DEMO_SANDBOX_ID}
    assert_error(api.post("/v1/classes/join", join, token=guest), 403, "forbidden")


def test_a_signed_in_non_member_reaches_no_class_on_any_route(api: Api) -> None:
    make_secret_class(api, enroll_guest=False)
    assert refusals(api, user_token(OUTSIDER), OUTSIDER, {}, ROUTES) == []


def test_a_member_student_gets_the_teacher_code_on_teacher_routes(api: Api) -> None:
    make_secret_class(api, enroll_guest=False)
    student = user_token(SECRET_STUDENT)
    teacher_only = {
        "/v1/blueprints/approve": "forbidden",
        "/v1/chat/workspace/participants": "teacher_access_required",
        "/v1/materials/create": "forbidden",
        "/v1/materials/dispatch": "forbidden",
    }
    for path, body, _ in ROUTES:
        if path in teacher_only:
            response = api.post(path, body(SECRET_CLASS, SECRET_STUDENT), token=student)
            assert_error(response, 403, teacher_only[path])
    # Analytics are for teacher accounts: a student account is the wrong kind of account.
    insights = {"class_id": SECRET_CLASS, "user_id": SECRET_STUDENT}
    assert_error(
        api.post("/v1/analytics/class-insights", insights, token=student),
        403,
        "forbidden_account_type",
    )
    # A member reaches the class's material.
    quiz = ROUTES[0][1](SECRET_CLASS, SECRET_STUDENT)
    response = api.post("/v1/quiz/generate", quiz, token=student)
    assert response.status_code == 200, response.text


def test_the_service_key_alone_is_trusted_with_any_existing_class(api: Api) -> None:
    make_secret_class(api, enroll_guest=False)
    quiz = ROUTES[0][1](SECRET_CLASS, SECRET_STUDENT)
    assert api.post("/v1/quiz/generate", quiz).status_code == 200
    unknown = api.post("/v1/quiz/generate", {**quiz, "class_id": str(uuid.uuid4())})
    assert_error(unknown, 404, "class_not_found")


# A second guest, with a sandbox and a sandbox class of its own it has not joined yet.
GUEST_2 = "6a0e5700-0000-4000-8000-000000000001"
SANDBOX_2 = "6a0e5700-0000-4000-8000-000000000002"
CLASS_2 = "6a0e5700-0000-4000-8000-000000000003"
CODE_2 = "6A0E5700"


def make_second_guest(api: Api) -> None:
    async def seed(store: Store) -> None:
        await store.upsert_profile(GUEST_2, "guest", None)
        await store.upsert_sandbox(SANDBOX_2, GUEST_2, active=True)
        await store.create_class(
            class_id=CLASS_2,
            owner_id=GUEST_2,
            title="Try it",
            join_code=CODE_2,
            sandbox_id=SANDBOX_2,
        )
        chunks = [
            ChunkInput(c.index, c.content, c.section, c.token_count)
            for c in chunk_text(SECRET_TEXT)
        ]
        await store.save_material(
            material_id=str(uuid.uuid4()),
            class_id=CLASS_2,
            title="Notes",
            source_type="markdown",
            chunks=chunks,
        )

    with_store(api, seed)


def quiz_of(class_id: str, sandbox_id: str) -> dict[str, Any]:
    return {**ROUTES[0][1](class_id, ""), "sandbox_id": sandbox_id}


def test_a_guest_works_in_its_own_sandbox_class(api: Api) -> None:
    guest = user_token(DEMO_GUEST_ID, anonymous=True)
    own = {
        "class_id": DEMO_SANDBOX_CLASS_ID,
        "user_id": DEMO_GUEST_ID,
        "sandbox_id": DEMO_SANDBOX_ID,
    }
    quiz = api.post(
        "/v1/quiz/generate", quiz_of(DEMO_SANDBOX_CLASS_ID, DEMO_SANDBOX_ID), token=guest
    )
    assert quiz.status_code == 200, quiz.text
    assert quiz.json()["data"]["payload"]["questions"]
    chat = {**ROUTES[5][1](DEMO_SANDBOX_CLASS_ID, DEMO_GUEST_ID), **own}
    chat["user_message"] = "What is the SI unit of force?"
    answered = api.post("/v1/chat/generate", chat, token=guest)
    assert answered.status_code == 200, answered.text
    assert "newton" in answered.json()["data"]["payload"]["answer"].lower()
    canvas = {**ROUTES[6][1](DEMO_SANDBOX_CLASS_ID, DEMO_GUEST_ID), "sandbox_id": DEMO_SANDBOX_ID}
    assert api.post("/v1/chat/canvas", canvas, token=guest).status_code == 200
    created = api.post("/v1/chat/workspace/sessions/create", own, token=guest)
    assert created.status_code == 200, created.text
    session_id = created.json()["data"]["session"]["id"]
    send = {**own, "session_id": session_id, "message": "What is power?", "tool_mode": "off"}
    sent = api.post("/v1/chat/workspace/messages/send", send, token=guest)
    assert sent.status_code == 200, sent.text
    # A guest is a student in its sandbox: the teachers' routes stay closed.
    assert sent.json()["data"]["user_message"]["author_kind"] == "student"
    assert_error(
        api.post("/v1/chat/workspace/participants", own, token=guest),
        403,
        "teacher_access_required",
    )
    material = {**own, "title": "Mine", "text": "Hello there."}
    assert_error(api.post("/v1/materials/create", material, token=guest), 403, "forbidden")


def test_guests_never_reach_each_others_sandbox_classes(api: Api) -> None:
    make_second_guest(api)
    guest_2 = user_token(GUEST_2, anonymous=True)
    # Its own sandbox id does not open the first guest's class ...
    assert_error(
        api.post("/v1/quiz/generate", quiz_of(DEMO_SANDBOX_CLASS_ID, SANDBOX_2), token=guest_2),
        403,
        "forbidden",
    )
    listing = {"class_id": DEMO_SANDBOX_CLASS_ID, "user_id": GUEST_2, "sandbox_id": SANDBOX_2}
    assert_error(
        api.post("/v1/chat/workspace/sessions/list", listing, token=guest_2),
        403,
        "class_access_required",
    )
    # ... and the first guest's sandbox id is not its to use.
    assert_error(
        api.post(
            "/v1/quiz/generate", quiz_of(DEMO_SANDBOX_CLASS_ID, DEMO_SANDBOX_ID), token=guest_2
        ),
        403,
        "guest_sandbox_forbidden",
    )


def test_a_guest_joins_a_class_of_its_sandbox_as_a_student(api: Api) -> None:
    make_second_guest(api)
    guest_2 = user_token(GUEST_2, anonymous=True)
    own = {"class_id": CLASS_2, "user_id": GUEST_2, "sandbox_id": SANDBOX_2}
    # Not enrolled yet: the class's routes ask the guest to join first.
    assert_error(
        api.post("/v1/chat/workspace/sessions/create", own, token=guest_2),
        403,
        "class_access_required",
    )
    assert_error(
        api.post("/v1/quiz/generate", quiz_of(CLASS_2, SANDBOX_2), token=guest_2), 403, "forbidden"
    )
    join = {"user_id": GUEST_2, "join_code": CODE_2.lower()}
    assert_error(api.post("/v1/classes/join", join, token=guest_2), 400, "guest_sandbox_required")
    joined = api.post("/v1/classes/join", {**join, "sandbox_id": SANDBOX_2}, token=guest_2)
    assert joined.status_code == 200, joined.text
    assert joined.json()["data"] == {"class_id": CLASS_2}
    again = api.post("/v1/classes/join", {**join, "sandbox_id": SANDBOX_2}, token=guest_2)
    assert again.status_code == 200, again.text
    created = api.post("/v1/chat/workspace/sessions/create", own, token=guest_2)
    assert created.status_code == 200, created.text
    quiz = api.post("/v1/quiz/generate", quiz_of(CLASS_2, SANDBOX_2), token=guest_2)
    assert quiz.status_code == 200, quiz.text
    # As a student, never as more.
    assert_error(
        api.post("/v1/chat/workspace/participants", own, token=guest_2),
        403,
        "teacher_access_required",
    )
    # The demo class is not in its sandbox.
    demo = {"user_id": GUEST_2, "join_code": "PHYS101", "sandbox_id": SANDBOX_2}
    assert_error(api.post("/v1/classes/join", demo, token=guest_2), 403, "forbidden")


def test_a_signed_token_whose_subject_is_not_a_user_id_is_invalid(api: Api) -> None:
    # Before, on Postgres, such a subject reached the database as a uuid and failed there (500).
    quiz = quiz_of(DEMO_CLASS_ID, DEMO_SANDBOX_ID)
    del quiz["sandbox_id"]
    for subject in ("not-a-uuid", "{" + DEMO_GUEST_ID + "}", DEMO_GUEST_ID.replace("-", ""), "0"):
        token = user_token(subject)
        assert_error(api.post("/v1/quiz/generate", quiz, token=token), 401, "invalid_user_token")
        listing = {"class_id": DEMO_CLASS_ID, "user_id": DEMO_STUDENT_IDS[0]}
        assert_error(
            api.post("/v1/chat/workspace/sessions/list", listing, token=token),
            401,
            "invalid_user_token",
        )
    # An upper-case user id is the same user as its lower-case form.
    upper = user_token(SECRET_STUDENT.upper())
    make_secret_class(api, enroll_guest=False)
    listing = {"class_id": SECRET_CLASS, "user_id": SECRET_STUDENT}
    listed = api.post("/v1/chat/workspace/sessions/list", listing, token=upper)
    assert listed.status_code == 200, listed.text


def test_only_a_guests_verified_sandbox_is_stamped_on_what_it_makes(api: Api) -> None:
    # Any signed-in user could stamp another's sandbox id on a session or a generation: the
    # platform's cleanup deletes rows by sandbox, and a claim hands a sandbox's generations to
    # whoever claims it. Only a guest's own, verified sandbox is written; others' ids are not.
    student = DEMO_STUDENT_IDS[0]
    token = user_token(student)
    body = {"class_id": DEMO_CLASS_ID, "user_id": student, "sandbox_id": DEMO_SANDBOX_ID}
    created = api.post("/v1/chat/workspace/sessions/create", body, token=token)
    assert created.status_code == 200, created.text
    session_id = created.json()["data"]["session"]["id"]
    quiz = api.post("/v1/quiz/generate", quiz_of(DEMO_CLASS_ID, DEMO_SANDBOX_ID), token=token)
    assert quiz.status_code == 200, quiz.text

    async def stamped(store: Store) -> tuple[str | None, int]:
        session = await store.get_session(session_id)
        assert session is not None
        async with store.session() as db:
            rows = await db.query(
                "SELECT count(*) AS n FROM stemgraph_generations"
                " WHERE user_id = :u AND sandbox_id IS NOT NULL",
                {"u": student},
            )
        return session.sandbox_id, int(rows[0]["n"])

    assert with_store(api, stamped) == (None, 0)
