"""The materials ingest graph's nodes.

Nothing is written until the last node: `store` replaces the material's chunks and marks it
ready (with the extraction's `warnings` and `extraction_stats` in `materials.metadata`) in one
transaction, so a run that fails anywhere leaves the previous chunks untouched.
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
from tools.files import FileMissing, material_file_path
from tools.materials.extract import MaterialMissing, MaterialUnreadable, extract_text
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
    """The material's record, and where its upload is stored."""
    context = await _context(runtime)
    material = await context.store.get_material(state["material_id"])
    if material is None:
        raise MaterialMissing("The material no longer exists.")
    report("load", title=material.title)
    return {
        "class_id": material.class_id,
        "title": material.title,
        "file_name": material.file_name,
        "mime_type": material.mime_type,
        "storage_path": await material_file_path(context.store, material),
    }


async def download(state: IngestState, runtime: Runtime[IngestOptions]) -> dict[str, Any]:
    """The upload's bytes from the file store (Supabase Storage, or the data dir).

    A missing file is unreadable (re-uploading is the fix); a store that cannot be reached or
    refuses the key raises its `FileStoreError`, so the worker retries the job.
    """
    files = (await _context(runtime)).files
    path = state["storage_path"]
    try:
        content = await files.get(path)
    except FileMissing:
        raise MaterialMissing(
            f"The material has no uploaded file to read (nothing is stored at {path});"
            " upload it again."
        ) from None
    report("download", source=files.kind, bytes=len(content))
    return {"content": content}


async def extract(state: IngestState, runtime: Runtime[IngestOptions]) -> dict[str, Any]:
    """Text segments out of the upload (parsing is CPU work: it runs off the event loop)."""
    context = await _context(runtime)
    extracted = await asyncio.to_thread(
        extract_text,
        state.get("content") or b"",
        mime_type=state.get("mime_type"),
        file_name=state.get("file_name"),
        limits=context.extraction,
    )
    report(
        "extract",
        source_type=extracted.source_type,
        characters=len(extracted.text),
        segments=len(extracted.segments),
    )
    segments = [{"kind": s.kind, "index": s.index, "text": s.text} for s in extracted.segments]
    # The bytes are not needed any more; drop them from the state.
    return {
        "segments": segments,
        "source_type": extracted.source_type,
        "warnings": list(extracted.warnings),
        "extraction_stats": extracted.extraction_stats,
        "content": None,
    }


def _chunk_segments(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each segment on its own (a page, a slide, a paragraph block): ~1,000-token chunks with
    ~100 tokens of overlap under their section headings, numbered across the material and
    labelled with the segment they came from."""
    pieces: list[dict[str, Any]] = []
    for segment in segments:
        for c in chunk_text(segment["text"]):
            pieces.append(
                {
                    "index": len(pieces),
                    "section": c.section,
                    "content": c.content,
                    "token_count": c.token_count,
                    "source_kind": segment["kind"],
                    "source_index": segment["index"],
                }
            )
    return pieces


async def chunk(state: IngestState) -> dict[str, Any]:
    """Chunks of every segment, in reading order."""
    pieces = await asyncio.to_thread(_chunk_segments, state.get("segments") or [])
    if not pieces:
        raise MaterialUnreadable("The file has no readable text.")
    report("chunk", chunks=len(pieces))
    return {"pieces": pieces, "chunks": len(pieces), "segments": []}


async def embed_chunks(state: IngestState, runtime: Runtime[IngestOptions]) -> dict[str, Any]:
    """Provider embeddings for every chunk, all from one model, or none at all.

    No provider configured: nothing to store. A provider that fails part-way (the router fell
    back to the offline engine) also stores nothing: the material is still usable (lexical and
    offline dense retrieval), and vectors from two models must never be mixed in one material.
    """
    context = await _context(runtime)
    none: dict[str, Any] = {
        "vectors": None,
        "embedding_model": None,
        "embedding_provider": None,
        "embedded": 0,
    }
    providers = list(context.embedding_providers)
    if not providers:
        return none
    texts = [piece["content"] for piece in state.get("pieces", [])]
    vectors: list[list[float]] = []
    model: str | None = None
    provider: str | None = None
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
        model, provider = reply.model, reply.provider
        vectors.extend(reply.vectors)
    report("embed", embedded=len(vectors), model=model)
    return {
        "vectors": vectors,
        "embedding_model": model,
        "embedding_provider": provider,
        "embedded": len(vectors),
    }


async def store(state: IngestState, runtime: Runtime[IngestOptions]) -> dict[str, Any]:
    """Replace the material's chunks and mark it ready, in one transaction."""
    vectors = state.get("vectors")
    model = state.get("embedding_model")
    # The provider that answered (an OpenRouter model is named `openai/...`: the name alone
    # would say `openai`).
    provider = state.get("embedding_provider")
    chunks = [
        ChunkInput(
            index=piece["index"],
            content=piece["content"],
            section=piece["section"],
            token_count=piece["token_count"],
            embedding=tuple(vectors[i]) if vectors else None,
            embedding_model=model if vectors else None,
            embedding_provider=provider if vectors else None,
            source_kind=piece["source_kind"],
            source_index=piece["source_index"],
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
        warnings=state.get("warnings") or [],
        extraction_stats=state.get("extraction_stats"),
    )
    report("store", chunks=len(chunks))
    return {"status": "ready", "error": None, "pieces": []}
