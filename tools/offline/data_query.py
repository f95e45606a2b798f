"""The offline engine's data-question planner: plain words to a `DataQuery`, by keyword rules.

It understands the common phrasings of a teacher's question about their class (a metric, "per /
by / for each" a grouping, topic, activity and student names from the class, "haven't finished",
"lowest / top N", "this month") and returns None when it cannot tell what was asked, when the
question asks for something the analytics do not hold (addresses, the weather), or when it tries
to reach beyond the class or smuggle in SQL: such questions get the no-data chart.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from tools.analytics.query import Catalog, DataQuery, Named, QueryError, parse_query, words
from tools.text.words import STOPWORDS

_WORDS: Final = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight")
_WORDS_PAST_EIGHT: Final = ("nine", "ten")  # "top ten" still keeps eight
_NUMBERS: Final = {word: value for value, word in enumerate(_WORDS + _WORDS_PAST_EIGHT)}
_NUMBER: Final = r"(\d+|" + "|".join(_NUMBERS) + ")"
_SUPERLATIVE: Final = (
    r"top|bottom|lowest|highest|best|worst|weakest|strongest|struggling|least|most|fewest"
)
# Anything that reads like SQL, or reaches for another class, a person's private details or
# data the analytics do not hold: the question is not answered at all.
_CODE: Final = re.compile(r"[;=*]|--|/\*")
_REFUSE: Final = re.compile(
    r"\b(ignore|bypass|override|drop|delete|truncate|union|insert|sql|database|schema|password"
    r"|passwords|class id|classid|all class(es)?|other class(es)?|another class|every class"
    r"|each class|across class(es)?|whole school|school wide|all schools|other teachers?"
    r"|weather|address(es)?|phone|email|e mail|birthday|date of birth|salary|salaries|religion"
    r"|ethnicity|medical|postcode|home)\b"
)
_METRICS: Final = (
    ("chat_messages", r"\b(chats?|chatted|chatting|messages?|messaged|tutor)\b"),
    (
        "not_completed_count",
        r"\b(havent|hasnt|didnt|dont|doesnt|have not|has not|did not|do not|does not|never"
        r"|not yet|yet to|not)\s+(yet\s+)?(finish\w*|complet\w*|submit\w*|done|do|attempt\w*"
        r"|hand\w*|start\w*|tried|taken|take)\b"
        r"|\b(incomplete|unfinished|outstanding|missing|overdue|unsubmitted|skipped)\b",
    ),
    (
        "student_count",
        r"\b(how many|number of|count of|count the|total)\s+(students|pupils|learners)\b"
        r"|\bactive (students|pupils|learners)\b",
    ),
    ("attempt_count", r"\b(attempts?|tries|retakes?|retries|retried|attempted)\b"),
    ("completion_rate", r"\b(completion|completions|complete|completed|finished|done)\b"),
    ("submission_count", r"\b(submissions?|submitted|hand ins?|handed in|turned in)\b"),
    (
        "avg_score",
        r"\b(scores?|scoring|scored|marks?|grades?|results?|performance|performing|performed"
        r"|averag\w*|mean|struggl\w*|how well|doing well|doing badly|understanding)\b"
        r"|\bhow (is|are|did|does|do|has|have)\b.*\b(doing|do|going|getting on)\b",
    ),
)
_GROUP_NOUNS: Final = {
    "topic": r"topics?|units?|areas?|themes?|chapters?",
    "activity": r"activity|activities|quiz|quizzes|quizes|assignments?|tasks?|tests?|exercises?",
    "student": r"students?|pupils?|learners?|kids?|children|child",
    "bloom_level": r"blooms?|levels?|cognitive",
    "week": r"weeks?",
}
# Strong cues name the grouping ("per topic"); weak ones imply it ("which students").
_GROUP_CUES: Final = (
    r"\b(per|by|for each|for every|each|every|across|broken down by|split by|grouped by)"
    r"\s+(the\s+)?",
    r"(^|\b(which|what|who|list|show|over|among|compare)\s+)(the\s+)?(\w+\s+)??",
    rf"\b({_SUPERLATIVE})\s+({_NUMBER}\s+)?(\w+\s+)??",
)
_MONTHS: Final = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
# A capitalised word after "for / is / did ..." or before "'s" is taken for a name; one the
# class does not have makes the question about someone else, so it is not answered.
_NAME: Final = re.compile(
    r"\b(?:for|is|did|does|has|have|about|of)\s+([A-Z][\w'’-]*)|\b([A-Z][\w-]*)['’]s\b"
)
_NOT_NAMES: Final = (
    frozenset({"what", "who", "how", "where", "when", "that", "it", "there", "here", "let"})
    | frozenset({"this", "each", "every", "all", "the", "my", "our", "your", "their", "today"})
    | frozenset({"class", "student", "topic", "quiz", "week", "month", "everyone", "bloom"})
    | frozenset(_MONTHS)
)
_ACTIVITY_FILLER: Final = STOPWORDS | {"quiz", "check", "practice", "test"}
_TOPIC_FILLER: Final = STOPWORDS | {"work", "table", "law"}


def _normal(text: str) -> str:
    """Lower-case ASCII words and digits, apostrophes dropped, `%` spelled out."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    plain = plain.replace("%", " percent ").replace("'", "")
    return " ".join(re.findall(r"[a-z0-9]+", plain))


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBERS[text]


def _metric(norm: str) -> str | None:
    for metric, pattern in _METRICS:
        if re.search(pattern, norm):
            return metric
    # "top 3 students", "weakest topics": a ranking of a group is a ranking by score.
    group = "|".join(_GROUP_NOUNS[g] for g in ("topic", "activity", "student"))
    if re.search(rf"\b({_SUPERLATIVE})\s+({_NUMBER}\s+)?({group})\b", norm):
        return "avg_score"
    return None


def _group(norm: str) -> str | None:
    """The grouping the question names: the first one a strong cue names, else a weak one."""
    if re.search(r"\b(weekly|week by week|over time|each week|per week|by week|trend)\b", norm):
        return "week"
    for cue in _GROUP_CUES:
        found = [
            (match.start(), group)
            for group, nouns in _GROUP_NOUNS.items()
            if (match := re.search(cue + rf"({nouns})\b", norm))
        ]
        if found:
            return min(found)[1]
    return "student" if re.search(r"\bwho\b", norm) else None


def _students(stems: set[str], catalog: Catalog) -> list[Named]:
    """Students named by full, first or last name (a name two students share names nobody)."""
    found = []
    for student in catalog.students:
        parts = [p for p in words(student.name) if len(p) >= 3]
        shared = {
            p for other in catalog.students if other is not student for p in words(other.name)
        }
        if parts and (set(parts) <= stems or any(p in stems and p not in shared for p in parts)):
            found.append(student)
    return found


def _topic_words(topic: Named) -> set[str]:
    return (set(words(topic.name)) | set(words(topic.id))) - _TOPIC_FILLER


def _filters(stems: set[str], catalog: Catalog) -> dict[str, Any]:
    """Names of the class in the question: a student, a topic named in full ("atoms and
    bonding"), an activity named in full ("the bonding quiz"), else a topic named in part."""
    filters: dict[str, Any] = {}
    used: set[str] = set()
    students = _students(stems, catalog)
    if len(students) == 1:
        filters["student"] = students[0].name
        used |= set(words(students[0].name))
    full = [
        t
        for t in catalog.topics
        if (key := set(words(t.id)) - _TOPIC_FILLER) and key <= stems - used
    ]
    if len(full) == 1:
        filters["topic"] = full[0].id
        used |= _topic_words(full[0])
    activities = [
        (len(key), a)
        for a in catalog.activities
        if (key := set(words(a.name)) - _ACTIVITY_FILLER) and key <= stems - used
    ]
    best = max((size for size, _ in activities), default=0)
    chosen = [a for size, a in activities if size == best]
    if len(chosen) == 1:
        filters["activity"] = chosen[0].name
        used |= set(words(chosen[0].name))
    topics = [t for t in catalog.topics if _topic_words(t) & (stems - used)]
    if "topic" not in filters and len(topics) == 1:
        filters["topic"] = topics[0].id
    return filters


def _month(month: int, today: date, *, year: int | None = None) -> tuple[date, date]:
    year = year or (today.year if month <= today.month else today.year - 1)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _period(norm: str, raw: str, today: date) -> dict[str, str]:
    """`since`/`until` (ISO dates) for the question's time words, if any."""
    span: tuple[date | None, date | None] = (None, None)
    monday = today - timedelta(days=today.weekday())
    months = "|".join(_MONTHS)
    if "this month" in norm:
        span = (today.replace(day=1), today)
    elif "last month" in norm:
        span = _month((today.replace(day=1) - timedelta(days=1)).month, today)
    elif "this week" in norm:
        span = (monday, today)
    elif "last week" in norm:
        span = (monday - timedelta(days=7), monday - timedelta(days=1))
    elif found := re.search(rf"\b(last|past)\s+{_NUMBER}\s+(day|week)s?\b", norm):
        days = _number(found.group(2)) * (7 if found.group(3) == "week" else 1)
        span = (today - timedelta(days=days - 1), today)
    elif found := re.search(rf"\b(in|during|for|of)\s+({months})\b", norm):
        span = _month(_MONTHS[found.group(2)], today)
    elif found := re.search(rf"\bsince\s+({months})\b", norm):
        span = (_month(_MONTHS[found.group(1)], today)[0], None)
    dates = re.findall(r"\b(since|from|after|until|before|to)\s+(\d{4}-\d{2}-\d{2})\b", raw)
    for word, text in dates:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            continue
        span = (day, span[1]) if word in ("since", "from", "after") else (span[0], day)
    return {key: d.isoformat() for key, d in zip(("since", "until"), span, strict=True) if d}


def _ranking(norm: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if re.search(r"\b(lowest|bottom|worst|least|weakest|struggl\w*|fewest|lower)\b", norm):
        found["order"] = "asc"
    elif re.search(r"\b(top|highest|best|most|strongest|greatest)\b", norm):
        found["order"] = "desc"
    count = (
        re.search(rf"\b({_SUPERLATIVE}|first)\s+{_NUMBER}\b", norm)
        or re.search(rf"\b{_NUMBER}\s+({_SUPERLATIVE})\b", norm)
        or re.search(rf"\b{_NUMBER}\s+(students|pupils|learners|topics|quizzes|activities)\b", norm)
    )
    if found and count:
        number = next(g for g in count.groups() if g and (g.isdigit() or g in _NUMBERS))
        found["limit"] = min(8, max(2, _number(number)))
    elif found:
        found["limit"] = 5
    return found


def _chart(norm: str) -> dict[str, str]:
    for kind, pattern in (
        ("pie", r"\bpie\b"),
        ("line", r"\bline (chart|graph)\b"),
        ("scatter", r"\bscatter\b"),
        ("bar", r"\bbar\b"),
    ):
        if re.search(pattern, norm):
            return {"chart_type": kind}
    return {}


def _scores(norm: str) -> dict[str, float]:
    """Score bounds in %: "below 60%" keeps averages under 60 (they carry one decimal)."""
    found: dict[str, float] = {}
    if low := re.search(r"\b(above|over|more than|higher than|at least)\s+(\d+)\s+percent", norm):
        strict = low.group(1) != "at least"
        found["min_score"] = min(100.0, float(low.group(2)) + (0.1 if strict else 0))
    if high := re.search(r"\b(below|under|less than|lower than|at most)\s+(\d+)\s+percent", norm):
        strict = high.group(1) != "at most"
        found["max_score"] = max(0.0, float(high.group(2)) - (0.1 if strict else 0))
    return found


def _default_group(metric: str, filters: dict[str, Any]) -> str:
    """The grouping of a question that names none: what the filters leave worth comparing."""
    if metric == "chat_messages":
        return "week" if "student" in filters else "student"
    if "student" in filters:
        return "activity"
    if "activity" in filters:
        return "none" if metric == "student_count" else "student"
    if "topic" in filters:
        return "activity"
    return "none" if metric in ("avg_score", "completion_rate", "student_count") else "activity"


def _unknown_name(question: str, catalog: Catalog) -> bool:
    known = {
        w
        for named in (*catalog.topics, *catalog.activities, *catalog.students)
        for w in words(f"{named.id} {named.name}")
    }
    for match in _NAME.finditer(question):
        stems = words(match.group(1) or match.group(2))
        if stems and stems[0] not in _NOT_NAMES and not set(stems) <= known:
            return True
    return False


def offline_data_query(
    question: str, catalog: Catalog, *, today: date | None = None
) -> DataQuery | None:
    """The structured query the question asks for, or None when it cannot be answered."""
    if _CODE.search(question):
        return None
    norm = _normal(question)
    metric = _metric(norm)
    if metric is None or _REFUSE.search(norm) or _unknown_name(question, catalog):
        return None
    filters = _filters(set(words(question)), catalog)
    filters.update(_period(norm, question.lower(), today or datetime.now(UTC).date()))
    if metric == "avg_score":
        filters.update(_scores(norm))
    group = _group(norm) or _default_group(metric, filters)
    obj = {"metric": metric, "group_by": group, "filters": filters, **_ranking(norm)}
    try:
        return parse_query({**obj, **_chart(norm)}, catalog)
    except QueryError:
        return None
