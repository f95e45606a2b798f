"""The materials ingest graph on its own: load → extract → chunk → embed → store."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings

from graphs.materials import IngestContext, graph, ingest_runner
from graphs.shared.runtime_objects import RuntimeObjects
from tests.tools.materials.test_extract import make_pdf
from tests.uploads import upload_material, use_local_file_store
from tools.chunking import chunk_text
from tools.demo import DEMO_CLASS_ID, DEMO_TEACHER_ID
from tools.materials import MaterialUnreadable
from tools.models.embeddings import EMBEDDING_DIMENSIONS
from tools.models.providers import EmbeddingProvider
from tools.store import Store

NOTES = (
    "# Energy\n\nEnergy is measured in joules. Work done equals force times distance.\n\n"
    "## Power\n\nPower is the rate of doing work, measured in watts."
)


class FakeEmbeddings(Embeddings):
    """Unit-ish vectors of the right size; fails on the calls listed in `fail_on` (1-based)."""

    def __init__(self, *, fail_on: tuple[int, ...] = ()) -> None:
        self.calls = 0
        self.batches: list[int] = []
        self.fail_on = fail_on

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.calls in self.fail_on:
            raise ConnectionError("embedding provider unavailable")
        self.batches.append(len(texts))
        return [[float(len(text) % 7 + 1)] + [0.0] * (EMBEDDING_DIMENSIONS - 1) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)


def provider(fake: FakeEmbeddings) -> EmbeddingProvider:
    return EmbeddingProvider("openai", "fake-embed-1536", fake)


async def new_material(
    store: Store,
    content: bytes = NOTES.encode(),
    *,
    mime_type: str | None = "text/markdown",
    file_name: str | None = "energy.md",
) -> tuple[str, str]:
    teacher = str(uuid.uuid4())
    await store.upsert_profile(teacher, "teacher", "Teacher")
    class_id = str(uuid.uuid4())
    await store.create_class(
        class_id=class_id, owner_id=teacher, title="Physics", join_code=uuid.uuid4().hex[:8]
    )
    material_id = str(uuid.uuid4())
    await upload_material(
        store,
        material_id=material_id,
        class_id=class_id,
        title="Energy",
        mime_type=mime_type,
        file_name=file_name,
        content=content,
        created_by=teacher,
    )
    return class_id, material_id


async def run(store: Store, material_id: str, **context: Any) -> dict[str, Any]:
    result = await graph.ainvoke(
        {"material_id": material_id}, context=IngestContext(store=store, **context)
    )
    return dict(result)


@pytest.fixture(autouse=True)
def local_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """The environment's file store for these runs: an empty data dir of the test's own."""
    use_local_file_store(monkeypatch, tmp_path / "data")


def test_the_graph_is_named_and_has_no_checkpointer() -> None:
    assert graph.name == "materials"
    assert graph.checkpointer is None
    nodes = ["__start__", "load", "download", "extract", "chunk", "embed", "store", "__end__"]
    assert list(graph.get_graph().nodes) == nodes


async def test_markdown_is_chunked_and_stored_without_vectors_offline(store: Store) -> None:
    class_id, material_id = await new_material(store)
    result = await run(store, material_id)
    expected = chunk_text(NOTES)
    assert result == {
        "material_id": material_id,
        "status": "ready",
        "chunks": len(expected),
        "embedded": 0,
        "error": None,
        "warnings": [],
        "extraction_stats": {"charCount": len(NOTES), "segmentCount": 1},
    }
    stored = await store.class_chunks(class_id)
    # One paragraph block: every chunk is `paragraph` 1 (index 0), in reading order.
    assert [(c.source_type, c.chunk_index, c.section, c.content) for c in stored] == [
        ("paragraph", 0, c.section, c.content) for c in expected
    ]
    assert len({c.chunk_id for c in stored}) == len(expected) > 1
    assert await store.class_embeddings(class_id) == []
    material = await store.get_material(material_id)
    assert material is not None and (material.status, material.source_type) == ("ready", "markdown")


async def test_provider_embeddings_are_stored_with_their_model(store: Store) -> None:
    class_id, material_id = await new_material(store)
    fake = FakeEmbeddings()
    result = await run(store, material_id, embedding_providers=[provider(fake)])
    assert result["embedded"] == result["chunks"] > 0
    embeddings = await store.class_embeddings(class_id)
    assert len(embeddings) == result["chunks"]
    assert {e.model for e in embeddings} == {"fake-embed-1536"}
    assert all(len(e.vector) == EMBEDDING_DIMENSIONS for e in embeddings)


async def test_long_materials_are_embedded_in_batches_from_one_model(store: Store) -> None:
    paragraph = "Momentum is mass times velocity and is conserved in collisions. " * 60
    text = "\n\n".join(f"# Part {n}\n\n{paragraph}" for n in range(70))
    class_id, material_id = await new_material(store, text.encode())
    fake = FakeEmbeddings()
    result = await run(store, material_id, embedding_providers=[provider(fake)])
    assert result["chunks"] >= 70
    assert fake.batches == [64, result["chunks"] - 64]
    assert len(await store.class_embeddings(class_id)) == result["chunks"]


async def test_a_failing_provider_leaves_the_material_ready_without_vectors(store: Store) -> None:
    class_id, material_id = await new_material(store)
    fake = FakeEmbeddings(fail_on=(1,))
    result = await run(store, material_id, embedding_providers=[provider(fake)])
    assert (result["status"], result["embedded"]) == ("ready", 0)
    assert await store.class_embeddings(class_id) == []
    assert await store.class_chunks(class_id)


async def test_a_provider_failing_part_way_stores_no_mixed_vectors(store: Store) -> None:
    paragraph = "Charge flows as current through a complete circuit. " * 70
    text = "\n\n".join(f"# Part {n}\n\n{paragraph}" for n in range(66))
    class_id, material_id = await new_material(store, text.encode())
    fake = FakeEmbeddings(fail_on=(2,))
    result = await run(store, material_id, embedding_providers=[provider(fake)])
    assert result["chunks"] > 64 and result["embedded"] == 0
    assert await store.class_embeddings(class_id) == []


async def test_a_pdf_material_is_read_page_by_page(store: Store) -> None:
    pdf = make_pdf("Kinetic energy is half m v squared.", "Gravitational potential energy is mgh.")
    class_id, material_id = await new_material(store, pdf, mime_type=None, file_name="energy.pdf")
    result = await run(store, material_id)
    assert result["status"] == "ready"
    hits = await store.search_chunks(class_id, "gravitational potential", limit=3)
    assert hits and "mgh" in hits[0].content
    # `material_chunks.source_type` / `source_index` as the platform's worker writes them.
    assert (hits[0].source_type, hits[0].chunk_index) == ("page", 1)


async def test_an_unreadable_upload_raises_and_stores_nothing(store: Store) -> None:
    class_id, material_id = await new_material(
        store, make_pdf(None), mime_type="application/pdf", file_name="scan.pdf"
    )
    with pytest.raises(MaterialUnreadable, match="no extractable text"):
        await run(store, material_id)
    assert await store.class_chunks(class_id) == []
    material = await store.get_material(material_id)
    assert material is not None and material.status == "pending"  # the worker records failure


async def test_a_missing_material_is_unreadable(store: Store) -> None:
    with pytest.raises(MaterialUnreadable, match="no longer exists"):
        await ingest_runner(IngestContext(store=store))(str(uuid.uuid4()))


async def test_a_material_without_an_upload_is_unreadable(store: Store) -> None:
    class_id, _ = await new_material(store)
    seeded = str(uuid.uuid4())
    await store.save_material(
        material_id=seeded, class_id=class_id, title="Seeded", source_type="markdown", chunks=[]
    )
    with pytest.raises(MaterialUnreadable, match="no uploaded file"):
        await run(store, seeded)


async def test_without_a_context_the_environments_store_is_used(
    environment: RuntimeObjects,
) -> None:
    """As under `langgraph dev`: the data dir's store, with an upload made there."""
    store = await environment.store()
    material = await upload_material(
        store,
        material_id=str(uuid.uuid4()),
        class_id=DEMO_CLASS_ID,
        title="Waves",
        mime_type="text/plain",
        file_name="waves.txt",
        content=b"# Waves\n\nA wave carries energy. Frequency is measured in hertz.",
        created_by=DEMO_TEACHER_ID,
    )
    result = await graph.ainvoke({"material_id": material.id})
    assert result["status"] == "ready" and result["chunks"] >= 1
    assert (environment.environment.data_dir / "stemgraph.sqlite3").is_file()
    with pytest.raises(MaterialUnreadable, match="no longer exists"):
        await graph.ainvoke({"material_id": str(uuid.uuid4())})


async def test_metadata_and_chunk_sources_are_written_as_the_platform_s_worker_does(
    store: Store,
) -> None:
    long_page = "Momentum is mass times velocity and is conserved in collisions. " * 400
    pdf = make_pdf(long_page, None)
    class_id, material_id = await new_material(store, pdf, mime_type=None, file_name="p.pdf")
    result = await run(store, material_id)
    assert result["status"] == "ready" and result["chunks"] > 1
    assert result["warnings"] and "2" in result["warnings"][0]  # page 2 has no text
    async with store.session() as db:
        rows = await db.query(
            "SELECT status, metadata FROM materials WHERE id = :id", {"id": material_id}
        )
        chunks = await db.query(
            "SELECT id, source_type, source_index FROM material_chunks WHERE material_id = :id",
            {"id": material_id},
        )
    metadata = rows[0]["metadata"]
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    assert rows[0]["status"] == "ready"
    assert metadata["warnings"] == result["warnings"]
    assert metadata["extraction_stats"] == result["extraction_stats"]
    assert metadata["extraction_stats"]["segmentCount"] == 1
    # Every chunk of page 1 says so: `source_index` is not unique per material.
    assert {(c["source_type"], c["source_index"]) for c in chunks} == {("page", 1)}
    assert len({str(c["id"]) for c in chunks}) == len(chunks) == result["chunks"]
