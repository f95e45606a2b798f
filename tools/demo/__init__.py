"""The demo data the embedded default starts with (`seed_demo`): fixed ids, so every route can
be tried. What stemgraph writes on the platform (classes, enrollments, materials) goes through
the `Store`; what the web app writes (profiles of the generated students, the published
blueprint, quizzes, assignments, attempts, and the tutor chat history) is written in the
platform's shapes by `tools/demo/classroom.py`, so analytics run on the real shapes.

The demo guest does not use the demo class: like the platform's `clone_guest_sandbox`, it gets
its own copy (materials and the published blueprint) marked with its sandbox id, owns it and is
enrolled in it as a student. A guest reaches only its own sandbox's classes.
"""

from __future__ import annotations

import uuid
from typing import Final

from tools.chunking import chunk_text
from tools.clock import now_iso
from tools.demo.blueprint import DEMO_BLUEPRINT, DEMO_BLUEPRINT_ID
from tools.demo.classroom import seed_demo_chat, seed_demo_coursework, seed_demo_students
from tools.demo.webapp import child_id, publish_blueprint
from tools.store.base import ChunkInput, ClassRecord, Store

DEMO_CLASS_ID: Final = "c1a55000-0000-4000-8000-000000000001"
DEMO_JOIN_CODE: Final = "PHYS101"
DEMO_TEACHER_ID: Final = "11111111-1111-4111-8111-111111111111"
DEMO_STUDENT_IDS: Final = (
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
)
DEMO_GUEST_ID: Final = "44444444-4444-4444-8444-444444444444"
DEMO_SANDBOX_ID: Final = "55555555-5555-4555-8555-555555555555"
# The demo guest's own copy of the demo class, in its sandbox.
DEMO_SANDBOX_CLASS_ID: Final = "c1a55000-0000-4000-8000-000000000002"


def demo_topic_id(key: str) -> str:
    """The `topics` row id of the demo blueprint's topic `key` (what insights call `topic_id`)."""
    return child_id(DEMO_BLUEPRINT_ID, f"topic:{key}")


async def seed_demo(store: Store) -> bool:
    """Create the demo class with its people and materials, and the demo guest's sandbox with
    its class; returns False when both are already there."""
    from tools.demo.materials import DEMO_CLASS_NAME

    created = False
    if await store.get_class(DEMO_CLASS_ID) is None:
        await store.upsert_profile(DEMO_TEACHER_ID, "teacher", "Ada Okafor")
        await store.upsert_profile(DEMO_STUDENT_IDS[0], "student", "Lena Park")
        await store.upsert_profile(DEMO_STUDENT_IDS[1], "student", "Tomás Reyes")
        await store.create_class(
            class_id=DEMO_CLASS_ID,
            owner_id=DEMO_TEACHER_ID,
            title=DEMO_CLASS_NAME,
            subject="Physical science",
            level="Secondary",
            description="A demo class seeded by stemgraph's embedded default.",
            join_code=DEMO_JOIN_CODE,
        )
        for student_id in DEMO_STUDENT_IDS:
            await store.enroll(DEMO_CLASS_ID, student_id, "student")
        await seed_demo_students(store, DEMO_CLASS_ID)
        await _copy_materials(store, DEMO_CLASS_ID)
        async with store.transaction() as db:
            await seed_demo_coursework(
                db,
                class_id=DEMO_CLASS_ID,
                teacher_id=DEMO_TEACHER_ID,
                blueprint_id=DEMO_BLUEPRINT_ID,
                blueprint=DEMO_BLUEPRINT,
                named_students=DEMO_STUDENT_IDS,
                backend=store.backend,
            )
            await seed_demo_chat(db, class_id=DEMO_CLASS_ID, named_students=DEMO_STUDENT_IDS)
        created = True
    if await store.get_class(DEMO_SANDBOX_CLASS_ID) is None:
        await seed_guest_sandbox(
            store,
            sandbox_id=DEMO_SANDBOX_ID,
            guest_user_id=DEMO_GUEST_ID,
            class_id=DEMO_SANDBOX_CLASS_ID,
        )
        created = True
    return created


async def seed_guest_sandbox(
    store: Store, *, sandbox_id: str, guest_user_id: str, class_id: str | None = None
) -> ClassRecord:
    """An active sandbox for a guest with its own copy of the demo class (the platform's
    `clone_guest_sandbox`): the class carries the sandbox id, the guest owns it and is enrolled
    as a student, and its join code is the sandbox id's first 8 hex digits, upper-cased."""
    from tools.demo.materials import DEMO_CLASS_NAME

    if await store.get_profile(guest_user_id) is None:
        await store.upsert_profile(guest_user_id, "guest", None)
    await store.upsert_sandbox(sandbox_id, guest_user_id, active=True)
    klass = await store.create_class(
        class_id=class_id or _derived(sandbox_id, "class"),
        owner_id=guest_user_id,
        title=DEMO_CLASS_NAME,
        subject="Physical science",
        level="Secondary",
        description="A guest's copy of the demo class.",
        join_code=sandbox_id.replace("-", "")[:8].upper(),
        sandbox_id=sandbox_id,
    )
    await store.enroll(klass.id, guest_user_id, "student")
    await _copy_materials(store, klass.id, copy_of=sandbox_id)
    async with store.transaction() as db:
        await publish_blueprint(
            db,
            blueprint_id=_derived(sandbox_id, "blueprint"),
            class_id=klass.id,
            content=DEMO_BLUEPRINT,
            teacher_id=guest_user_id,
            at=now_iso(),
            backend=store.backend,
        )
    return klass


def _derived(sandbox_id: str, name: str) -> str:
    """A stable id for a sandbox's copy of a demo row."""
    return str(uuid.uuid5(uuid.UUID(sandbox_id), name))


async def _copy_materials(store: Store, class_id: str, *, copy_of: str | None = None) -> None:
    """The demo materials (chunked, ready) in `class_id`; a sandbox's copy (`copy_of`) gets ids
    of its own."""
    from tools.demo.materials import DEMO_MATERIALS

    for material in DEMO_MATERIALS:
        chunks = [
            ChunkInput(c.index, c.content, c.section, c.token_count)
            for c in chunk_text(material.text)
        ]
        await store.save_material(
            material_id=_derived(copy_of, material.id) if copy_of else material.id,
            class_id=class_id,
            title=material.title,
            source_type=material.source_type,
            chunks=chunks,
        )
