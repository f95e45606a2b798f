"""Materials, their processing jobs and their chunks, on the platform's tables.

- `materials`: `status` (pending → processing → ready | failed), `storage_path` by the
  platform's convention, and `metadata` (`kind`, `original_name`, `warnings`, ...).
- `material_processing_jobs`: the platform's statuses (pending, processing, retry, done,
  failed) with `stage` mirroring them (queued, processing, error, complete, failed); stemgraph's
  worker keeps its hold (which worker, retry time, attempt budget) in `stemgraph_job_leases`.
- `material_chunks`: `source_type` / `source_index` (the segment's kind, `page` / `slide` /
  `paragraph`, and its 1-based index, as the platform's worker writes them), `section_title`,
  `text`, the embedding with the provider that made it and its model. A query embedded with
  another model never scores against these vectors.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from tools.clock import now_iso, to_iso, utc_now
from tools.store.base import (
    ChunkHit,
    ChunkInput,
    JobStatus,
    MaterialJob,
    MaterialRecord,
    MaterialStatus,
    StoredEmbedding,
)
from tools.store.core import Row, Session, SqlCore, dumps, loads, unpack_vector
from tools.store.retrieval import (
    EmbeddingSpace,
    QueryEmbedding,
    class_embedding_spaces,
    hybrid_search_sql,
    index_chunks,
    index_missing_chunks,
    pgvector_available,
    vector_write,
)
from tools.text.words import query_terms

logger = logging.getLogger("stemgraph.materials")

# Job status → the stage the platform's worker writes beside it.
STAGE_OF: dict[str, str] = {
    "pending": "queued",
    "processing": "processing",
    "retry": "error",
    "done": "complete",
    "failed": "failed",
}
_ACTIVE = "('pending', 'retry', 'processing')"
_JOB_COLUMNS = (
    "j.id, j.material_id, j.class_id, j.status, j.attempts,"
    " COALESCE(l.max_attempts, 3) AS max_attempts, l.locked_by"
)
_JOB_FROM = "material_processing_jobs j LEFT JOIN stemgraph_job_leases l ON l.job_id = j.id"
_HIT_COLUMNS = (
    "ch.id AS chunk_id, ch.material_id, m.title, ch.source_type, ch.source_index,"
    " ch.section_title, ch.text"
)


def storage_path(class_id: str, material_id: str, file_name: str | None) -> str:
    """The platform's object path: `classes/{class}/{material}/{sanitised file name}`."""
    name = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9._-]", "_", file_name or ""))[:120]
    return f"classes/{class_id}/{material_id}/{name or 'material'}"


def search_terms(query: str, *, max_terms: int = 24) -> list[str]:
    """The query's search terms (`tools.text.words.query_terms`), at most `max_terms` of them."""
    return query_terms(query)[:max_terms]


# A class's chunks in reading order (material by material, page by page), unscored.
_READING_ORDER = (
    f"SELECT {_HIT_COLUMNS}, 0.0 AS score FROM material_chunks ch"
    " JOIN materials m ON m.id = ch.material_id WHERE ch.class_id = :c"
    " ORDER BY m.created_at, m.id, ch.source_index, ch.created_at LIMIT :n"
)


class MaterialsData(SqlCore):
    # Whether pgvector is usable (Postgres, checked by `prepare_retrieval`); None on SQLite.
    pgvector: bool | None = None

    def __init__(self) -> None:
        # Classes whose chunks this process has made sure are indexed for full text.
        self._checked_classes: set[str] = set()

    async def _search(
        self, db: Session, class_id: str, terms: list[str], limit: int
    ) -> Sequence[Row]:
        if self.backend == "sqlite":
            # Quoted terms OR-ed together: FTS5 syntax characters in the query stay literal.
            match = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
            return await db.query(
                f"SELECT {_HIT_COLUMNS}, -bm25(material_chunks_fts, 2.0, 1.0) AS score"
                " FROM material_chunks_fts"
                " JOIN material_chunks ch ON ch.rowid = material_chunks_fts.rowid"
                " JOIN materials m ON m.id = ch.material_id"
                " WHERE material_chunks_fts MATCH :match AND ch.class_id = :c"
                " ORDER BY score DESC, ch.material_id, ch.source_index LIMIT :n",
                {"match": match, "c": class_id, "n": limit},
            )
        # Each term goes through plainto_tsquery so no user text is parsed as tsquery syntax.
        params: dict[str, Any] = {"c": class_id, "n": limit}
        parts = []
        for i, term in enumerate(terms):
            params[f"t{i}"] = term
            parts.append(f"plainto_tsquery('english', :t{i})")
        document = (
            "setweight(to_tsvector('english', coalesce(ch.section_title, '')), 'A')"
            " || setweight(to_tsvector('english', ch.text), 'B')"
        )
        return await db.query(
            f"SELECT {_HIT_COLUMNS}, ts_rank_cd({document}, q) AS score"
            " FROM material_chunks ch JOIN materials m ON m.id = ch.material_id,"
            f" (SELECT {' || '.join(parts)} AS q) query"
            f" WHERE ch.class_id = :c AND ({document}) @@ q"
            " ORDER BY score DESC, ch.material_id, ch.source_index LIMIT :n",
            params,
        )

    async def save_material(
        self,
        *,
        material_id: str,
        class_id: str,
        title: str,
        source_type: str,
        chunks: list[ChunkInput],
        warnings: Sequence[str] = (),
        extraction_stats: Mapping[str, int] | None = None,
    ) -> None:
        """Store the material's chunks and mark it ready with the extraction's `warnings` and
        `extraction_stats` in `metadata`, as the platform's worker does. Replacing the chunks
        and flipping the status happen in one transaction, so a reader never sees a material
        that is "ready" with half of its chunks."""
        metadata = dumps(_base_metadata(source_type, None))
        stats = dict(extraction_stats) if extraction_stats is not None else None
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO materials (id, class_id, title, storage_path, status, metadata)"
                f" VALUES (:id, :c, :t, :path, 'ready', {self.json_param('meta')})"
                " ON CONFLICT (id) DO UPDATE SET title = excluded.title, status = 'ready'",
                {
                    "id": material_id,
                    "c": class_id,
                    "t": title,
                    "path": storage_path(class_id, material_id, None),
                    "meta": metadata,
                },
            )
            await self._update_metadata(
                db,
                material_id,
                kind=source_type,
                warnings=list(warnings),
                extraction_stats=stats
                or {
                    "charCount": sum(len(c.content or "") for c in chunks),
                    "segmentCount": len(chunks),
                },
            )
            await self.write_chunks(db, material_id, class_id, source_type, chunks)

    async def write_chunks(
        self,
        db: Session,
        material_id: str,
        class_id: str,
        source_type: str,
        chunks: Sequence[ChunkInput],
    ) -> None:
        """Replace the material's chunks inside `db`'s transaction (the platform's worker
        deletes them all, then inserts the new set). Chunks are told apart by their own id;
        their order is kept by `created_at`, one microsecond apart, since several chunks of a
        page share its `source_index`."""
        await db.execute("DELETE FROM material_chunks WHERE material_id = :m", {"m": material_id})
        keep_vectors = await self._vector_rule(db, material_id, class_id, chunks)
        start = utc_now()
        for position, chunk in enumerate(chunks):
            vector = chunk.embedding if keep_vectors else None
            await db.execute(
                "INSERT INTO material_chunks (id, material_id, class_id, source_type,"
                " source_index, section_title, text, token_count, embedding,"
                " embedding_provider, embedding_model, extraction_method, created_at)"
                " VALUES (:id, :m, :c, :type, :i, :section, :text, :tokens,"
                f" {self.vector_param('embedding')}, :provider, :model, 'text', :at)",
                {
                    "id": str(uuid.uuid4()),
                    "m": material_id,
                    "c": class_id,
                    "type": chunk.source_kind or source_type,
                    "i": chunk.source_index if chunk.source_index is not None else chunk.index + 1,
                    "section": chunk.section,
                    "text": chunk.content,
                    "tokens": chunk.token_count,
                    "embedding": self.vector_value(vector) if vector else None,
                    "provider": (chunk.embedding_provider or _provider(chunk.embedding_model))
                    if vector
                    else None,
                    "model": chunk.embedding_model if vector else None,
                    "at": to_iso(start + timedelta(microseconds=position)),
                },
            )
        if self.backend == "postgres":
            # The full-text documents of SQL retrieval, in the same transaction as the chunks.
            await index_chunks(db, material_id)

    async def _vector_rule(
        self, db: Session, material_id: str, class_id: str, chunks: Sequence[ChunkInput]
    ) -> bool:
        """One embedding space per class (`vector_write`): whether to store these chunks'
        vectors; clears the class's hashed vectors when a real model's arrive."""
        incoming = next(
            (
                EmbeddingSpace(
                    c.embedding_provider or _provider(c.embedding_model), c.embedding_model
                )
                for c in chunks
                if c.embedding and c.embedding_model
            ),
            None,
        )
        if incoming is None:
            return False
        rule = vector_write(incoming, await class_embedding_spaces(db, class_id))
        if rule.warning:
            logger.warning("material vectors: %s", rule.warning, extra={"material_id": material_id})
        for space in sorted(rule.clear, key=lambda s: (s.model, s.provider or "")):
            await db.execute(
                "UPDATE material_chunks SET embedding = NULL, embedding_provider = NULL,"
                " embedding_model = NULL WHERE class_id = :c AND embedding_model = :model",
                {"c": class_id, "model": space.model},
            )
        return rule.store

    async def prepare_retrieval(self) -> None:
        """At start-up, Postgres: note whether pgvector is usable (logged once when it is not)
        and index for full text the chunks others wrote (the platform's worker, its seed, a
        cloned guest sandbox)."""
        if self.backend != "postgres":
            return
        async with self.transaction() as db:
            self.pgvector = await pgvector_available(db)
            added = await index_missing_chunks(db)
        if not self.pgvector:
            logger.warning("pgvector unavailable: retrieval by full text alone")
        if added:
            logger.info("indexed %d chunks for full-text search", added)

    async def index_class_chunks(self, class_id: str) -> int:
        """Index for full text the class's chunks written by others (after a guest sandbox is
        cloned into it); how many were added. Nothing to do on SQLite (its FTS index is
        kept by triggers)."""
        if self.backend != "postgres":
            return 0
        async with self.transaction() as db:
            return await index_missing_chunks(db, class_id)

    async def ranked_chunks(
        self,
        class_id: str,
        query: str,
        *,
        limit: int,
        query_embedding: QueryEmbedding | None = None,
    ) -> list[ChunkHit] | None:
        """The class's chunks ranked in SQL (Postgres: pgvector + full text fused by reciprocal
        rank, `tools/store/retrieval.py`); None where ranking happens in Python (SQLite)."""
        if self.backend != "postgres":
            return None
        # In a transaction: the search sets the vector index's recall for it alone.
        async with self.transaction() as db:
            if class_id not in self._checked_classes:
                # Chunks written since start-up by someone else (the platform's
                # `clone_guest_sandbox` makes a class with chunks): indexed at the class's
                # first search in this process; stemgraph's own writes index themselves.
                await index_missing_chunks(db, class_id)
            self._checked_classes.add(class_id)
            return await hybrid_search_sql(
                db,
                class_id,
                query,
                pgvector=bool(self.pgvector),
                limit=limit,
                query_embedding=query_embedding,
            )

    async def search_chunks(self, class_id: str, query: str, *, limit: int) -> list[ChunkHit]:
        terms = search_terms(query)
        async with self.session() as db:
            rows = await self._search(db, class_id, terms, limit) if terms else []
            if not rows:
                # No lexical match (or an empty query): fall back to the class's materials in
                # reading order so a generator still has something to ground on.
                rows = await db.query(
                    _READING_ORDER,
                    {"c": class_id, "n": limit},
                )
        return [_hit(row) for row in rows]

    async def class_chunks(self, class_id: str, *, limit: int = 2000) -> list[ChunkHit]:
        """Every chunk of the class in reading order (for in-process dense scoring)."""
        async with self.session() as db:
            rows = await db.query(
                _READING_ORDER,
                {"c": class_id, "n": limit},
            )
        return [_hit(row) for row in rows]

    async def class_embeddings(self, class_id: str) -> list[StoredEmbedding]:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_HIT_COLUMNS}, 0.0 AS score,"
                f" {self.vector_column('ch.embedding')} AS embedding, ch.embedding_model"
                " FROM material_chunks ch JOIN materials m ON m.id = ch.material_id"
                " WHERE ch.class_id = :c AND ch.embedding IS NOT NULL"
                " ORDER BY m.created_at, m.id, ch.source_index, ch.created_at",
                {"c": class_id},
            )
        return [
            StoredEmbedding(
                _hit(row), unpack_vector(row["embedding"]), row["embedding_model"] or ""
            )
            for row in rows
        ]

    async def create_material(
        self,
        *,
        material_id: str,
        class_id: str,
        title: str,
        source_type: str,
        mime_type: str | None,
        file_name: str | None,
        storage_path: str,
        size_bytes: int | None,
        created_by: str | None,
    ) -> MaterialRecord:
        """A new material row (`pending`) for a file already in the file store at
        `storage_path` (the row holds no bytes, as on the platform)."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO materials (id, class_id, uploaded_by, title, storage_path,"
                " mime_type, size_bytes, status, metadata) VALUES (:id, :c, :by, :t, :path,"
                f" :mime, :size, 'pending', {self.json_param('meta')})",
                {
                    "id": material_id,
                    "c": class_id,
                    "by": created_by,
                    "t": title,
                    "path": storage_path,
                    "mime": mime_type,
                    "size": size_bytes,
                    "meta": dumps(_base_metadata(source_type, file_name)),
                },
            )
        return MaterialRecord(
            material_id,
            class_id,
            title,
            source_type,
            "pending",
            None,
            file_name,
            mime_type,
            storage_path,
        )

    async def get_material(self, material_id: str) -> MaterialRecord | None:
        async with self.session() as db:
            rows = await db.query(
                "SELECT id, class_id, title, status, mime_type, storage_path, metadata"
                " FROM materials WHERE id = :id",
                {"id": material_id},
            )
        if not rows:
            return None
        row = rows[0]
        metadata = loads(row["metadata"]) or {}
        warnings = metadata.get("warnings") or []
        return MaterialRecord(
            str(row["id"]),
            str(row["class_id"]),
            row["title"],
            str(metadata.get("kind") or "text"),
            row["status"],
            str(warnings[-1]) if row["status"] == "failed" and warnings else None,
            metadata.get("original_name"),
            row["mime_type"],
            row["storage_path"],
        )

    async def set_material_status(
        self, material_id: str, status: MaterialStatus, *, error: str | None = None
    ) -> None:
        """Set the status; a failure's reason goes to `metadata.warnings`, as the web app
        renders it."""
        async with self.transaction() as db:
            await self._set_status(db, material_id, status, error)

    async def _set_status(
        self, db: Session, material_id: str, status: str, error: str | None
    ) -> None:
        await db.execute(
            "UPDATE materials SET status = :s WHERE id = :id", {"s": status, "id": material_id}
        )
        await self._update_metadata(db, material_id, warnings=[error] if error else [])

    async def _update_metadata(self, db: Session, material_id: str, **values: Any) -> None:
        rows = await db.query(
            f"SELECT metadata FROM materials WHERE id = :id{self.for_update}", {"id": material_id}
        )
        if not rows:
            return
        metadata = dict(loads(rows[0]["metadata"]) or {})
        metadata.update(values)
        await db.execute(
            f"UPDATE materials SET metadata = {self.json_param('meta')} WHERE id = :id",
            {"meta": dumps(metadata), "id": material_id},
        )

    async def enqueue_material_job(
        self, material_id: str, class_id: str, *, max_attempts: int = 3
    ) -> tuple[MaterialJob, bool]:
        """Queue a job for the material, or return the newest one still pending, retrying or
        processing (the platform's `enqueue_material_job`). True when a job was created."""
        now = now_iso()
        params = {"m": material_id, "c": class_id, "max": max_attempts, "now": now}
        async with self.transaction() as db:
            # The material's row lock serialises enqueues of one material (Postgres); SQLite
            # transactions are serial already.
            await db.query(f"SELECT id FROM materials WHERE id = :m{self.for_update}", params)
            existing = await db.query(
                f"SELECT {_JOB_COLUMNS} FROM {_JOB_FROM} WHERE j.material_id = :m"
                f" AND j.class_id = :c AND j.status IN {_ACTIVE}"
                " ORDER BY j.created_at DESC LIMIT 1",
                params,
            )
            if existing:
                return _job(existing[0]), False
            job_id = str(uuid.uuid4())
            await db.execute(
                "INSERT INTO material_processing_jobs (id, material_id, class_id, status,"
                " stage, attempts, created_at, updated_at)"
                " VALUES (:id, :m, :c, 'pending', 'queued', 0, :now, :now)",
                {**params, "id": job_id},
            )
            await db.execute(
                "INSERT INTO stemgraph_job_leases (job_id, run_after, max_attempts)"
                " VALUES (:id, :now, :max)",
                {**params, "id": job_id},
            )
            rows = await db.query(
                f"SELECT {_JOB_COLUMNS} FROM {_JOB_FROM} WHERE j.id = :id", {"id": job_id}
            )
            await db.execute(
                "UPDATE materials SET status = 'pending' WHERE id = :m AND status <> 'processing'",
                params,
            )
            await self._update_metadata(db, material_id, warnings=[])
        return _job(rows[0]), True

    async def claim_material_jobs(
        self, *, limit: int, worker_id: str, stale_after_seconds: float
    ) -> tuple[list[MaterialJob], int]:
        """Recover jobs whose worker went quiet, then take up to `limit` ready jobs.

        Returns the claimed jobs and how many stuck jobs were recovered.
        """
        now = now_iso()
        stale = now_iso(plus_seconds=-stale_after_seconds)
        async with self.transaction() as db:
            stuck = await db.query(
                f"SELECT {_JOB_COLUMNS} FROM {_JOB_FROM}"
                " WHERE j.status = 'processing' AND j.locked_at < :stale"
                + (" FOR UPDATE OF j SKIP LOCKED" if self.backend == "postgres" else ""),
                {"stale": stale},
            )
            for row in stuck:
                spent = int(row["attempts"]) >= int(row["max_attempts"])
                status = "failed" if spent else "retry"
                await self._set_job(
                    db, str(row["id"]), status, "The worker processing this job stopped responding."
                )
                await db.execute(
                    "UPDATE stemgraph_job_leases SET locked_by = NULL, run_after = :now"
                    " WHERE job_id = :id",
                    {"id": row["id"], "now": now},
                )
                if spent:
                    await self._set_status(
                        db,
                        str(row["material_id"]),
                        "failed",
                        "Processing stopped responding too many times.",
                    )
            ready = await db.query(
                f"SELECT j.id FROM {_JOB_FROM} WHERE j.status IN ('pending', 'retry')"
                " AND (l.run_after IS NULL OR l.run_after <= :now)"
                " ORDER BY COALESCE(l.run_after, j.created_at), j.created_at LIMIT :n"
                + (" FOR UPDATE OF j SKIP LOCKED" if self.backend == "postgres" else ""),
                {"now": now, "n": limit},
            )
            claimed: list[MaterialJob] = []
            for row in ready:
                params = {"id": row["id"], "now": now, "w": worker_id}
                await db.execute(
                    "UPDATE material_processing_jobs SET status = 'processing',"
                    " stage = 'processing', attempts = attempts + 1, locked_at = :now,"
                    " last_error = NULL, updated_at = :now WHERE id = :id",
                    params,
                )
                await db.execute(
                    "INSERT INTO stemgraph_job_leases (job_id, locked_by, run_after)"
                    " VALUES (:id, :w, :now) ON CONFLICT (job_id)"
                    " DO UPDATE SET locked_by = excluded.locked_by",
                    params,
                )
                job = await db.query(
                    f"SELECT {_JOB_COLUMNS} FROM {_JOB_FROM} WHERE j.id = :id", params
                )
                claimed.append(_job(job[0]))
                await db.execute(
                    "UPDATE materials SET status = 'processing' WHERE id = :m",
                    {"m": claimed[-1].material_id},
                )
        return claimed, len(stuck)

    async def _set_job(self, db: Session, job_id: str, status: str, error: str | None) -> None:
        await db.execute(
            "UPDATE material_processing_jobs SET status = :s, stage = :stage, locked_at = NULL,"
            " last_error = :e, updated_at = :now WHERE id = :id",
            {"s": status, "stage": STAGE_OF[status], "e": error, "now": now_iso(), "id": job_id},
        )

    async def _held(self, db: Session, job_id: str, worker_id: str | None) -> Row | None:
        """The job's row when `worker_id` (if given) still holds it, locked for the update."""
        owned = " AND l.locked_by = :w" if worker_id else ""
        lock = " FOR UPDATE OF j" if self.backend == "postgres" else ""
        rows = await db.query(
            f"SELECT {_JOB_COLUMNS} FROM {_JOB_FROM} WHERE j.id = :id{owned}{lock}",
            {"id": job_id, "w": worker_id},
        )
        return rows[0] if rows else None

    async def finish_material_job(
        self, job_id: str, *, worker_id: str | None = None, material_failed: str | None = None
    ) -> None:
        """Mark the job done; with `worker_id`, only while that worker still holds it (a
        worker that outlived its lock must not overwrite the recovered job's outcome).

        `material_failed`: the material could not be used (unsupported, no text, too long) —
        as the platform's worker does, the material fails with that warning and the job still
        ends done."""
        async with self.transaction() as db:
            held = await self._held(db, job_id, worker_id)
            if held is None:
                return
            await self._set_job(db, job_id, "done", None)
            await db.execute(
                "UPDATE stemgraph_job_leases SET locked_by = NULL WHERE job_id = :id",
                {"id": job_id},
            )
            if material_failed is not None:
                await self._set_status(db, str(held["material_id"]), "failed", material_failed)

    async def fail_material_job(
        self,
        job_id: str,
        error: str,
        *,
        retry_in_seconds: float | None,
        worker_id: str | None = None,
    ) -> JobStatus:
        """Set the job to `retry` after `retry_in_seconds` while attempts remain, else fail it
        and its material (with `worker_id`: only while that worker still holds the job)."""
        async with self.transaction() as db:
            held = await self._held(db, job_id, worker_id)
            if held is None:
                # Another worker took the job over; its outcome stands.
                current = await db.query(
                    "SELECT status FROM material_processing_jobs WHERE id = :id", {"id": job_id}
                )
                return current[0]["status"] if current else "failed"
            retry = retry_in_seconds is not None and int(held["attempts"]) < int(
                held["max_attempts"]
            )
            status: JobStatus = "retry" if retry else "failed"
            await self._set_job(db, job_id, status, error[:2000])
            await db.execute(
                "UPDATE stemgraph_job_leases SET locked_by = NULL, run_after = :after"
                " WHERE job_id = :id",
                {"after": now_iso(plus_seconds=retry_in_seconds or 0), "id": job_id},
            )
            if status == "failed":
                await self._set_status(db, str(held["material_id"]), "failed", error[:2000])
        return status

    async def get_material_job(self, job_id: str) -> MaterialJob | None:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_JOB_COLUMNS} FROM {_JOB_FROM} WHERE j.id = :id", {"id": job_id}
            )
        return _job(rows[0]) if rows else None


def _base_metadata(kind: str, file_name: str | None) -> dict[str, Any]:
    """`materials.metadata` as the web app first writes it."""
    return {
        "original_name": file_name,
        "kind": kind,
        "warnings": [],
        "extraction_stats": None,
        "page_count": None,
    }


def _provider(model: str | None) -> str | None:
    """The provider part of a `provider:model` or `provider/model` name, when it has one."""
    if not model:
        return None
    for separator in (":", "/"):
        if separator in model:
            return model.split(separator, 1)[0]
    return None


def _job(row: Row) -> MaterialJob:
    return MaterialJob(
        id=str(row["id"]),
        material_id=str(row["material_id"]),
        class_id=str(row["class_id"]),
        status=row["status"],
        attempts=int(row["attempts"]),
        max_attempts=int(row["max_attempts"]),
        locked_by=row["locked_by"],
    )


def _hit(row: Row) -> ChunkHit:
    return ChunkHit(
        material_id=str(row["material_id"]),
        material_title=row["title"],
        source_type=row["source_type"],
        chunk_index=int(row["source_index"]) - 1,
        section=row["section_title"],
        content=row["text"],
        score=float(row["score"]),
        chunk_id=str(row["chunk_id"]),
    )
