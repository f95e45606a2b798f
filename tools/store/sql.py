"""Store logic shared by both SQL backends; each supplies its connection and its search SQL."""

from __future__ import annotations

import json
import struct
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

from tools.clock import normalise_iso, now_iso
from tools.store.base import (
    AccountType,
    ChatMessage,
    ChatSession,
    ChunkHit,
    ChunkInput,
    ClaimSummary,
    ClassRecord,
    ClassRole,
    JobStatus,
    JoinCodeTaken,
    MaterialJob,
    MaterialRecord,
    MaterialStatus,
    Participant,
    Profile,
    Sandbox,
    StoredEmbedding,
)
from tools.text.words import query_terms

Row = Mapping[str, Any]
Params = Mapping[str, Any]


class Session(Protocol):
    """One connection (inside or outside a transaction) speaking `:name` parameters."""

    async def query(self, sql: str, params: Params | None = None) -> Sequence[Row]: ...

    async def execute(self, sql: str, params: Params | None = None) -> None: ...


class SqlStore:
    """Queries written once in the SQL both SQLite 3.35+ and Postgres accept."""

    backend: Literal["sqlite", "postgres"]

    def __init__(self) -> None:
        # Session leases this process holds: token → the expiry currently written in the row.
        self._lease_expiries: dict[str, tuple[str, ...]] = {}

    def session(self) -> AbstractAsyncContextManager[Session]:
        """A connection for a few reads (autocommit)."""
        raise NotImplementedError

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        """A connection inside one transaction: everything in it lands, or nothing does."""
        raise NotImplementedError

    async def _search(
        self, db: Session, class_id: str, terms: list[str], limit: int
    ) -> Sequence[Row]:
        raise NotImplementedError

    async def ping(self) -> None:
        async with self.session() as db:
            await db.query("SELECT 1 AS ok")

    async def upsert_profile(
        self, user_id: str, account_type: AccountType, display_name: str | None
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO profiles (id, account_type, display_name) VALUES (:id, :kind, :name)"
                " ON CONFLICT (id) DO UPDATE SET account_type = excluded.account_type,"
                " display_name = excluded.display_name",
                {"id": user_id, "kind": account_type, "name": display_name},
            )

    async def get_profile(self, user_id: str) -> Profile | None:
        async with self.session() as db:
            rows = await db.query(
                "SELECT id, account_type, display_name FROM profiles WHERE id = :id",
                {"id": user_id},
            )
        if not rows:
            return None
        row = rows[0]
        return Profile(str(row["id"]), row["account_type"], row["display_name"])

    async def create_class(
        self,
        *,
        class_id: str,
        owner_id: str,
        title: str,
        join_code: str,
        subject: str | None = None,
        level: str | None = None,
        description: str | None = None,
        sandbox_id: str | None = None,
    ) -> ClassRecord:
        """Create a class with its owner enrolled as its teacher; a guest sandbox's class
        (`sandbox_id`) enrolls nobody (its guest joins it as a student, see `seed.py`)."""
        record = ClassRecord(class_id, owner_id, title, subject, level, join_code, sandbox_id)
        try:
            await self._insert_class(record, description)
        except Exception as error:
            if _is_unique_violation(error):
                raise JoinCodeTaken(join_code) from None
            raise
        return record

    async def _insert_class(self, record: ClassRecord, description: str | None) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO classes (id, owner_id, title, subject, level, description, join_code,"
                " sandbox_id) VALUES (:id, :owner, :title, :subject, :level, :description, :code,"
                " :sandbox)",
                {
                    "id": record.id,
                    "owner": record.owner_id,
                    "title": record.title,
                    "subject": record.subject,
                    "level": record.level,
                    "description": description,
                    "code": record.join_code,
                    "sandbox": record.sandbox_id,
                },
            )
            if record.sandbox_id is None:
                await db.execute(
                    "INSERT INTO enrollments (class_id, user_id, role) VALUES (:c, :u, 'teacher')"
                    " ON CONFLICT (class_id, user_id) DO NOTHING",
                    {"c": record.id, "u": record.owner_id},
                )

    async def get_class(self, class_id: str) -> ClassRecord | None:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_CLASS_COLUMNS} FROM classes WHERE id = :id",
                {"id": class_id},
            )
        return _class(rows[0]) if rows else None

    async def enroll(self, class_id: str, user_id: str, role: ClassRole) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO enrollments (class_id, user_id, role) VALUES (:c, :u, :r)"
                " ON CONFLICT (class_id, user_id) DO NOTHING",
                {"c": class_id, "u": user_id, "r": role},
            )

    async def class_role(self, class_id: str, user_id: str) -> ClassRole | None:
        async with self.session() as db:
            rows = await db.query(
                "SELECT role FROM enrollments WHERE class_id = :c AND user_id = :u",
                {"c": class_id, "u": user_id},
            )
        return rows[0]["role"] if rows else None

    async def save_material(
        self,
        *,
        material_id: str,
        class_id: str,
        title: str,
        source_type: str,
        chunks: list[ChunkInput],
    ) -> None:
        # Replacing chunks and flipping the status happen in one transaction so a reader never
        # sees a material that is "ready" with half of its chunks.
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO materials (id, class_id, title, source_type, status)"
                " VALUES (:id, :c, :t, :s, 'ready')"
                " ON CONFLICT (id) DO UPDATE SET title = excluded.title,"
                " source_type = excluded.source_type, status = 'ready'",
                {"id": material_id, "c": class_id, "t": title, "s": source_type},
            )
            await db.execute(
                "DELETE FROM material_chunks WHERE material_id = :m", {"m": material_id}
            )
            for chunk in chunks:
                await db.execute(
                    "INSERT INTO material_chunks (material_id, class_id, chunk_index, section,"
                    " content, token_count, embedding, embedding_model)"
                    " VALUES (:m, :c, :i, :section, :content, :tokens, :embedding, :model)",
                    {
                        "m": material_id,
                        "c": class_id,
                        "i": chunk.index,
                        "section": chunk.section,
                        "content": chunk.content,
                        "tokens": chunk.token_count,
                        "embedding": pack_vector(chunk.embedding) if chunk.embedding else None,
                        "model": chunk.embedding_model if chunk.embedding else None,
                    },
                )

    async def search_chunks(self, class_id: str, query: str, *, limit: int) -> list[ChunkHit]:
        terms = search_terms(query)
        async with self.session() as db:
            if terms:
                rows = await self._search(db, class_id, terms, limit)
            else:
                rows = []
            if not rows:
                # No lexical match (or an empty query): fall back to the class's materials in
                # reading order so a generator still has something to ground on.
                rows = await db.query(
                    "SELECT ch.material_id, m.title, m.source_type, ch.chunk_index, ch.section,"
                    " ch.content, 0.0 AS score FROM material_chunks ch"
                    " JOIN materials m ON m.id = ch.material_id"
                    " WHERE ch.class_id = :c"
                    " ORDER BY m.created_at, m.id, ch.chunk_index LIMIT :n",
                    {"c": class_id, "n": limit},
                )
        return [_hit(row) for row in rows]

    async def class_chunks(self, class_id: str, *, limit: int = 2000) -> list[ChunkHit]:
        """Every ready chunk of the class in reading order (for in-process dense scoring)."""
        async with self.session() as db:
            rows = await db.query(
                "SELECT ch.material_id, m.title, m.source_type, ch.chunk_index, ch.section,"
                " ch.content, 0.0 AS score FROM material_chunks ch"
                " JOIN materials m ON m.id = ch.material_id"
                " WHERE ch.class_id = :c"
                " ORDER BY m.created_at, m.id, ch.chunk_index LIMIT :n",
                {"c": class_id, "n": limit},
            )
        return [_hit(row) for row in rows]

    async def create_material(
        self,
        *,
        material_id: str,
        class_id: str,
        title: str,
        source_type: str,
        mime_type: str | None,
        file_name: str | None,
        content: bytes,
        created_by: str | None,
    ) -> MaterialRecord:
        now = now_iso()
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO materials (id, class_id, title, source_type, status, file_name,"
                " mime_type, content, created_by, created_at, updated_at) VALUES (:id, :c, :t,"
                " :s, 'pending', :f, :mime, :content, :by, :now, :now)",
                {
                    "id": material_id,
                    "c": class_id,
                    "t": title,
                    "s": source_type,
                    "f": file_name,
                    "mime": mime_type,
                    "content": content,
                    "by": created_by,
                    "now": now,
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
            content,
        )

    async def get_material(self, material_id: str) -> MaterialRecord | None:
        async with self.session() as db:
            rows = await db.query(
                "SELECT id, class_id, title, source_type, status, error, file_name, mime_type,"
                " content FROM materials WHERE id = :id",
                {"id": material_id},
            )
        if not rows:
            return None
        row = rows[0]
        content = row["content"]
        return MaterialRecord(
            str(row["id"]),
            str(row["class_id"]),
            row["title"],
            row["source_type"],
            row["status"],
            row["error"],
            row["file_name"],
            row["mime_type"],
            bytes(content) if content is not None else None,
        )

    async def set_material_status(
        self, material_id: str, status: MaterialStatus, *, error: str | None = None
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE materials SET status = :s, error = :e, updated_at = :now WHERE id = :id",
                {"s": status, "e": error, "now": now_iso(), "id": material_id},
            )

    async def enqueue_material_job(
        self, material_id: str, class_id: str, *, max_attempts: int = 3
    ) -> tuple[MaterialJob, bool]:
        """Queue a job for the material, or return the one already queued or running."""
        now = now_iso()
        async with self.transaction() as db:
            created = await db.query(
                f"INSERT INTO material_jobs (id, material_id, class_id, status, attempts,"
                " max_attempts, run_after, created_at, updated_at) VALUES (:id, :m, :c,"
                " 'queued', 0, :max, :now, :now, :now) ON CONFLICT (material_id)"
                f" WHERE status IN ('queued', 'running') DO NOTHING RETURNING {_JOB_COLUMNS}",
                {
                    "id": str(uuid.uuid4()),
                    "m": material_id,
                    "c": class_id,
                    "max": max_attempts,
                    "now": now,
                },
            )
            if created:
                await db.execute(
                    "UPDATE materials SET status = 'pending', error = NULL, updated_at = :now"
                    " WHERE id = :m AND status <> 'processing'",
                    {"m": material_id, "now": now},
                )
                return _job(created[0]), True
            existing = await db.query(
                f"SELECT {_JOB_COLUMNS} FROM material_jobs WHERE material_id = :m"
                " AND status IN ('queued', 'running')",
                {"m": material_id},
            )
        return _job(existing[0]), False

    async def claim_material_jobs(
        self, *, limit: int, worker_id: str, stale_after_seconds: float
    ) -> tuple[list[MaterialJob], int]:
        """Recover jobs whose worker went quiet, then take up to `limit` ready jobs.

        Returns the claimed jobs and how many stuck jobs were recovered.
        """
        now = now_iso()
        stale = now_iso(plus_seconds=-stale_after_seconds)
        async with self.transaction() as db:
            recovered = await db.query(
                "UPDATE material_jobs SET status = CASE WHEN attempts >= max_attempts"
                " THEN 'failed' ELSE 'queued' END, locked_at = NULL, locked_by = NULL,"
                " last_error = 'The worker processing this job stopped responding.',"
                " updated_at = :now WHERE status = 'running' AND locked_at < :stale"
                " RETURNING id, material_id, status",
                {"now": now, "stale": stale},
            )
            for row in recovered:
                if row["status"] == "failed":
                    await db.execute(
                        "UPDATE materials SET status = 'failed', error = :e, updated_at = :now"
                        " WHERE id = :m",
                        {
                            "e": "Processing stopped responding too many times.",
                            "now": now,
                            "m": row["material_id"],
                        },
                    )
            rows = await db.query(self._claim_sql(), {"now": now, "w": worker_id, "n": limit})
            claimed = [_job(row) for row in rows]
            for job in claimed:
                await db.execute(
                    "UPDATE materials SET status = 'processing', updated_at = :now WHERE id = :m",
                    {"now": now, "m": job.material_id},
                )
        return claimed, len(recovered)

    def _claim_sql(self) -> str:
        return (
            "UPDATE material_jobs SET status = 'running', locked_at = :now, locked_by = :w,"
            " attempts = attempts + 1, updated_at = :now WHERE id IN (SELECT id FROM"
            " material_jobs WHERE status = 'queued' AND run_after <= :now"
            f" ORDER BY run_after, created_at LIMIT :n{self._skip_locked})"
            f" RETURNING {_JOB_COLUMNS}"
        )

    _skip_locked = ""

    async def finish_material_job(self, job_id: str, *, worker_id: str | None = None) -> None:
        """Mark the job done; with `worker_id`, only while that worker still holds it (a
        worker that outlived its lock must not overwrite the recovered job's outcome)."""
        owned = " AND locked_by = :w" if worker_id else ""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE material_jobs SET status = 'succeeded', locked_at = NULL,"
                f" last_error = NULL, updated_at = :now WHERE id = :id{owned}",
                {"now": now_iso(), "id": job_id, "w": worker_id},
            )

    async def fail_material_job(
        self,
        job_id: str,
        error: str,
        *,
        retry_in_seconds: float | None,
        worker_id: str | None = None,
    ) -> JobStatus:
        """Requeue the job after `retry_in_seconds` while attempts remain, else fail it (with
        `worker_id`: only while that worker still holds the job)."""
        owned = " AND locked_by = :w" if worker_id else ""
        async with self.transaction() as db:
            rows = await db.query(
                "UPDATE material_jobs SET status = CASE WHEN :retry = 1 AND attempts <"
                " max_attempts THEN 'queued' ELSE 'failed' END, run_after = :after,"
                " locked_at = NULL, locked_by = NULL, last_error = :e, updated_at = :now"
                f" WHERE id = :id{owned} RETURNING status, material_id",
                {
                    "w": worker_id,
                    "retry": 1 if retry_in_seconds is not None else 0,
                    "after": now_iso(plus_seconds=retry_in_seconds or 0),
                    "e": error[:2000],
                    "now": now_iso(),
                    "id": job_id,
                },
            )
            if not rows:
                # Another worker took the job over; its outcome stands.
                current = await db.query(
                    "SELECT status FROM material_jobs WHERE id = :id", {"id": job_id}
                )
                return current[0]["status"] if current else "failed"
            status: JobStatus = rows[0]["status"]
            if status == "failed":
                await db.execute(
                    "UPDATE materials SET status = 'failed', error = :e, updated_at = :now"
                    " WHERE id = :m",
                    {"e": error[:2000], "now": now_iso(), "m": rows[0]["material_id"]},
                )
        return status

    async def get_material_job(self, job_id: str) -> MaterialJob | None:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_JOB_COLUMNS} FROM material_jobs WHERE id = :id", {"id": job_id}
            )
        return _job(rows[0]) if rows else None

    async def class_embeddings(self, class_id: str) -> list[StoredEmbedding]:
        async with self.session() as db:
            rows = await db.query(
                "SELECT ch.material_id, m.title, m.source_type, ch.chunk_index, ch.section,"
                " ch.content, 0.0 AS score, ch.embedding, ch.embedding_model"
                " FROM material_chunks ch JOIN materials m ON m.id = ch.material_id"
                " WHERE ch.class_id = :c AND ch.embedding IS NOT NULL"
                " ORDER BY m.created_at, m.id, ch.chunk_index",
                {"c": class_id},
            )
        return [
            StoredEmbedding(
                _hit(row), unpack_vector(bytes(row["embedding"])), row["embedding_model"] or ""
            )
            for row in rows
        ]

    async def record_generation(
        self,
        *,
        kind: str,
        payload: dict[str, Any],
        provider: str,
        model: str,
        class_id: str | None,
        user_id: str | None,
        sandbox_id: str | None,
    ) -> str:
        generation_id = str(uuid.uuid4())
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO generations (id, kind, class_id, user_id, sandbox_id, payload,"
                " provider, model, created_at) VALUES (:id, :k, :c, :u, :sb, :p, :prov, :m,"
                " :now)",
                {
                    "id": generation_id,
                    "k": kind,
                    "c": class_id,
                    "u": user_id,
                    "sb": sandbox_id,
                    "p": json.dumps(payload),
                    "prov": provider,
                    "m": model,
                    "now": now_iso(),
                },
            )
        return generation_id

    async def find_class_by_code(self, join_code: str) -> ClassRecord | None:
        # Equality on lower(): the code is never a pattern, so % and _ stay literal.
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_CLASS_COLUMNS} FROM classes WHERE lower(join_code) = lower(:code)",
                {"code": join_code.strip()},
            )
        return _class(rows[0]) if rows else None

    async def claim_sandbox(
        self, sandbox_id: str, guest_user_id: str, user_id: str
    ) -> ClaimSummary:
        """Move the guest's own rows in a sandbox to `user_id`, in one transaction.

        What moves: the guest's chat sessions and messages, the generations the guest made
        (never rows other users tagged with the sandbox), the guest's enrollments in the
        sandbox's classes (as a student), and the sandbox's classes themselves, which leave the
        sandbox (the guest's ownership passes to the account). `user_id` may be the guest's own
        id (an anonymous user upgraded in place keeps it): then the rows stay where they are
        and only leave the sandbox. Raises LookupError (and changes nothing) when the sandbox
        is not the guest's active sandbox or the account has no profile. Who may claim is
        decided before this is called (`server/access.py:claimant`).
        """
        params = {"sb": sandbox_id, "g": guest_user_id, "u": user_id}
        async with self.transaction() as db:
            sandbox = await db.query(
                "SELECT id FROM guest_sandboxes WHERE id = :sb AND owner_user_id = :g"
                " AND status = 'active'",
                params,
            )
            if not sandbox:
                raise LookupError("sandbox")
            if not await db.query("SELECT id FROM profiles WHERE id = :u", params):
                raise LookupError("profile")
            sessions = await db.query(
                "UPDATE chat_sessions SET owner_user_id = :u, sandbox_id = NULL"
                " WHERE owner_user_id = :g AND (sandbox_id = :sb OR sandbox_id IS NULL)"
                " RETURNING id",
                params,
            )
            messages = await db.query(
                "UPDATE chat_messages SET author_user_id = :u WHERE author_user_id = :g"
                " RETURNING id",
                params,
            )
            generations = await db.query(
                "UPDATE generations SET user_id = :u, sandbox_id = NULL WHERE user_id = :g"
                " RETURNING id",
                params,
            )
            in_sandbox = "class_id IN (SELECT id FROM classes WHERE sandbox_id = :sb)"
            if user_id == guest_user_id:
                enrollments = await db.query(
                    f"SELECT class_id FROM enrollments WHERE user_id = :g AND {in_sandbox}",
                    params,
                )
            else:
                enrollments = await db.query(
                    "INSERT INTO enrollments (class_id, user_id, role) SELECT class_id, :u,"
                    f" 'student' FROM enrollments WHERE user_id = :g AND {in_sandbox}"
                    " ON CONFLICT (class_id, user_id) DO NOTHING RETURNING class_id",
                    params,
                )
                await db.execute(
                    f"DELETE FROM enrollments WHERE user_id = :g AND {in_sandbox}", params
                )
            classes = await db.query(
                "UPDATE classes SET sandbox_id = NULL, owner_id = CASE WHEN owner_id = :g"
                " THEN :u ELSE owner_id END WHERE sandbox_id = :sb RETURNING id",
                params,
            )
            await db.execute(
                "UPDATE guest_sandboxes SET status = 'claimed', claimed_by = :u WHERE id = :sb",
                params,
            )
        return ClaimSummary(
            len(sessions), len(messages), len(generations), len(enrollments), len(classes)
        )

    async def upsert_sandbox(self, sandbox_id: str, owner_user_id: str, *, active: bool) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO guest_sandboxes (id, owner_user_id, status) VALUES (:id, :o, :s)"
                " ON CONFLICT (id) DO UPDATE SET owner_user_id = excluded.owner_user_id,"
                " status = excluded.status",
                {"id": sandbox_id, "o": owner_user_id, "s": "active" if active else "expired"},
            )

    async def get_sandbox(self, sandbox_id: str) -> Sandbox | None:
        async with self.session() as db:
            rows = await db.query(
                "SELECT id, owner_user_id, status FROM guest_sandboxes WHERE id = :id",
                {"id": sandbox_id},
            )
        if not rows:
            return None
        row = rows[0]
        return Sandbox(str(row["id"]), str(row["owner_user_id"]), row["status"] == "active")

    async def list_students(self, class_id: str) -> list[Participant]:
        async with self.session() as db:
            rows = await db.query(
                "SELECT e.user_id, p.display_name FROM enrollments e"
                " LEFT JOIN profiles p ON p.id = e.user_id"
                " WHERE e.class_id = :c AND e.role = 'student'"
                " ORDER BY e.created_at, e.user_id",
                {"c": class_id},
            )
        return [Participant(str(row["user_id"]), row["display_name"]) for row in rows]

    async def publish_blueprint(
        self, class_id: str, blueprint_id: str, payload: dict[str, Any]
    ) -> None:
        # Archive-then-insert in one transaction: readers see the old or the new, never none.
        async with self.transaction() as db:
            await db.execute(
                "UPDATE class_blueprints SET status = 'archived'"
                " WHERE class_id = :c AND status = 'published'",
                {"c": class_id},
            )
            await db.execute(
                "INSERT INTO class_blueprints (id, class_id, status, payload, published_at)"
                " VALUES (:id, :c, 'published', :payload, :now)",
                {
                    "id": blueprint_id,
                    "c": class_id,
                    "payload": json.dumps(payload),
                    "now": now_iso(),
                },
            )

    async def get_published_blueprint(self, class_id: str) -> dict[str, Any] | None:
        async with self.session() as db:
            rows = await db.query(
                "SELECT payload FROM class_blueprints WHERE class_id = :c AND status = 'published'",
                {"c": class_id},
            )
        if not rows:
            return None
        payload = rows[0]["payload"]
        loaded = json.loads(payload) if isinstance(payload, str) else payload
        return dict(loaded)

    async def create_session(
        self,
        *,
        session_id: str,
        class_id: str,
        owner_user_id: str,
        title: str,
        sandbox_id: str | None = None,
    ) -> ChatSession:
        now = now_iso()
        # `last_message_at` starts at creation: the web app sorts sessions by it and types it
        # as a string, so a session without messages must still carry one.
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO chat_sessions (id, class_id, owner_user_id, sandbox_id, title,"
                " last_message_at, created_at, updated_at)"
                " VALUES (:id, :c, :o, :sb, :t, :now, :now, :now)",
                {
                    "id": session_id,
                    "c": class_id,
                    "o": owner_user_id,
                    "sb": sandbox_id,
                    "t": title,
                    "now": now,
                },
            )
        return ChatSession(
            session_id, class_id, owner_user_id, title, False, None, now, now, now, sandbox_id
        )

    async def get_session(self, session_id: str) -> ChatSession | None:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_SESSION_COLUMNS} FROM chat_sessions WHERE id = :id", {"id": session_id}
            )
        return _session(rows[0]) if rows else None

    async def list_sessions(
        self, class_id: str, owner_user_id: str, *, limit: int = 100
    ) -> list[ChatSession]:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_SESSION_COLUMNS} FROM chat_sessions"
                " WHERE class_id = :c AND owner_user_id = :o AND archived_at IS NULL"
                " ORDER BY is_pinned DESC, COALESCE(last_message_at, created_at) DESC,"
                " created_at DESC, id"
                " LIMIT :n",
                {"c": class_id, "o": owner_user_id, "n": limit},
            )
        return [_session(row) for row in rows]

    async def rename_session(self, session_id: str, title: str) -> ChatSession | None:
        async with self.transaction() as db:
            await db.execute(
                "UPDATE chat_sessions SET title = :t, updated_at = :now WHERE id = :id",
                {"t": title, "now": now_iso(), "id": session_id},
            )
            rows = await db.query(
                f"SELECT {_SESSION_COLUMNS} FROM chat_sessions WHERE id = :id", {"id": session_id}
            )
        return _session(rows[0]) if rows else None

    async def archive_session(self, session_id: str) -> bool:
        """Hide the session from listings; its messages stay (nothing is deleted)."""
        now = now_iso()
        async with self.transaction() as db:
            rows = await db.query(
                "UPDATE chat_sessions SET archived_at = COALESCE(archived_at, :now),"
                " updated_at = :now WHERE id = :id RETURNING id",
                {"now": now, "id": session_id},
            )
        return bool(rows)

    async def list_messages(
        self, session_id: str, *, before: tuple[str, str] | None, limit: int
    ) -> tuple[list[ChatMessage], bool]:
        """One page, oldest first, of the messages strictly before the keyset `before`."""
        params: dict[str, Any] = {"s": session_id, "n": limit + 1}
        where = "session_id = :s"
        if before is not None:
            params.update(bt=before[0], bi=before[1])
            where += " AND (created_at < :bt OR (created_at = :bt AND id < :bi))"
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_MESSAGE_COLUMNS} FROM chat_messages WHERE {where}"
                " ORDER BY created_at DESC, id DESC LIMIT :n",
                params,
            )
        has_more = len(rows) > limit
        page = [_message(row) for row in rows[:limit]]
        page.reverse()
        return page, has_more

    async def session_messages(self, session_id: str) -> list[ChatMessage]:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_MESSAGE_COLUMNS} FROM chat_messages WHERE session_id = :s"
                " ORDER BY created_at, id",
                {"s": session_id},
            )
        return [_message(row) for row in rows]

    async def append_messages(self, session_id: str, messages: list[ChatMessage]) -> None:
        """Store an exchange and bump the session's activity, all or nothing."""
        if not messages:
            return
        async with self.transaction() as db:
            for m in messages:
                await db.execute(
                    f"INSERT INTO chat_messages ({_MESSAGE_COLUMNS}) VALUES (:id, :session_id,"
                    " :class_id, :author_user_id, :author_kind, :content, :citations, :safety,"
                    " :provider, :model, :prompt_tokens, :completion_tokens, :total_tokens,"
                    " :latency_ms, :created_at)",
                    {
                        "id": m.id,
                        "session_id": m.session_id,
                        "class_id": m.class_id,
                        "author_user_id": m.author_user_id,
                        "author_kind": m.author_kind,
                        "content": m.content,
                        "citations": json.dumps([dict(c) for c in m.citations]),
                        "safety": m.safety,
                        "provider": m.provider,
                        "model": m.model,
                        "prompt_tokens": m.prompt_tokens,
                        "completion_tokens": m.completion_tokens,
                        "total_tokens": m.total_tokens,
                        "latency_ms": m.latency_ms,
                        "created_at": m.created_at,
                    },
                )
            await db.execute(
                "UPDATE chat_sessions SET last_message_at = :t, updated_at = :t WHERE id = :id",
                {"t": messages[-1].created_at, "id": session_id},
            )

    async def acquire_session(self, session_id: str, *, hold_seconds: float) -> str | None:
        """Take the session's send lease for `hold_seconds`; None while another send holds it.

        The lease is a row update, so it holds across server processes, and it expires by
        itself if its holder dies. Its holder keeps it with `renew_session` while the send
        runs, so the lease can be short and a killed process frees the session soon.
        """
        until = now_iso(plus_seconds=hold_seconds)
        async with self.transaction() as db:
            rows = await db.query(
                "UPDATE chat_sessions SET busy_until = :until"
                " WHERE id = :id AND (busy_until IS NULL OR busy_until < :now) RETURNING id",
                {"until": until, "now": now_iso(), "id": session_id},
            )
        if not rows:
            return None
        # The row's expiry identifies the lease; the token stays the same through renewals.
        token = str(uuid.uuid4())
        self._lease_expiries[token] = (until,)
        return token

    async def renew_session(self, session_id: str, token: str, *, hold_seconds: float) -> bool:
        """Extend a held lease to `hold_seconds` from now. False when another send holds the
        session now (this lease expired and was taken); True once it was released."""
        written = self._lease_expiries.get(token)
        if written is None:
            return True
        held = written[-1]
        until = now_iso(plus_seconds=hold_seconds)
        # Until the write is known to have landed the row may hold either value: a release
        # meanwhile clears both (see `release_session`).
        self._lease_expiries[token] = (held, until)
        async with self.transaction() as db:
            rows = await db.query(
                "UPDATE chat_sessions SET busy_until = :until"
                " WHERE id = :id AND busy_until = :held RETURNING id",
                {"until": until, "held": held, "id": session_id},
            )
        if token not in self._lease_expiries:
            return True  # released while renewing
        if not rows:
            del self._lease_expiries[token]
            return False
        self._lease_expiries[token] = (until,)
        return True

    async def release_session(self, session_id: str, token: str) -> None:
        written = self._lease_expiries.pop(token, None)
        if written is None:
            return
        async with self.transaction() as db:
            await db.execute(
                "UPDATE chat_sessions SET busy_until = NULL"
                " WHERE id = :id AND busy_until IN (:first, :last)",
                {"id": session_id, "first": written[0], "last": written[-1]},
            )


_CLASS_COLUMNS = "id, owner_id, title, subject, level, join_code, sandbox_id"


def _class(row: Row) -> ClassRecord:
    return ClassRecord(
        str(row["id"]),
        str(row["owner_id"]),
        row["title"],
        row["subject"],
        row["level"],
        row["join_code"],
        _opt(row["sandbox_id"]),
    )


_JOB_COLUMNS = "id, material_id, class_id, status, attempts, max_attempts, locked_by"


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


def pack_vector(vector: tuple[float, ...] | list[float]) -> bytes:
    """float32 little-endian: 6 KB for a 1536-d embedding."""
    return struct.pack(f"<{len(vector)}f", *vector)


def unpack_vector(blob: bytes) -> tuple[float, ...]:
    return struct.unpack(f"<{len(blob) // 4}f", blob)


_SESSION_COLUMNS = (
    "id, class_id, owner_user_id, sandbox_id, title, is_pinned, archived_at, last_message_at,"
    " created_at, updated_at"
)
_MESSAGE_COLUMNS = (
    "id, session_id, class_id, author_user_id, author_kind, content, citations, safety, provider,"
    " model, prompt_tokens, completion_tokens, total_tokens, latency_ms, created_at"
)


def _is_unique_violation(error: Exception) -> bool:
    # sqlite3 and psycopg name it differently; both carry the SQLSTATE-like signal in text/code.
    if getattr(error, "sqlstate", None) == "23505":
        return True
    return type(error).__name__ == "IntegrityError" and "UNIQUE" in str(error).upper()


def _hit(row: Row) -> ChunkHit:
    return ChunkHit(
        material_id=str(row["material_id"]),
        material_title=row["title"],
        source_type=row["source_type"],
        chunk_index=int(row["chunk_index"]),
        section=row["section"],
        content=row["content"],
        score=float(row["score"]),
    )


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _session(row: Row) -> ChatSession:
    return ChatSession(
        id=str(row["id"]),
        class_id=str(row["class_id"]),
        owner_user_id=str(row["owner_user_id"]),
        title=row["title"],
        is_pinned=bool(row["is_pinned"]),
        archived_at=normalise_iso(row["archived_at"]),
        # Rows written before sessions started with `last_message_at` have NULL there: their
        # activity began at creation.
        last_message_at=normalise_iso(row["last_message_at"] or row["created_at"]) or "",
        created_at=normalise_iso(row["created_at"]) or "",
        updated_at=normalise_iso(row["updated_at"]) or "",
        sandbox_id=_opt(row["sandbox_id"]),
    )


def _message(row: Row) -> ChatMessage:
    citations = row["citations"]
    if isinstance(citations, str):
        citations = json.loads(citations)
    return ChatMessage(
        id=str(row["id"]),
        session_id=str(row["session_id"]),
        class_id=str(row["class_id"]),
        author_user_id=_opt(row["author_user_id"]),
        author_kind=row["author_kind"],
        content=row["content"],
        created_at=normalise_iso(row["created_at"]) or "",
        citations=tuple(dict(c) for c in citations or ()),
        safety=row["safety"],
        provider=row["provider"],
        model=row["model"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        total_tokens=row["total_tokens"],
        latency_ms=row["latency_ms"],
    )


def search_terms(query: str, *, max_terms: int = 24) -> list[str]:
    """The query's search terms (`tools.text.words.query_terms`), at most `max_terms` of them."""
    return query_terms(query)[:max_terms]
