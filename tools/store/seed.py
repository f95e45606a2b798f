"""The demo class the embedded default starts with: fixed ids, so every route can be tried."""

from __future__ import annotations

from typing import Final

from tools.chunking import chunk_text
from tools.store.base import ChunkInput, Store
from tools.store.demo_activity import seed_demo_activity
from tools.store.demo_blueprint import DEMO_BLUEPRINT, DEMO_BLUEPRINT_ID
from tools.store.sql import SqlStore

DEMO_CLASS_ID: Final = "c1a55000-0000-4000-8000-000000000001"
DEMO_JOIN_CODE: Final = "PHYS101"
DEMO_TEACHER_ID: Final = "11111111-1111-4111-8111-111111111111"
DEMO_STUDENT_IDS: Final = (
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
)
DEMO_GUEST_ID: Final = "44444444-4444-4444-8444-444444444444"
DEMO_SANDBOX_ID: Final = "55555555-5555-4555-8555-555555555555"


async def seed_demo(store: Store) -> bool:
    """Create the demo class with its people and materials; returns False when already there."""
    from tools.store.demo_materials import DEMO_CLASS_NAME, DEMO_MATERIALS

    if await store.get_class(DEMO_CLASS_ID) is not None:
        return False
    await store.upsert_profile(DEMO_TEACHER_ID, "teacher", "Ada Okafor")
    await store.upsert_profile(DEMO_STUDENT_IDS[0], "student", "Lena Park")
    await store.upsert_profile(DEMO_STUDENT_IDS[1], "student", "Tomás Reyes")
    await store.upsert_profile(DEMO_GUEST_ID, "guest", None)
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
    # The guest tries the product inside the demo class, from their own sandbox.
    await store.enroll(DEMO_CLASS_ID, DEMO_GUEST_ID, "student")
    await store.upsert_sandbox(DEMO_SANDBOX_ID, DEMO_GUEST_ID, active=True)
    for material in DEMO_MATERIALS:
        chunks = [
            ChunkInput(c.index, c.content, c.section, c.token_count)
            for c in chunk_text(material.text)
        ]
        await store.save_material(
            material_id=material.id,
            class_id=DEMO_CLASS_ID,
            title=material.title,
            source_type=material.source_type,
            chunks=chunks,
        )
    await store.publish_blueprint(DEMO_CLASS_ID, DEMO_BLUEPRINT_ID, DEMO_BLUEPRINT)
    if isinstance(store, SqlStore):
        await seed_demo_activity(store, DEMO_CLASS_ID, DEMO_STUDENT_IDS)
    return True
