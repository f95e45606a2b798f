"""What stemgraph uses of the platform's tables, and the start-up check that it is all there
(platform mode: the tables belong to the platform, stemgraph never creates or alters them)."""

from __future__ import annotations

from typing import Any, Final

from psycopg import AsyncConnection

# Every platform table and column stemgraph reads or writes.
USED: Final[dict[str, tuple[str, ...]]] = {
    "profiles": ("id", "display_name", "account_type"),
    "classes": (
        "id",
        "owner_id",
        "title",
        "description",
        "subject",
        "level",
        "join_code",
        "sandbox_id",
    ),
    "enrollments": ("id", "class_id", "user_id", "role", "joined_at"),
    "materials": (
        "id",
        "class_id",
        "uploaded_by",
        "title",
        "storage_path",
        "mime_type",
        "size_bytes",
        "status",
        "metadata",
        "created_at",
    ),
    "material_processing_jobs": (
        "id",
        "material_id",
        "class_id",
        "status",
        "stage",
        "attempts",
        "last_error",
        "locked_at",
        "created_at",
        "updated_at",
    ),
    "material_chunks": (
        "id",
        "material_id",
        "class_id",
        "source_type",
        "source_index",
        "section_title",
        "text",
        "token_count",
        "embedding",
        "embedding_provider",
        "embedding_model",
        "extraction_method",
        "created_at",
    ),
    "blueprints": (
        "id",
        "class_id",
        "version",
        "status",
        "summary",
        "created_by",
        "approved_by",
        "published_by",
        "approved_at",
        "published_at",
        "content_json",
        "content_schema_version",
    ),
    "topics": (
        "id",
        "blueprint_id",
        "title",
        "description",
        "section",
        "sequence",
        "prerequisite_topic_ids",
    ),
    "objectives": ("id", "topic_id", "statement", "level", "created_at"),
    "activities": (
        "id",
        "class_id",
        "blueprint_id",
        "topic_id",
        "type",
        "title",
        "config",
        "status",
        "created_by",
        "created_at",
    ),
    "assignments": ("id", "class_id", "activity_id", "assigned_by", "due_at", "created_at"),
    "assignment_recipients": ("id", "assignment_id", "student_id", "status", "assigned_at"),
    "submissions": ("id", "assignment_id", "student_id", "content", "score", "submitted_at"),
    "class_chat_sessions": (
        "id",
        "class_id",
        "owner_user_id",
        "title",
        "is_pinned",
        "archived_at",
        "last_message_at",
        "created_at",
        "updated_at",
        "sandbox_id",
    ),
    "class_chat_messages": (
        "id",
        "session_id",
        "class_id",
        "author_user_id",
        "author_kind",
        "content",
        "citations",
        "safety",
        "provider",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "latency_ms",
        "created_at",
    ),
    "class_insights_snapshots": ("id", "class_id", "generated_at", "payload"),
    "class_teaching_brief_snapshots": (
        "id",
        "class_id",
        "generated_at",
        "updated_at",
        "status",
        "payload",
        "error_message",
    ),
    "guest_sandboxes": ("id", "user_id", "class_id", "status", "guest_role"),
}


class PlatformSchemaMissing(RuntimeError):
    """The platform's database lacks tables or columns stemgraph uses."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(
            "STEMGRAPH_PLATFORM_DATABASE is set, but the database lacks what stemgraph uses of"
            " the platform's tables (stemgraph never creates them there): " + ", ".join(missing)
        )


async def missing_platform_columns(conn: AsyncConnection[Any]) -> list[str]:
    """`table` or `table.column` for each table and column of `USED` the connection's search
    path does not resolve, in `USED` order."""
    missing: list[str] = []
    for table, columns in USED.items():
        cursor = await conn.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s)"
            " AND a.attnum > 0 AND NOT a.attisdropped",
            (table,),
        )
        present = {str(row[0]) for row in await cursor.fetchall()}
        if not present:
            exists = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
            row = await exists.fetchone()
            if not (row and row[0]):
                missing.append(table)
                continue
        missing.extend(f"{table}.{column}" for column in columns if column not in present)
    return missing


async def check_platform_schema(conn: AsyncConnection[Any]) -> None:
    """Raise `PlatformSchemaMissing` listing everything missing; return when all is there."""
    missing = await missing_platform_columns(conn)
    if missing:
        raise PlatformSchemaMissing(missing)
