"""The rows the store writes are the platform's rows, on both backends: blueprints with their
topics and objectives, jobs with the platform's statuses and stages, chunks with their
embedding model, and what it reads when another writer (the web app) wrote them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tools.files import class_material_path
from tools.store import ChunkInput, Store
from tools.store.classes import topic_row_id


def new_id() -> str:
    return str(uuid.uuid4())


async def a_class(store: Store) -> tuple[str, str]:
    teacher, class_id = new_id(), new_id()
    await store.upsert_profile(teacher, "teacher", "Ada")
    await store.create_class(
        class_id=class_id, owner_id=teacher, title="Optics", join_code=new_id()[:8]
    )
    return class_id, teacher


async def rows(store: Store, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with store.session() as db:
        return [dict(r) for r in await db.query(sql, params)]


BLUEPRINT = {
    "schemaVersion": "v2",
    "summary": "Light and lenses.",
    "topics": [
        {
            "key": "light",
            "title": "Light",
            "sequence": 1,
            "prerequisites": [],
            "objectives": [{"statement": "Describe reflection.", "level": "understand"}],
        },
        {
            "key": "lenses",
            "title": "Lenses",
            "sequence": 2,
            "prerequisites": ["light"],
            "objectives": [
                {"statement": "Draw ray diagrams.", "level": "apply"},
                {"statement": "Compare lenses.", "level": "analyze"},
            ],
        },
    ],
}


async def test_publishing_writes_the_blueprint_its_topics_and_objectives(store: Store) -> None:
    class_id, teacher = await a_class(store)
    first, second = new_id(), new_id()
    await store.publish_blueprint(class_id, first, BLUEPRINT)
    await store.publish_blueprint(class_id, second, {**BLUEPRINT, "summary": "Second."})
    found = await rows(
        store,
        "SELECT id, version, status, summary, created_by, published_by, content_schema_version"
        " FROM blueprints WHERE class_id = :c ORDER BY version",
        c=class_id,
    )
    assert [(str(r["id"]), r["version"], str(r["status"])) for r in found] == [
        (first, 1, "archived"),
        (second, 2, "published"),
    ]
    assert {str(found[1]["created_by"]), str(found[1]["published_by"])} == {teacher}
    assert (found[1]["summary"], found[1]["content_schema_version"]) == ("Second.", "v2")
    topics = await rows(
        store,
        "SELECT id, title, sequence, prerequisite_topic_ids FROM topics WHERE blueprint_id = :b"
        " ORDER BY sequence",
        b=second,
    )
    assert [(str(t["id"]), t["title"]) for t in topics] == [
        (topic_row_id(second, "light"), "Light"),
        (topic_row_id(second, "lenses"), "Lenses"),
    ]
    prerequisites = topics[1]["prerequisite_topic_ids"]
    if isinstance(prerequisites, str):
        prerequisites = json.loads(prerequisites)
    assert [str(p) for p in prerequisites] == [topic_row_id(second, "light")]
    levels = await rows(
        store,
        "SELECT o.level FROM objectives o JOIN topics t ON t.id = o.topic_id"
        " WHERE t.blueprint_id = :b ORDER BY o.level",
        b=second,
    )
    assert [r["level"] for r in levels] == ["analyze", "apply", "understand"]
    assert await store.get_published_blueprint(class_id) == {**BLUEPRINT, "summary": "Second."}


async def test_a_blueprint_without_v2_content_is_read_from_its_rows(store: Store) -> None:
    """As the platform's backend does: `content_json` without a summary and topics falls back
    to the `topics` and `objectives` rows (written here the way the web app writes them)."""
    class_id, teacher = await a_class(store)
    blueprint, topic = new_id(), new_id()
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO blueprints (id, class_id, status, summary, created_by)"
            " VALUES (:b, :c, 'published', 'From rows.', :t)",
            {"b": blueprint, "c": class_id, "t": teacher},
        )
        await db.execute(
            "INSERT INTO topics (id, blueprint_id, title, description, sequence)"
            " VALUES (:id, :b, 'Waves', 'Sound and light.', 1)",
            {"id": topic, "b": blueprint},
        )
        await db.execute(
            "INSERT INTO objectives (topic_id, statement, level)"
            " VALUES (:t, 'Use v = f λ.', 'apply')",
            {"t": topic},
        )
    found = await store.get_published_blueprint(class_id)
    assert found == {
        "summary": "From rows.",
        "topics": [
            {
                "key": topic,
                "title": "Waves",
                "description": "Sound and light.",
                "section": "",
                "sequence": 1,
                "objectives": [{"statement": "Use v = f λ.", "level": "apply"}],
            }
        ],
    }


async def test_jobs_carry_the_platforms_statuses_and_stages(store: Store) -> None:
    class_id, teacher = await a_class(store)
    material = new_id()
    await store.create_material(
        material_id=material,
        class_id=class_id,
        title="Notes",
        source_type="text",
        mime_type="text/plain",
        file_name="my notes (v2).txt",
        # The route stores the file first (tools/files); the row records where, not the bytes.
        storage_path=class_material_path(class_id, material, "my notes (v2).txt"),
        size_bytes=len(b"Light travels at 300 000 km/s."),
        created_by=teacher,
    )
    job, created = await store.enqueue_material_job(material, class_id)
    again, created_again = await store.enqueue_material_job(material, class_id)
    assert (created, created_again, again.id) == (True, False, job.id)

    async def state() -> tuple[str, str, int]:
        (row,) = await rows(
            store,
            "SELECT status, stage, attempts FROM material_processing_jobs WHERE id = :j",
            j=job.id,
        )
        return row["status"], row["stage"], row["attempts"]

    assert await state() == ("pending", "queued", 0)
    claimed, _ = await store.claim_material_jobs(limit=5, worker_id="w", stale_after_seconds=60)
    assert [c.id for c in claimed] == [job.id]
    assert await state() == ("processing", "processing", 1)
    assert await store.fail_material_job(job.id, "boom", retry_in_seconds=0, worker_id="w") == (
        "retry"
    )
    assert await state() == ("retry", "error", 1)
    claimed, _ = await store.claim_material_jobs(limit=5, worker_id="w", stale_after_seconds=60)
    await store.finish_material_job(job.id, worker_id="w")
    assert await state() == ("done", "complete", 2)
    (material_row,) = await rows(
        store,
        "SELECT storage_path, size_bytes, uploaded_by, metadata FROM materials WHERE id = :m",
        m=material,
    )
    assert material_row["storage_path"] == f"classes/{class_id}/{material}/my_notes_v2_.txt"
    assert (material_row["size_bytes"], str(material_row["uploaded_by"])) == (30, teacher)
    metadata = material_row["metadata"]
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    assert (metadata["original_name"], metadata["kind"]) == ("my notes (v2).txt", "text")


async def test_chunks_record_the_embedding_and_its_model(store: Store) -> None:
    class_id, _ = await a_class(store)
    material = new_id()
    vector = tuple(float(i % 7) / 7 for i in range(1536))
    await store.save_material(
        material_id=material,
        class_id=class_id,
        title="Optics",
        source_type="pdf",
        chunks=[
            ChunkInput(
                0, "Light reflects.", "Light", 4, vector, "text-embedding-3-small", "openai"
            ),
            ChunkInput(1, "Lenses refract.", None, 4),
        ],
    )
    found = await rows(
        store,
        "SELECT source_type, source_index, section_title, text, embedding_provider,"
        " embedding_model, extraction_method FROM material_chunks WHERE material_id = :m"
        " ORDER BY source_index",
        m=material,
    )
    assert [tuple(r.values()) for r in found] == [
        ("pdf", 1, "Light", "Light reflects.", "openai", "text-embedding-3-small", "text"),
        ("pdf", 2, None, "Lenses refract.", None, None, "text"),
    ]
    (stored,) = await store.class_embeddings(class_id)
    assert stored.model == "text-embedding-3-small"
    assert max(abs(a - b) for a, b in zip(stored.vector, vector, strict=True)) < 1e-6


async def test_a_teacher_account_claiming_a_sandbox_is_enrolled_as_teacher(store: Store) -> None:
    guest, teacher, sandbox, class_id = new_id(), new_id(), new_id(), new_id()
    await store.upsert_profile(guest, "guest", None)
    await store.upsert_profile(teacher, "teacher", "Ada")
    await store.upsert_sandbox(sandbox, guest, active=True)
    await store.create_class(
        class_id=class_id, owner_id=guest, title="Try", join_code=sandbox[:8], sandbox_id=sandbox
    )
    await store.enroll(class_id, guest, "student")
    summary = await store.claim_sandbox(sandbox, guest, teacher)
    assert (summary.enrollments, summary.classes) == (1, 1)
    assert await store.class_role(class_id, teacher) == "teacher"
    klass = await store.get_class(class_id)
    assert klass is not None and (klass.owner_id, klass.sandbox_id) == (teacher, None)
    found = await store.get_sandbox(sandbox)
    assert found is not None and not found.is_active
