"""Accounts, classes, enrollments and course blueprints, on the platform's tables.

`classes` and `enrollments` rows are written as the platform's backend writes them (the web app
reads them directly): the owner enrolled as `teacher`, joiners as `student`, join codes unique.
A published blueprint is a `blueprints` row with `content_json`, plus its `topics` and
`objectives` rows as the web app writes them.
"""

from __future__ import annotations

import uuid
from typing import Any

from tools.clock import now_iso
from tools.store.base import (
    AccountType,
    ClassRecord,
    ClassRole,
    JoinCodeTaken,
    Participant,
    Profile,
)
from tools.store.core import Row, Session, SqlCore, dumps, is_unique_violation, loads, opt

_CLASS_COLUMNS = "id, owner_id, title, subject, level, join_code, sandbox_id"
_GUEST = (
    "EXISTS (SELECT 1 FROM stemgraph_guest_accounts g"
    " WHERE g.user_id = {user} AND g.upgraded_at IS NULL)"
)


def is_guest_sql(user_column: str) -> str:
    """SQL true when `user_column` is a guest (anonymous, not signed up) account."""
    return _GUEST.format(user=user_column)


def topic_row_id(blueprint_id: str, key: str) -> str:
    """The `topics.id` stemgraph gives a published blueprint's topic `key` (stable per
    blueprint, so activities and analytics can name it)."""
    return str(uuid.uuid5(uuid.UUID(blueprint_id), f"topic:{key}"))


class ClassesData(SqlCore):
    async def upsert_profile(
        self, user_id: str, account_type: AccountType, display_name: str | None
    ) -> None:
        """Create or update a profile. A guest gets a `student` profile (as the platform's
        `clone_guest_sandbox` makes it) and a guest-account row; a guest signing up in place
        stops being a guest (and may become a teacher account)."""
        kind = "student" if account_type == "guest" else account_type
        params = {"id": user_id, "kind": kind, "name": display_name, "now": now_iso()}
        async with self.transaction() as db:
            current = await db.query(
                f"SELECT account_type, {is_guest_sql('p.id')} AS guest FROM profiles p"
                " WHERE p.id = :id",
                params,
            )
            if current and current[0]["account_type"] != kind:
                if not current[0]["guest"]:
                    raise ValueError("a profile's account type never changes")
                # A guest account is upgraded: the platform's trigger keeps account_type
                # immutable, so the anonymous profile is replaced by the account's.
                await db.execute("DELETE FROM profiles WHERE id = :id", params)
                current = []
            if current:
                await db.execute("UPDATE profiles SET display_name = :name WHERE id = :id", params)
            else:
                await db.execute(
                    "INSERT INTO profiles (id, account_type, display_name)"
                    " VALUES (:id, :kind, :name)",
                    params,
                )
            if account_type == "guest":
                await db.execute(
                    "INSERT INTO stemgraph_guest_accounts (user_id) VALUES (:id)"
                    " ON CONFLICT (user_id) DO UPDATE SET upgraded_at = NULL",
                    params,
                )
            else:
                await db.execute(
                    "UPDATE stemgraph_guest_accounts SET upgraded_at = :now"
                    " WHERE user_id = :id AND upgraded_at IS NULL",
                    params,
                )

    async def get_profile(self, user_id: str) -> Profile | None:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT p.id, p.account_type, p.display_name, {is_guest_sql('p.id')} AS guest"
                " FROM profiles p WHERE p.id = :id",
                {"id": user_id},
            )
        if not rows:
            return None
        row = rows[0]
        kind: AccountType = "guest" if row["guest"] else row["account_type"]
        return Profile(str(row["id"]), kind, row["display_name"])

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
        """Create a class with its owner enrolled as its teacher (the platform backend's
        create); a guest sandbox's class (`sandbox_id`) enrolls nobody (its guest joins it as a
        student). Join codes are unique regardless of case (lookups ignore case)."""
        record = ClassRecord(class_id, owner_id, title, subject, level, join_code, sandbox_id)
        try:
            async with self.transaction() as db:
                if await db.query(
                    "SELECT 1 FROM classes WHERE lower(join_code) = lower(:code)",
                    {"code": join_code},
                ):
                    raise JoinCodeTaken(join_code)
                await db.execute(
                    "INSERT INTO classes (id, owner_id, title, subject, level, description,"
                    " join_code, sandbox_id) VALUES (:id, :owner, :title, :subject, :level,"
                    " :description, :code, :sandbox)",
                    {
                        "id": class_id,
                        "owner": owner_id,
                        "title": title,
                        "subject": subject,
                        "level": level,
                        "description": description,
                        "code": join_code,
                        "sandbox": sandbox_id,
                    },
                )
                if sandbox_id is None:
                    await db.execute(
                        "INSERT INTO enrollments (class_id, user_id, role)"
                        " VALUES (:c, :u, 'teacher')"
                        " ON CONFLICT (class_id, user_id) DO UPDATE SET role = excluded.role",
                        {"c": class_id, "u": owner_id},
                    )
        except JoinCodeTaken:
            raise
        except Exception as error:
            if is_unique_violation(error):
                raise JoinCodeTaken(join_code) from None
            raise
        return record

    async def get_class(self, class_id: str) -> ClassRecord | None:
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_CLASS_COLUMNS} FROM classes WHERE id = :id", {"id": class_id}
            )
        return _class(rows[0]) if rows else None

    async def find_class_by_code(self, join_code: str) -> ClassRecord | None:
        # Equality on lower(): the code is never a pattern, so % and _ stay literal.
        async with self.session() as db:
            rows = await db.query(
                f"SELECT {_CLASS_COLUMNS} FROM classes WHERE lower(join_code) = lower(:code)",
                {"code": join_code.strip()},
            )
        return _class(rows[0]) if rows else None

    async def enroll(self, class_id: str, user_id: str, role: ClassRole) -> None:
        """Add a member; an existing enrollment stays as it is (the platform's join)."""
        async with self.transaction() as db:
            await db.execute(
                # Only a new member is inserted: the platform's role trigger runs before a
                # conflict is noticed, and would refuse e.g. a teacher's redundant join.
                "INSERT INTO enrollments (class_id, user_id, role) SELECT :c, :u, :r"
                " WHERE NOT EXISTS (SELECT 1 FROM enrollments"
                " WHERE class_id = :c AND user_id = :u)"
                " ON CONFLICT (class_id, user_id) DO NOTHING",
                {"c": class_id, "u": user_id, "r": role},
            )

    async def class_role(self, class_id: str, user_id: str) -> ClassRole | None:
        async with self.session() as db:
            rows = await db.query(
                "SELECT role FROM enrollments WHERE class_id = :c AND user_id = :u",
                {"c": class_id, "u": user_id},
            )
        if not rows:
            return None
        return "student" if str(rows[0]["role"]) == "student" else "teacher"

    async def list_students(self, class_id: str) -> list[Participant]:
        async with self.session() as db:
            rows = await db.query(
                "SELECT e.user_id, p.display_name FROM enrollments e"
                " LEFT JOIN profiles p ON p.id = e.user_id"
                " WHERE e.class_id = :c AND e.role = 'student'"
                " ORDER BY e.joined_at, e.user_id",
                {"c": class_id},
            )
        return [Participant(str(row["user_id"]), row["display_name"]) for row in rows]

    async def publish_blueprint(
        self, class_id: str, blueprint_id: str, payload: dict[str, Any]
    ) -> None:
        """Publish `payload` (the v2 blueprint) as the class's blueprint: the previous
        published one is archived and the new row, its topics and objectives land together,
        so readers see the old or the new, never none. The class owner is its author."""
        now = now_iso()
        params = {"c": class_id, "id": blueprint_id, "now": now}
        async with self.transaction() as db:
            await db.execute(
                "UPDATE blueprints SET status = 'archived'"
                " WHERE class_id = :c AND status IN ('approved', 'published')",
                params,
            )
            await db.execute(
                "INSERT INTO blueprints (id, class_id, version, status, summary, created_by,"
                " approved_by, published_by, approved_at, published_at, content_json,"
                " content_schema_version)"
                " SELECT :id, c.id, (SELECT COALESCE(MAX(b.version), 0) + 1 FROM blueprints b"
                " WHERE b.class_id = c.id), 'published', :summary, c.owner_id, c.owner_id,"
                f" c.owner_id, :now, :now, {self.json_param('content')}, 'v2'"
                " FROM classes c WHERE c.id = :c",
                {
                    **params,
                    "summary": payload.get("summary")
                    if isinstance(payload.get("summary"), str)
                    else None,
                    "content": dumps(payload),
                },
            )
            await _write_topics(self, db, blueprint_id, payload)

    async def get_published_blueprint(self, class_id: str) -> dict[str, Any] | None:
        """The class's published blueprint: its `content_json` when that holds a summary and
        topics (v2), else one rebuilt from its `topics` and `objectives` rows."""
        async with self.session() as db:
            rows = await db.query(
                "SELECT id, summary, content_json FROM blueprints"
                " WHERE class_id = :c AND status = 'published'"
                " ORDER BY version DESC LIMIT 1",
                {"c": class_id},
            )
            if not rows:
                return None
            content = loads(rows[0]["content_json"]) or {}
            if isinstance(content.get("summary"), str) and isinstance(content.get("topics"), list):
                return dict(content)
            topics = await db.query(
                "SELECT id, title, description, section, sequence FROM topics"
                " WHERE blueprint_id = :b ORDER BY sequence, id",
                {"b": rows[0]["id"]},
            )
            objectives = await db.query(
                "SELECT o.topic_id, o.statement, o.level FROM objectives o"
                " JOIN topics t ON t.id = o.topic_id WHERE t.blueprint_id = :b"
                " ORDER BY o.created_at, o.id",
                {"b": rows[0]["id"]},
            )
        return _rebuilt(rows[0], topics, objectives)


async def _write_topics(
    store: SqlCore, db: Session, blueprint_id: str, payload: dict[str, Any]
) -> None:
    topics = [t for t in payload.get("topics") or [] if isinstance(t, dict) and t.get("key")]
    ids = {str(t["key"]): topic_row_id(blueprint_id, str(t["key"])) for t in topics}
    for n, topic in enumerate(topics):
        prerequisites = [ids[k] for k in topic.get("prerequisites") or [] if k in ids]
        await db.execute(
            "INSERT INTO topics (id, blueprint_id, title, description, section, sequence,"
            " prerequisite_topic_ids) VALUES (:id, :b, :title, :description, :section,"
            f" :sequence, {_id_array(store, 'prerequisites')})",
            {
                "id": ids[str(topic["key"])],
                "b": blueprint_id,
                "title": str(topic.get("title") or topic["key"]),
                "description": topic.get("description"),
                "section": topic.get("section"),
                "sequence": int(topic.get("sequence") or n),
                "prerequisites": prerequisites
                if store.backend == "postgres"
                else dumps(prerequisites),
            },
        )
        for objective in topic.get("objectives") or []:
            if isinstance(objective, dict) and objective.get("statement"):
                await db.execute(
                    "INSERT INTO objectives (id, topic_id, statement, level)"
                    " VALUES (:id, :t, :statement, :level)",
                    {
                        "id": str(uuid.uuid4()),
                        "t": ids[str(topic["key"])],
                        "statement": str(objective["statement"]),
                        "level": objective.get("level"),
                    },
                )


def _id_array(store: SqlCore, name: str) -> str:
    return f"CAST(:{name} AS uuid[])" if store.backend == "postgres" else f":{name}"


def _rebuilt(blueprint: Row, topics: Any, objectives: Any) -> dict[str, Any]:
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for row in objectives:
        by_topic.setdefault(str(row["topic_id"]), []).append(
            {"statement": row["statement"], "level": row["level"]}
        )
    return {
        "summary": blueprint["summary"] or "",
        "topics": [
            {
                "key": str(row["id"]),
                "title": row["title"],
                "description": row["description"] or "",
                "section": row["section"] or "",
                "sequence": int(row["sequence"]),
                "objectives": by_topic.get(str(row["id"]), []),
            }
            for row in topics
        ],
    }


def _class(row: Row) -> ClassRecord:
    return ClassRecord(
        str(row["id"]),
        str(row["owner_id"]),
        row["title"],
        row["subject"],
        row["level"],
        row["join_code"],
        opt(row["sandbox_id"]),
    )
