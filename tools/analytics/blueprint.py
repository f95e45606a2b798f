"""The published blueprint as analytics sees it: its `content_json` with each topic's `key`
replaced by the id of the `topics` row the web app wrote for it, so a blueprint topic and an
insights topic (`topic_id`, a row id) name the same thing."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tools.store.base import Row, Store


def _match(topic: Mapping[str, Any], rows: Sequence[Row], taken: set[str]) -> str | None:
    """The row the web app wrote for `topic`: same sequence and title, else same title, else
    same sequence (a teacher may have renamed it)."""
    free = [r for r in rows if str(r["id"]) not in taken]
    title, sequence = topic.get("title"), topic.get("sequence")
    for same_title, same_sequence in ((True, True), (True, False), (False, True)):
        found = [
            r
            for r in free
            if (not same_title or r["title"] == title)
            and (not same_sequence or r["sequence"] == sequence)
        ]
        if len(found) == 1:
            return str(found[0]["id"])
    return None


def row_keys(content: Mapping[str, Any], rows: Sequence[Row]) -> dict[str, str]:
    """Each blueprint topic key's `topics` row id (topics without a row are left out)."""
    taken: set[str] = set()
    ids: dict[str, str] = {}
    for topic in content.get("topics") or []:
        if not isinstance(topic, Mapping) or not topic.get("key"):
            continue
        row_id = _match(topic, rows, taken)
        if row_id is not None:
            taken.add(row_id)
            ids[str(topic["key"])] = row_id
    return ids


def keyed_by_row(content: Mapping[str, Any], rows: Sequence[Row]) -> dict[str, Any]:
    """`content` with topic keys (and prerequisites) rewritten to `topics` row ids; a topic
    without a row keeps its key."""
    topics = [t for t in content.get("topics") or [] if isinstance(t, Mapping)]
    ids = row_keys(content, rows)
    return {
        **content,
        "topics": [
            {
                **topic,
                "key": ids.get(str(topic.get("key")), topic.get("key")),
                "prerequisites": [ids.get(str(k), k) for k in topic.get("prerequisites") or []],
            }
            for topic in topics
        ],
    }


async def published_rows(store: Store, class_id: str) -> tuple[dict[str, Any], list[Row]] | None:
    """The class's published blueprint's `content_json` and its `topics` rows (id, title,
    sequence; in `sequence` order), or None."""
    async with store.session() as db:
        found = await db.query(
            "SELECT id, content_json FROM blueprints WHERE class_id = :c AND status = 'published'"
            " ORDER BY version DESC LIMIT 1",
            {"c": class_id},
        )
        if not found:
            return None
        rows = await db.query(
            "SELECT id, title, sequence FROM topics WHERE blueprint_id = :b ORDER BY sequence, id",
            {"b": found[0]["id"]},
        )
    content = found[0]["content_json"]
    loaded = json.loads(content) if isinstance(content, str | bytes) else content
    return (dict(loaded) if isinstance(loaded, Mapping) else {}), list(rows)


async def published_blueprint(store: Store, class_id: str) -> dict[str, Any] | None:
    """The class's published blueprint keyed by `topics` row ids, or None."""
    found = await published_rows(store, class_id)
    return None if found is None else keyed_by_row(*found)
