"""A teacher's data question as an allowlisted, structured query over one class's records.

The model (or the offline parser) only chooses a `DataQuery`. `run_query` reads the class's rows
with SQL made of fixed fragments and bound parameters, always scoped to the class id the server
bound, and aggregates them in Python (so weekly buckets match on SQLite and Postgres).

What the numbers mean (over the platform's rows; see `tools/analytics/classwork.py`):
- Activities are the class's published ones, of every type (quizzes, flashcards, chat).
- Score metrics use each student's best scored submission per assignment (`score` is already
  0-100), in % (1 dp).
- `completion_rate`: share of (recipient, assignment) pairs whose recipient status is
  `submitted` or `reviewed`, in %; `not_completed_count`: the other pairs (grouped by student,
  students with none are left out). Pairs come from `assignment_recipients`: a student enrolled
  after an assignment was made is not judged on it.
- `attempt_count`: quiz attempts (`content.mode` `quiz_attempt`); `submission_count`: every
  submission (quiz attempts, flashcard sessions, chat assignments); `student_count`: distinct
  students with a submission; `chat_messages`: students' messages to the tutor.
- Topics are named by their blueprint key (what questions and the model use) and read through
  their `topics` rows: the published blueprint's first (in `sequence` order), then any other
  topic a published activity is on (named by its row id). An activity's Bloom levels are its
  topic's objectives' levels, so a `bloom_level` group holds the work on every topic with an
  objective at that level.
- Dates (`since`/`until`, `week`): the assignment's due date for score and completion metrics,
  the submission time for attempt metrics, the message time for chat.
- `min_score`/`max_score` keep the groups whose average score is in that range (avg_score only).
- `order` ranks by value (ties by label); without it: topics in blueprint order, activities in
  creation order, Bloom levels in taxonomy order, weeks in time (the latest kept), students by
  value, highest first. At most `limit` rows are returned.
- Only students count: a guest trying the class is not one of its students.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tools.analytics.blueprint import published_rows, row_keys
from tools.analytics.classwork import COMPLETE, is_quiz_attempt
from tools.analytics.loading import NOT_GUEST
from tools.clock import parse_iso, to_iso
from tools.store.base import Row, Store
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
    "completion_rate": "share of assigned work that students completed (%)",
    "attempt_count": "number of quiz attempts",
    "submission_count": "number of submissions of any kind of work",
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
    # A topic's id here (its blueprint key, what questions and the model name) -> the id of its
    # `topics` row, which activities reference; a topic outside the blueprint is its row id.
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

_PAIRS: Final = (
    "SELECT r.student_id AS student_id, act.id AS activity_id, act.topic_id AS topic_id,"
    " a.due_at AS at, b.best AS score, r.status AS recipient_status"
    " FROM assignment_recipients r"
    " JOIN assignments a ON a.id = r.assignment_id"
    " JOIN activities act ON act.id = a.activity_id AND act.class_id = a.class_id"
    " JOIN enrollments e ON e.class_id = a.class_id AND e.user_id = r.student_id"
    " AND e.role = 'student'"
    " LEFT JOIN (SELECT s.assignment_id, s.student_id, MAX(s.score) AS best"
    " FROM submissions s JOIN assignments sa ON sa.id = s.assignment_id"
    " WHERE sa.class_id = :class_id GROUP BY s.assignment_id, s.student_id) b"
    " ON b.assignment_id = a.id AND b.student_id = r.student_id"
    f" WHERE a.class_id = :class_id AND act.status = 'published' AND {NOT_GUEST}"
)
_ATTEMPTS: Final = (
    "SELECT s.student_id AS student_id, act.id AS activity_id, act.topic_id AS topic_id,"
    " s.submitted_at AS at, s.content AS content"
    " FROM submissions s"
    " JOIN assignments a ON a.id = s.assignment_id"
    " JOIN activities act ON act.id = a.activity_id AND act.class_id = a.class_id"
    " JOIN enrollments e ON e.class_id = a.class_id AND e.user_id = s.student_id"
    " AND e.role = 'student'"
    f" WHERE a.class_id = :class_id AND act.status = 'published' AND {NOT_GUEST}"
)
_CHAT: Final = (
    "SELECT m.author_user_id AS student_id, m.created_at AS at FROM class_chat_messages m"
    " JOIN enrollments e ON e.class_id = m.class_id AND e.user_id = m.author_user_id"
    " AND e.role = 'student'"
    f" WHERE m.class_id = :class_id AND m.author_kind = 'student' AND {NOT_GUEST}"
)
# The Bloom levels of the published blueprint's topics.
_LEVELS: Final = (
    "SELECT o.topic_id, o.level FROM objectives o JOIN topics t ON t.id = o.topic_id"
    " JOIN blueprints b ON b.id = t.blueprint_id"
    " WHERE b.class_id = :class_id AND b.status = 'published'"
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
_PAIR_SQL: Final = (_PAIRS, _fragments("act.topic_id", "act.id", "r.student_id", "a.due_at"))
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


def _mean_score(rows: list[Row]) -> float | None:
    scores = [float(r["score"]) for r in rows if r["score"] is not None]
    return round(sum(scores) / len(scores), 1) if scores else None


def _done(row: Row) -> bool:
    return str(row["recipient_status"]) in COMPLETE


_MEASURES: Final[Mapping[str, Callable[[list[Row]], float | None]]] = {
    "avg_score": _mean_score,
    "completion_rate": lambda rows: _pct(sum(1 for r in rows if _done(r)), len(rows)),
    "not_completed_count": lambda rows: sum(1 for r in rows if not _done(r)),
    "attempt_count": len,  # of the quiz attempts (`run_query` drops the other submissions)
    "submission_count": len,
    "student_count": lambda rows: len({str(r["student_id"]) for r in rows}),
    "chat_messages": len,
}


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_iso(str(value))


def _groups(
    row: Row, group_by: str, catalog: Catalog, levels: Mapping[str, Sequence[str]]
) -> list[tuple[Any, str]]:
    """The row's (natural sort key, label) in `group_by`: none when it has no such value,
    several for the Bloom levels of its topic."""
    if group_by == "none":
        return [(0, "Class")]
    if group_by == "week":
        moment = _moment(row["at"])
        if moment is None:
            return []
        day = moment.astimezone(UTC).date()
        monday = day - timedelta(days=day.weekday())
        return [(monday, f"Week of {monday.isoformat()}")]
    if group_by == "bloom_level":
        found = levels.get(str(row["topic_id"]), ()) if row["topic_id"] is not None else ()
        return [((BLOOM_LEVELS.index(level), level), level.capitalize()) for level in found]
    value = row[f"{group_by}_id"]
    if value is None:
        return []
    value = str(value)
    if group_by == "topic":  # the row's `topics` id -> the catalog's name for that topic
        value = {row: key for key, row in catalog.topic_rows.items()}.get(value, value)
    options = {"topic": catalog.topics, "activity": catalog.activities}.get(
        group_by, catalog.students
    )
    for index, named in enumerate(options):
        if named.id == value:
            return [((index, value), named.name)]
    return [((len(options), value), f"Unnamed ({value[:8]})")]


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
    """The class's topics (the published blueprint's, by key, in `sequence` order; then any
    other topic a published activity is on, by row id), published activities and students, in
    their natural order."""
    published = await published_rows(store, class_id)
    content, blueprint_rows = published or ({}, [])
    key_of = {row: key for key, row in row_keys(content, blueprint_rows).items()}
    params = {"class_id": class_id}
    async with store.session() as db:
        activities = await db.query(
            "SELECT a.id, a.title, a.topic_id, t.title AS topic_title FROM activities a"
            " LEFT JOIN topics t ON t.id = a.topic_id"
            " WHERE a.class_id = :class_id AND a.status = 'published'"
            " ORDER BY a.created_at, a.title LIMIT 100",
            params,
        )
        students = await db.query(
            "SELECT e.user_id AS id, p.display_name AS name FROM enrollments e"
            " LEFT JOIN profiles p ON p.id = e.user_id"
            f" WHERE e.class_id = :class_id AND e.role = 'student' AND {NOT_GUEST}",
            params,
        )
    people = [Named(str(r["id"]), _display_name(r["name"], str(r["id"]))) for r in students]
    topics: list[Named] = []
    topic_rows: dict[str, str] = {}
    for row in blueprint_rows:
        row_id = str(row["id"])
        key = key_of.get(row_id, row_id)
        topics.append(Named(key, str(row["title"])))
        topic_rows[key] = row_id
    for row in activities:
        topic = row["topic_id"]
        if topic is not None and str(topic) not in topic_rows.values():
            topic_rows[str(topic)] = str(topic)
            topics.append(Named(str(topic), str(row["topic_title"] or topic)))
    return Catalog(
        tuple(topics),
        tuple(Named(str(r["id"]), str(r["title"])) for r in activities),
        # Sorted here, not by the database's collation, so both backends agree.
        tuple(sorted(people, key=lambda n: (n.name.casefold(), n.id))),
        topic_rows,
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
    if "topic" in params:  # activities reference the topic's row
        params["topic"] = catalog.topic_rows.get(params["topic"], params["topic"])
    params.update(_bounds(query.filters.since, query.filters.until))
    sql = base + "".join(fragments[name] for name in fragments if name in params)
    levels: dict[str, list[str]] = {}
    async with store.session() as db:
        rows = await db.query(sql, params)
        if query.metric == "attempt_count":
            rows = [row for row in rows if is_quiz_attempt(row)]
        if query.group_by == "bloom_level":
            for objective in await db.query(_LEVELS, {"class_id": class_id}):
                level = str(objective["level"] or "").strip().lower()
                mine = levels.setdefault(str(objective["topic_id"]), [])
                if level in BLOOM_LEVELS and level not in mine:
                    mine.append(level)
    groups: dict[str, tuple[Any, str, list[Row]]] = {}
    for row in rows:
        for key, label in _groups(row, query.group_by, catalog, levels):
            groups.setdefault(repr(key), (key, label, []))[2].append(row)
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
