"""Store logic shared by both SQL backends; each supplies its connection and its search SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

from tools.store.base import (
    AccountType,
    ChunkHit,
    ChunkInput,
    ClassRecord,
    ClassRole,
    Profile,
    Sandbox,
)

Row = Mapping[str, Any]
Params = Mapping[str, Any]


class Session(Protocol):
    """One connection (inside or outside a transaction) speaking `:name` parameters."""

    async def query(self, sql: str, params: Params | None = None) -> Sequence[Row]: ...

    async def execute(self, sql: str, params: Params | None = None) -> None: ...


class SqlStore:
    """Queries written once in the SQL both SQLite 3.35+ and Postgres accept."""

    backend: Literal["sqlite", "postgres"]

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
    ) -> ClassRecord:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO classes (id, owner_id, title, subject, level, description, join_code)"
                " VALUES (:id, :owner, :title, :subject, :level, :description, :code)",
                {
                    "id": class_id,
                    "owner": owner_id,
                    "title": title,
                    "subject": subject,
                    "level": level,
                    "description": description,
                    "code": join_code,
                },
            )
            await db.execute(
                "INSERT INTO enrollments (class_id, user_id, role) VALUES (:c, :u, 'teacher')"
                " ON CONFLICT (class_id, user_id) DO NOTHING",
                {"c": class_id, "u": owner_id},
            )
        return ClassRecord(class_id, owner_id, title, subject, level, join_code)

    async def get_class(self, class_id: str) -> ClassRecord | None:
        async with self.session() as db:
            rows = await db.query(
                "SELECT id, owner_id, title, subject, level, join_code FROM classes WHERE id = :id",
                {"id": class_id},
            )
        if not rows:
            return None
        row = rows[0]
        return ClassRecord(
            str(row["id"]),
            str(row["owner_id"]),
            row["title"],
            row["subject"],
            row["level"],
            row["join_code"],
        )

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
                    "INSERT INTO material_chunks"
                    " (material_id, class_id, chunk_index, section, content, token_count)"
                    " VALUES (:m, :c, :i, :section, :content, :tokens)",
                    {
                        "m": material_id,
                        "c": class_id,
                        "i": chunk.index,
                        "section": chunk.section,
                        "content": chunk.content,
                        "tokens": chunk.token_count,
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
                    " WHERE ch.class_id = :c AND m.status = 'ready'"
                    " ORDER BY m.created_at, m.id, ch.chunk_index LIMIT :n",
                    {"c": class_id, "n": limit},
                )
        return [
            ChunkHit(
                material_id=str(row["material_id"]),
                material_title=row["title"],
                source_type=row["source_type"],
                chunk_index=int(row["chunk_index"]),
                section=row["section"],
                content=row["content"],
                score=float(row["score"]),
            )
            for row in rows
        ]

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


_STOPWORD_TEXT = (
    "a an and are as at be by for from how in is it of on or that the this to was what when"
    " where which who why with does do did can you your about into than then there these"
    " those its their they we our i me my please explain tell"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def search_terms(query: str, *, max_terms: int = 24) -> list[str]:
    """Lower-case alphanumeric words worth searching for, without stopwords or duplicates."""
    words: list[str] = []
    current: list[str] = []
    for char in query.casefold() + " ":
        if char.isalnum():
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    seen: dict[str, None] = {}
    for word in words:
        if (len(word) > 1 or word.isdigit()) and word not in _STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)[:max_terms]
