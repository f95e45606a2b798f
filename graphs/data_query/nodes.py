"""The data-query graph's nodes.

The model only chooses a structured query; the numbers always come from `run_query`, scoped to
the class id the caller bound. Charts follow fixed rules:
- bar by default, line for weekly data, pie only when asked for a share of a count;
- 2 to 8 points (`run_query` keeps at most the query's `limit`, which is at most 8);
- no rows, or an unanswerable question: the single `No data available` point;
- exactly one row: a percentage (an average score, a completion rate) is shown as a two-slice
  pie of the value and the rest of 100; a single count is not a chart, so it gets no data.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, Final, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from graphs.data_query.state import DataQueryState
from graphs.shared import budgets
from graphs.shared.context import GenerationOptions, context_of
from graphs.shared.errors import GenerationError
from graphs.shared.progress import report
from graphs.shared.state import first_attempt
from graphs.shared.structured import json_attempt, next_step, repair_turn
from prompts import data_query as prompts
from tools.analytics.query import (
    GROUPS,
    METRICS,
    PERCENT_METRICS,
    Catalog,
    DataQuery,
    QueryError,
    load_catalog,
    parse_query,
    run_query,
)
from tools.offline.data_query import offline_data_query
from tools.payloads.canvas import MAX_TITLE, NO_DATA_LABEL, validate_chart_spec
from tools.store.base import Store
from tools.text import strip_invisible

MAX_QUESTION: Final = 500
Y_LABELS: Final = {
    "avg_score": "Average score (%)",
    "completion_rate": "Completion rate (%)",
    "attempt_count": "Attempts",
    "submission_count": "Submitted attempts",
    "chat_messages": "Chat messages",
    "student_count": "Students",
    "not_completed_count": "Assignments not completed",
}
X_LABELS: Final = {
    "topic": "Topic",
    "activity": "Activity",
    "student": "Student",
    "bloom_level": "Bloom level",
    "week": "Week",
}
# One percentage is drawn as itself and the rest of 100.
SPLITS: Final = {
    "avg_score": ("Average score", "Marks missed"),
    "completion_rate": ("Completed", "Not completed"),
}


async def _store(runtime: Runtime[GenerationOptions]) -> Store:
    store = await context_of(runtime).class_store()
    if store is None:
        raise GenerationError("Class data questions need the class's records, and none are open.")
    return store


def _today(state: DataQueryState) -> date:
    text = state.get("as_of")
    try:
        return date.fromisoformat(text) if text else datetime.now(UTC).date()
    except ValueError:
        return datetime.now(UTC).date()


async def gather_context(
    state: DataQueryState, runtime: Runtime[GenerationOptions]
) -> dict[str, Any]:
    """The question, cleaned, and the names the class's questions may use."""
    question = strip_invisible(state.get("query") or "").strip()[:MAX_QUESTION]
    catalog = await load_catalog(await _store(runtime), state["class_id"])
    report("context", topics=len(catalog.topics), activities=len(catalog.activities))
    return {
        "question": question,
        "catalog": catalog.as_dict(),
        **first_attempt(),
        "payload": None,
        "rows": [],
    }


def _dump(query: DataQuery | None) -> dict[str, Any] | None:
    return query.model_dump(mode="json", exclude_none=True) if query is not None else None


def _offline_plan(state: DataQueryState) -> dict[str, Any] | None:
    """The offline planner's query for the question, None when it finds none."""
    catalog = Catalog.from_dict(state["catalog"])
    return _dump(offline_data_query(state["question"], catalog, today=_today(state)))


def _messages(state: DataQueryState) -> list[BaseMessage]:
    catalog = Catalog.from_dict(state["catalog"])
    data = {
        "question": state["question"],
        "today": _today(state).isoformat(),
        "class_topics": [{"key": t.id, "title": t.name} for t in catalog.topics],
        "class_activities": [a.name for a in catalog.activities],
    }
    metrics = "\n".join(f"    {name}: {meaning}" for name, meaning in METRICS.items())
    groups = ", ".join(f'"{group}"' for group in GROUPS)
    messages: list[BaseMessage] = [
        SystemMessage(prompts.SYSTEM.format(metrics=metrics, groups=groups)),
        HumanMessage(prompts.USER.format(data=json.dumps(data, ensure_ascii=False, indent=2))),
    ]
    return [*messages, *repair_turn(state, prompts.REPAIR)]


async def plan(state: DataQueryState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Ask the model (or the offline planner) for a structured query; repairs re-ask."""
    report("plan", attempt=state.get("tries", 0) + 1)

    def offline(_: Any) -> str:
        return json.dumps(_offline_plan(state) or {"unanswerable": True})

    options = budgets.DATA_QUERY.options()
    return await json_attempt(state, context_of(runtime), _messages(state), offline, options)


async def validate(state: DataQueryState) -> Command[Literal["plan", "run", "chart"]]:
    """Check the query against the allowlist and the class's names; repair at most twice, then
    fall back to the offline planner, then to no data."""
    candidate = state.get("candidate")
    if candidate is not None and candidate.get("unanswerable") is True:
        report("validate", attempt=state.get("tries", 0), unanswerable=True)
        return Command(goto="chart", update={"payload": None, "errors": []})
    query: dict[str, Any] | None = None
    if candidate is None:
        errors = ['The reply was not a JSON object: send one query or {"unanswerable": true}.']
    else:
        try:
            query = _dump(parse_query(candidate, Catalog.from_dict(state["catalog"])))
        except QueryError as error:
            errors = error.errors
        else:
            errors = []
    return next_step(
        state,
        candidate=query,
        errors=errors,
        done="run",
        repair="plan",
        fallback=lambda: _offline_plan(state),
        # A question nothing answers gets the no-data chart, never an error.
        give_up="chart",
    )


async def run(state: DataQueryState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Read the answer from this class's records only."""
    query = DataQuery.model_validate(state["payload"])
    catalog = Catalog.from_dict(state["catalog"])
    rows = await run_query(await _store(runtime), state["class_id"], query, catalog=catalog)
    report("run", rows=len(rows))
    return {"rows": [[label, value] for label, value in rows]}


def chart_title(question: str) -> str:
    """The question as a title: one line, capitalised, no end punctuation, at most 200 chars."""
    text = " ".join(question.split()).rstrip("?.! ") or "Class data"
    text = text[0].upper() + text[1:]
    if len(text) > MAX_TITLE:
        text = text[: MAX_TITLE - 1].rsplit(" ", 1)[0] + "…"
    return text


def no_data_spec(title: str) -> dict[str, Any]:
    point = {"label": NO_DATA_LABEL, "value": 0}
    return {"type": "chart", "chartType": "bar", "title": title, "data": [point]}


def _chart_type(plan: dict[str, Any], values: list[float]) -> str:
    asked = plan.get("chart_type")
    if asked == "pie":
        shares = plan["metric"] not in PERCENT_METRICS and min(values) >= 0 and sum(values) > 0
        return "pie" if shares else ("line" if plan["group_by"] == "week" else "bar")
    if asked in ("bar", "line", "scatter"):
        return str(asked)
    return "line" if plan["group_by"] == "week" else "bar"


def chart_spec(question: str, plan: dict[str, Any] | None, rows: list[list[Any]]) -> dict[str, Any]:
    """The chart for a query's rows, by the rules in this module's docstring."""
    title = chart_title(question)
    if plan is None or not rows:
        return no_data_spec(title)
    metric = plan["metric"]
    if len(rows) == 1:
        if metric not in SPLITS:
            return no_data_spec(title)
        value = float(rows[0][1])
        first, rest = SPLITS[metric]
        data = [{"label": first, "value": value}, {"label": rest, "value": round(100 - value, 1)}]
        return {"type": "chart", "chartType": "pie", "title": title, "data": data}
    kind = _chart_type(plan, [float(value) for _, value in rows])
    spec: dict[str, Any] = {
        "type": "chart",
        "chartType": kind,
        "title": title,
        "data": [{"label": label, "value": value} for label, value in rows],
    }
    if kind != "pie":
        spec["xLabel"] = X_LABELS.get(plan["group_by"], "Group")
        spec["yLabel"] = Y_LABELS[metric]
    return spec


async def chart(state: DataQueryState) -> dict[str, Any]:
    """Draw the rows; a spec that breaks the chart rules becomes the no-data chart."""
    question = state.get("question", "")
    spec = chart_spec(question, state.get("payload"), state.get("rows") or [])
    errors = validate_chart_spec(spec, min_points=2, max_points=8, allow_no_data=True)
    if errors:
        report("chart", errors=len(errors))
        spec = no_data_spec(chart_title(question))
    report("chart", points=len(spec["data"]), chart=spec["chartType"])
    return {"spec": spec}


async def finalize(state: DataQueryState) -> dict[str, Any]:
    """Publish the chart, who planned it, and the structured query that ran (under `query`)."""
    report("done", provider=state["provider"], answered=state.get("payload") is not None)
    return {
        "spec": state["spec"],
        "provider": state["provider"],
        "model": state["model"],
        "query": state.get("payload"),
        "attempts": list(state.get("attempts") or []),
    }
