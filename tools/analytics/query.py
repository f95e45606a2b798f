"""A teacher's data question as an allowlisted, structured query over one class's records.

The model (or the offline parser) only chooses a `DataQuery`. `run_query` reads the class's rows
with SQL made of fixed fragments and bound parameters, always scoped to the class id the server
bound, and aggregates them in Python (so weekly buckets match on SQLite and Postgres).

What the numbers mean:
- Score metrics use each student's best submitted attempt per assignment, in % (0-100, 1 dp).
- `completion_rate`: share of (student, assignment) pairs with a submitted attempt, in %;
  `not_completed_count`: pairs without one (grouped by student, students with none are left out).
- `attempt_count`: every recorded attempt; `submission_count`: submitted attempts (the
  platform records a quiz attempt as a `submissions` row when it is submitted, so the two agree);
  `student_count`: distinct students with a submitted attempt; `chat_messages`: students' messages.
- Dates (`since`/`until`, `week`): the assignment's due date for score and completion metrics,
  the submission time for attempt metrics, the message time for chat.
- `min_score`/`max_score` keep the groups whose average score is in that range (avg_score only).
- `order` ranks by value (ties by label); without it: topics in blueprint order, activities in
  creation order, Bloom levels in taxonomy order, weeks in time (the latest kept), students by
  value, highest first. At most `limit` rows are returned.
- Only student accounts count: a guest trying the class is not one of its students.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tools.clock import parse_iso, to_iso
from tools.store.base import Row, Store
from tools.store.classes import is_guest_sql
from tools.text.words import STOPWORDS, stem, tokens

Metric = Literal[
    "avg_score",
    "completion_rate",
    "attempt_count",
    "submission_count",
    "chat_messages",
    "student_count",
    "not_completed_count",
]
GroupBy = Literal["topic", "activity", "student", "bloom_level", "week", "none"]
Order = Literal["asc", "desc"]
ChartType = Literal["bar", "line", "pie", "scatter"]

METRICS: Final[Mapping[str, str]] = {
    "avg_score": "average of each student's best score per assignment (%)",
    "completion_rate": "share of assigned work that students submitted (%)",
    "attempt_count": "number of quiz attempts, finished or not",
    "submission_count": "number of submitted attempts",
    "chat_messages": "number of messages students sent to the tutor",
    "student_count": "number of students who submitted work",
    "not_completed_count": "number of assignments students have not submitted",
}
GROUPS: Final = ("topic", "activity", "student", "bloom_level", "week", "none")
PERCENT_METRICS: Final = frozenset({"avg_score", "completion_rate"})
BLOOM_LEVELS: Final = ("remember", "understand", "apply", "analyze", "evaluate", "create")
MAX_LABEL: Final = 80


class QueryError(ValueError):
    """The query breaks the allowlist or names nothing in the class; `errors` says how."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class Filters(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str | None = Field(None, min_length=1, max_length=200)
    activity: str | None = Field(None, min_length=1, max_length=200)
    student: str | None = Field(None, min_length=1, max_length=200)
    min_score: float | None = Field(None, ge=0, le=100)
    max_score: float | None = Field(None, ge=0, le=100)
    since: date | None = None
    until: date | None = None


class DataQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: Metric
    group_by: GroupBy = "none"
    filters: Filters = Field(default_factory=Filters)
    order: Order | None = None
    limit: int = Field(8, ge=2, le=8)
    chart_type: ChartType | None = None

    @field_validator("filters", "group_by", mode="before")
    @classmethod
    def _null_is_default(cls, value: Any, info: Any) -> Any:
        if value is None:
            return {} if info.field_name == "filters" else "none"
        return value


@dataclass(frozen=True, slots=True)
class Named:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a class's questions may name: blueprint topics, activities and students."""

    topics: tuple[Named, ...] = ()
    activities: tuple[Named, ...] = ()
    students: tuple[Named, ...] = ()
    # A topic's key (the blueprint's, what questions and the model name) → its `topics.id`,
    # which activities reference.
    topic_rows: Mapping[str, str] = dataclass_field(default_factory=dict)

    def as_dict(self) -> dict[str, list[list[str]]]:
        found = {
            kind: [[n.id, n.name] for n in getattr(self, kind)]
            for kind in ("topics", "activities", "students")
        }
        found["topic_rows"] = [[key, row] for key, row in self.topic_rows.items()]
        return found

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        def named(kind: str) -> tuple[Named, ...]:
            return tuple(Named(str(i), str(n)) for i, n in data.get(kind) or ())

        rows = {str(key): str(row) for key, row in data.get("topic_rows") or ()}
        return cls(named("topics"), named("activities"), named("students"), rows)


def words(text: str) -> list[str]:
    """Accent-free stems of the letter and digit runs: `Newton's laws` -> ["newton", "law"].

    Apostrophes join (`O'Brien` -> "obrien"), so a name reads the same with or without one.
    """
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return [stem(t) for t in tokens(plain.replace("'", ""))]


# Words that name the kind of thing asked about, not which one: added to the stopwords.
_FILLER: Final = STOPWORDS | {"quiz", "topic", "unit", "activity"}


def match_named(value: str, options: Sequence[Named]) -> list[Named]:
    """Options named exactly by `value`, else those whose words hold all of its words."""
    key = words(value)
    exact = [o for o in options if key in (words(o.name), words(o.id))]
    if exact:
        return exact
    wanted = set(key) - _FILLER
    return [o for o in options if wanted and wanted <= set(words(o.name)) | set(words(o.id))]


def _resolve(query: DataQuery, catalog: Catalog) -> tuple[DataQuery, dict[str, str], list[str]]:
    """The query with canonical names (topic key, activity title, student name), the ids to
    bind, and an error for every name the class does not have exactly once."""
    changes: dict[str, str] = {}
    ids: dict[str, str] = {}
    errors: list[str] = []
    for field, options, canonical in (
        ("topic", catalog.topics, "id"),
        ("activity", catalog.activities, "name"),
        ("student", catalog.students, "name"),
    ):
        value = getattr(query.filters, field)
        if value is None:
            continue
        found = match_named(value, options)
        if len(found) == 1:
            changes[field], ids[field] = getattr(found[0], canonical), found[0].id
            continue
        problem = "matches several" if found else "matches no"
        message = f"`filters.{field}`: {value!r} {problem} {field} of this class"
        if field != "student":  # names of students are never listed back to the model
            message += "; use one of: " + ", ".join(n.name for n in (found or options)[:12])
        errors.append(message + ".")
    filters = query.filters.model_copy(update=changes)
    return query.model_copy(update={"filters": filters}), ids, errors


def _consistency(query: DataQuery) -> list[str]:
    f, errors = query.filters, []
    if query.metric != "avg_score" and (f.min_score is not None or f.max_score is not None):
        errors.append("`filters.min_score`/`max_score` apply to the avg_score metric only.")
    if f.min_score is not None and f.max_score is not None and f.min_score > f.max_score:
        errors.append("`filters.min_score` must not be above `filters.max_score`.")
    if f.since and f.until and f.since > f.until:
        errors.append("`filters.since` must not be after `filters.until`.")
    if query.metric == "chat_messages":
        if query.group_by in ("topic", "activity", "bloom_level"):
            errors.append("chat_messages can be grouped by student, week or none only.")
        if f.topic or f.activity:
            errors.append("chat_messages cannot be filtered by topic or activity.")
    if query.metric == "student_count" and query.group_by == "student":
        errors.append("student_count cannot be grouped by student.")
    return errors


def _pydantic_errors(error: ValidationError) -> list[str]:
    found = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "query"
        if item["type"] == "extra_forbidden":
            found.append(f"`{where}` is not an allowed field; remove it.")
        else:
            found.append(f"`{where}`: {item['msg']} (got {item.get('input')!r}).")
    return found


def parse_query(obj: Any, catalog: Catalog | None = None) -> DataQuery:
    """Validate `obj` against the allowlist (and, given the class's catalog, resolve its names);
    raises `QueryError` with every problem found."""
    if isinstance(obj, DataQuery):
        query = obj
    elif isinstance(obj, Mapping):
        try:
            query = DataQuery.model_validate(dict(obj))
        except ValidationError as error:
            raise QueryError(_pydantic_errors(error)) from None
    else:
        raise QueryError(["The query must be a JSON object."])
    errors = _consistency(query)
    if catalog is not None and not errors:
        query, _, errors = _resolve(query, catalog)
    if errors:
        raise QueryError(errors)
    return query


# ---------------------------------------------------------------------------- reading rows

# Students are student enrollments of accounts that are not guests. Rows are the platform's:
# one submission per submitted attempt (0-100 `score`, read as a 0-1 fraction here), an
# activity's Bloom level in `config.bloomLevel`.
_STUDENTS_ONLY: Final = f"NOT {is_guest_sql('e.user_id')}"
_BLOOM: Final = "act.config ->> 'bloomLevel'"
_PAIRS: Final = (
    "SELECT e.user_id AS student_id, act.id AS activity_id, act.topic_id AS topic_id,"
    f" {_BLOOM} AS bloom_level, a.due_at AS at,"
    " b.best AS score, b.done AS done"
    " FROM enrollments e"
    " JOIN assignments a ON a.class_id = e.class_id"
    " JOIN activities act ON act.id = a.activity_id AND act.class_id = a.class_id"
    " LEFT JOIN (SELECT s.assignment_id, s.student_id,"
    " MAX(CAST(s.score AS DOUBLE PRECISION)) / 100 AS best, COUNT(*) AS done"
    " FROM submissions s JOIN assignments sa ON sa.id = s.assignment_id"
    " WHERE sa.class_id = :class_id"
    " GROUP BY s.assignment_id, s.student_id) b"
    " ON b.assignment_id = a.id AND b.student_id = e.user_id"
    f" WHERE e.class_id = :class_id AND e.role = 'student' AND {_STUDENTS_ONLY}"
)
_ATTEMPTS: Final = (
    "SELECT s.student_id AS student_id, act.id AS activity_id, act.topic_id AS topic_id,"
    f" {_BLOOM} AS bloom_level, s.submitted_at AS at, 'submitted' AS status"
    " FROM submissions s"
    " JOIN assignments a ON a.id = s.assignment_id"
    " JOIN enrollments e ON e.class_id = a.class_id AND e.user_id = s.student_id"
    " AND e.role = 'student'"
    " JOIN activities act ON act.id = a.activity_id AND act.class_id = a.class_id"
    f" WHERE a.class_id = :class_id AND {_STUDENTS_ONLY}"
)
_CHAT: Final = (
    "SELECT m.author_user_id AS student_id, m.created_at AS at FROM class_chat_messages m"
    " JOIN enrollments e ON e.class_id = m.class_id AND e.user_id = m.author_user_id"
    " AND e.role = 'student'"
    f" WHERE m.class_id = :class_id AND m.author_kind = 'student' AND {_STUDENTS_ONLY}"
)


def _fragments(topic: str, activity: str, student: str, at: str) -> dict[str, str]:
    """The fixed filter fragments of one family, over its own (constant) column names."""
    return {
        "topic": f" AND {topic} = :topic",
        "activity": f" AND {activity} = :activity",
        "student": f" AND {student} = :student",
        "since": f" AND {at} >= :since",
        "until": f" AND {at} < :until",
    }


# Each metric's base query, and the fragment each bound filter adds to it.
_PAIR_SQL: Final = (_PAIRS, _fragments("act.topic_id", "act.id", "e.user_id", "a.due_at"))
_ATTEMPT_SQL: Final = (
    _ATTEMPTS,
    _fragments("act.topic_id", "act.id", "s.student_id", "s.submitted_at"),
)
# Chat messages have no topic or activity: `_consistency` refuses those filters first.
_CHAT_SQL: Final = (_CHAT, _fragments("NULL", "NULL", "m.author_user_id", "m.created_at"))
_SOURCES: Final[Mapping[str, tuple[str, Mapping[str, str]]]] = {
    "avg_score": _PAIR_SQL,
    "completion_rate": _PAIR_SQL,
    "not_completed_count": _PAIR_SQL,
    "attempt_count": _ATTEMPT_SQL,
    "submission_count": _ATTEMPT_SQL,
    "student_count": _ATTEMPT_SQL,
    "chat_messages": _CHAT_SQL,
}


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


_MEASURES: Final[Mapping[str, Callable[[list[Row]], float | None]]] = {
    "avg_score": lambda rows: _pct(
        sum(float(r["score"]) for r in rows if r["score"] is not None),
        sum(1 for r in rows if r["score"] is not None),
    ),
    "completion_rate": lambda rows: _pct(sum(1 for r in rows if r["done"]), len(rows)),
    "not_completed_count": lambda rows: sum(1 for r in rows if not r["done"]),
    "attempt_count": len,
    "submission_count": lambda rows: sum(1 for r in rows if r["status"] == "submitted"),
    "student_count": lambda rows: len(
        {str(r["student_id"]) for r in rows if r["status"] == "submitted"}
    ),
    "chat_messages": len,
}


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_iso(str(value))


def _group(row: Row, group_by: str, catalog: Catalog) -> tuple[Any, str] | None:
    """The row's (natural sort key, label) in `group_by`; None when it has no such value."""
    if group_by == "none":
        return (0, "Class")
    if group_by == "week":
        moment = _moment(row["at"])
        if moment is None:
            return None
        day = moment.astimezone(UTC).date()
        monday = day - timedelta(days=day.weekday())
        return (monday, f"Week of {monday.isoformat()}")
    value = row[f"{group_by}_id" if group_by != "bloom_level" else "bloom_level"]
    if value is None:
        return None
    value = str(value)
    if group_by == "topic":
        value = {row_id: key for key, row_id in catalog.topic_rows.items()}.get(value, value)
    if group_by == "bloom_level":
        rank = BLOOM_LEVELS.index(value) if value in BLOOM_LEVELS else len(BLOOM_LEVELS)
        return ((rank, value), value.capitalize())
    options = {"topic": catalog.topics, "activity": catalog.activities}.get(
        group_by, catalog.students
    )
    for index, named in enumerate(options):
        if named.id == value:
            return ((index, value), named.name)
    return ((len(options), value), value if group_by == "topic" else f"Unnamed ({value[:8]})")


def _label(text: str, taken: set[str]) -> str:
    """A label of at most `MAX_LABEL` characters that no other row has (`Sam Lee (2)`)."""
    label = text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"
    base, number = label[: MAX_LABEL - 5], 1
    while label.casefold() in taken:
        number += 1
        label = f"{base} ({number})"
    taken.add(label.casefold())
    return label


def _ordered(query: DataQuery, items: list[tuple[Any, str, float]]) -> list[tuple[str, float]]:
    if query.order is not None:
        sign = 1 if query.order == "asc" else -1
        items.sort(key=lambda i: (sign * i[2], i[1].casefold()))
    elif query.group_by == "student":
        items.sort(key=lambda i: (-i[2], i[1].casefold()))
    else:
        items.sort(key=lambda i: i[0])
        if query.group_by == "week":
            items = items[-query.limit :]
    return [(label, value) for _, label, value in items[: query.limit]]


def _display_name(name: str | None, student_id: str) -> str:
    """A student's name in charts and questions. Without one, a label made of no word a
    question uses: a fallback such as "Student 1a2b3c4d" would be "named" by every question
    about students ("average score by student") and narrow it to that one student."""
    return " ".join((name or "").split()) or f"Unnamed ({student_id[:8]})"


async def load_catalog(store: Store, class_id: str) -> Catalog:
    """The class's topics (published blueprint, then any other topic an activity names),
    activities and students, in their natural order. A topic is named by its blueprint key;
    `topic_rows` maps it to the `topics` row activities reference (matched by title)."""
    blueprint = await store.get_published_blueprint(class_id) or {}
    topics = [
        Named(str(t["key"]), str(t.get("title") or t["key"]))
        for t in blueprint.get("topics") or ()
        if isinstance(t, dict) and t.get("key")
    ]
    params = {"class_id": class_id}
    async with store.session() as db:
        topic_rows = await db.query(
            "SELECT t.id, t.title FROM topics t JOIN blueprints b ON b.id = t.blueprint_id"
            " WHERE b.class_id = :class_id AND b.status = 'published'",
            params,
        )
        activities = await db.query(
            "SELECT act.id, act.title, act.topic_id, t.title AS topic_title FROM activities act"
            " LEFT JOIN topics t ON t.id = act.topic_id WHERE act.class_id = :class_id"
            " ORDER BY act.created_at, act.title",
            params,
        )
        students = await db.query(
            "SELECT e.user_id AS id, p.display_name AS name FROM enrollments e"
            " LEFT JOIN profiles p ON p.id = e.user_id"
            f" WHERE e.class_id = :class_id AND e.role = 'student' AND {_STUDENTS_ONLY}",
            params,
        )
    row_of_title = {str(r["title"]): str(r["id"]) for r in topic_rows}
    rows = {t.id: row_of_title.get(t.name, t.id) for t in topics}
    people = [Named(str(r["id"]), _display_name(r["name"], str(r["id"]))) for r in students]
    known = {t.id for t in topics}
    known_rows = set(rows.values())
    for row in activities:
        topic = str(row["topic_id"]) if row["topic_id"] is not None else None
        if topic and topic not in known and topic not in known_rows:
            known.add(topic)
            topics.append(Named(topic, str(row["topic_title"] or topic)))
    return Catalog(
        tuple(topics),
        tuple(Named(str(r["id"]), str(r["title"])) for r in activities),
        # Sorted here, not by the database's collation, so both backends agree.
        tuple(sorted(people, key=lambda n: (n.name.casefold(), n.id))),
        rows,
    )


def _bounds(since: date | None, until: date | None) -> Iterable[tuple[str, str]]:
    if since is not None:
        yield "since", to_iso(datetime.combine(since, time(), UTC))
    if until is not None:
        yield "until", to_iso(datetime.combine(until + timedelta(days=1), time(), UTC))


async def run_query(
    store: Store, class_id: str, query: DataQuery, *, catalog: Catalog | None = None
) -> list[tuple[str, float]]:
    """`(label, value)` rows answering `query` from class `class_id` only; [] when nothing does
    (including a name the class does not have)."""
    if catalog is None:
        catalog = await load_catalog(store, class_id)
    query, ids, errors = _resolve(query, catalog)
    if errors or _consistency(query):
        return []
    base, fragments = _SOURCES[query.metric]
    params: dict[str, Any] = {"class_id": class_id, **ids}
    if "topic" in params:
        params["topic"] = catalog.topic_rows.get(params["topic"], params["topic"])
    params.update(_bounds(query.filters.since, query.filters.until))
    sql = base + "".join(fragments[name] for name in fragments if name in params)
    async with store.session() as db:
        rows = await db.query(sql, params)
    groups: dict[str, tuple[Any, str, list[Row]]] = {}
    for row in rows:
        found = _group(row, query.group_by, catalog)
        if found is not None:
            groups.setdefault(repr(found[0]), (found[0], found[1], []))[2].append(row)
    items: list[tuple[Any, str, float]] = []
    taken: set[str] = set()
    low, high = query.filters.min_score, query.filters.max_score
    # Labels are made unique in the natural order, so the same rows always get the same ones.
    for sort_key, label, members in sorted(groups.values(), key=lambda group: group[0]):
        value = _MEASURES[query.metric](members)
        if value is None or (low is not None and value < low):
            continue
        if (high is not None and value > high) or (
            query.metric == "not_completed_count" and query.group_by == "student" and not value
        ):
            continue
        items.append((sort_key, _label(label, taken), value))
    return _ordered(query, items)
