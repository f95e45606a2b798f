"""The materials ingest graph's nodes.

Nothing is written until the last node: `store` replaces the material's chunks and marks it
ready in one transaction, so a run that fails anywhere leaves the previous chunks untouched.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from langgraph.runtime import Runtime

from graphs.materials.context import IngestContext, IngestOptions
from graphs.materials.state import IngestState
from graphs.shared.progress import report
from graphs.shared.runtime_objects import runtime_objects
from tools.chunking import chunk_text
from tools.materials.extract import MaterialUnreadable, extract_text
from tools.models.offline import OFFLINE_PROVIDER
from tools.models.router import Deadline, embed
from tools.store.base import ChunkInput

logger = logging.getLogger("stemgraph.materials")

EMBED_BATCH = 64


async def _context(runtime: Runtime[IngestOptions]) -> IngestContext:
    """The caller's `IngestContext`, or one with the environment's store and providers."""
    context = runtime.context
    if isinstance(context, IngestContext):
        return context
    options = context if isinstance(context, IngestOptions) else IngestOptions()
    objects = runtime_objects()
    return IngestContext(
        timeout_ms=options.timeout_ms,
        store=await objects.store(),
        embedding_providers=list(objects.embedding_providers()),
        extraction=objects.environment.extraction_limits,
    )


async def load(state: IngestState, runtime: Runtime[IngestOptions]) -> dict[str, Any]:
    """The material's record and uploaded bytes."""
    context = await _context(runtime)
    material = await context.store.get_material(state["material_id"])
    if material is None:
        raise MaterialUnreadable("The material no longer exists.")
    if material.content is None:
        raise MaterialUnreadable("The material has no uploaded file to read.")
    report("load", bytes=len(material.content))
    return {
        "class_id": material.class_id,
        "title": material.title,
        "file_name": material.file_name,
        "mime_type": material.mime_type,
        "content": material.content,
    }


async def extract(state: IngestState, runtime: Runtime[IngestOptions]) -> dict[str, Any]:
    """Text out of the upload (PDF parsing is CPU work: it runs off the event loop)."""
    context = await _context(runtime)
    extracted = await asyncio.to_thread(
        extract_text,
        state.get("content") or b"",
        mime_type=state.get("mime_type"),
        file_name=state.get("file_name"),
        limits=context.extraction,
    )
    report("extract", source_type=extracted.source_type, characters=len(extracted.text))
    # The bytes are not needed any more; drop them from the state.
    return {"text": extracted.text, "source_type": extracted.source_type, "content": None}


async def chunk(state: IngestState) -> dict[str, Any]:
    """~1,000-token chunks with ~100 tokens of overlap, under their section headings."""
    chunks = await asyncio.to_thread(chunk_text, state.get("text") or "")
    if not chunks:
        raise MaterialUnreadable("The file has no readable text.")
    report("chunk", chunks=len(chunks))
    pieces = [
        {"index": c.index, "section": c.section, "content": c.content, "token_count": c.token_count}
        for c in chunks
    ]
    return {"pieces": pieces, "chunks": len(pieces), "text": ""}


async def embed_chunks(state: IngestState, runtime: Runtime[IngestOptions]) -> dict[str, Any]:
    """Provider embeddings for every chunk, all from one model, or none at all.

    No provider configured: nothing to store. A provider that fails part-way (the router fell
    back to the offline engine) also stores nothing: the material is still usable (lexical and
    offline dense retrieval), and vectors from two models must never be mixed in one material.
    """
    context = await _context(runtime)
    none: dict[str, Any] = {"vectors": None, "embedding_model": None, "embedded": 0}
    providers = list(context.embedding_providers)
    if not providers:
        return none
    texts = [piece["content"] for piece in state.get("pieces", [])]
    vectors: list[list[float]] = []
    model: str | None = None
    for start in range(0, len(texts), EMBED_BATCH):
        reply = await embed(
            texts[start : start + EMBED_BATCH],
            providers,
            deadline=Deadline.after_ms(context.embedding_timeout_ms()),
        )
        if reply.provider == OFFLINE_PROVIDER:
            detail = "; ".join(f"{a.provider}: {a.message}" for a in reply.attempts)
            logger.warning(
                "material embeddings unavailable; storing chunks without vectors",
                extra={"material_id": state["material_id"], "attempts": detail},
            )
            return none
        # Later batches must come from the same provider and model as the first.
        providers = [p for p in providers if (p.name, p.model) == (reply.provider, reply.model)]
        model = reply.model
        vectors.extend(reply.vectors)
    report("embed", embedded=len(vectors), model=model)
    return {"vectors": vectors, "embedding_model": model, "embedded": len(vectors)}


async def store(state: IngestState, runtime: Runtime[IngestOptions]) -> dict[str, Any]:
    """Replace the material's chunks and mark it ready, in one transaction."""
    vectors = state.get("vectors")
    model = state.get("embedding_model")
    chunks = [
        ChunkInput(
            index=piece["index"],
            content=piece["content"],
            section=piece["section"],
            token_count=piece["token_count"],
            embedding=tuple(vectors[i]) if vectors else None,
            embedding_model=model if vectors else None,
        )
        for i, piece in enumerate(state.get("pieces", []))
    ]
    context = await _context(runtime)
    await context.store.save_material(
        material_id=state["material_id"],
        class_id=state["class_id"],
        title=state["title"],
        source_type=state["source_type"],
        chunks=chunks,
    )
    report("store", chunks=len(chunks))
    return {"status": "ready", "error": None, "pieces": []}
