"""The insights graph's nodes. Numbers come from the database; the model writes only words."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Final, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from graphs.insights.state import InsightsState
from graphs.shared import budgets
from graphs.shared.context import GenerationOptions, context_of
from graphs.shared.errors import GenerationError
from graphs.shared.progress import report
from graphs.shared.structured import (
    CUT_OFF,
    MAX_REPAIRS,
    invalid_output,
    json_attempt,
    repair_turn,
)
from prompts import insights as prompts
from tools.analytics import compute_insights, get_insights_snapshot, put_insights_snapshot
from tools.clock import to_iso, utc_now
from tools.models.offline import OFFLINE_MODEL, OFFLINE_PROVIDER
from tools.offline.insights import offline_narrative
from tools.store.base import Store
from tools.text import strip_invisible

logger = logging.getLogger("stemgraph.insights")

SNAPSHOT_TTL: Final = timedelta(hours=1)
SNAPSHOT_PROVIDER: Final = "snapshot"
NO_PROVIDER: Final = "none"
MAX_FINDINGS: Final = 5
MAX_INTERVENTIONS: Final = 3
MAX_TEXT: Final = 1_500
MAX_SUMMARY: Final = 400


class ClassNotFound(GenerationError):
    status = 404
    code = "class_not_found"


async def _store(runtime: Runtime[GenerationOptions]) -> Store:
    store = await context_of(runtime).class_store()
    if store is None:
        raise GenerationError("Class insights need the class database, and none is configured.")
    return store


async def load_or_compute(
    state: InsightsState, runtime: Runtime[GenerationOptions]
) -> Command[Literal["narrate", "finalize"]]:
    """Serve a snapshot younger than an hour (unless forced); else compute the numbers."""
    store = await _store(runtime)
    class_id = state["class_id"]
    if not state.get("force_refresh"):
        snapshot = await get_insights_snapshot(store, class_id)
        if snapshot is not None and utc_now() - snapshot[1] < SNAPSHOT_TTL:
            payload, generated_at = snapshot
            report("snapshot", generated_at=to_iso(generated_at))
            update = {"payload": payload, "provider": SNAPSHOT_PROVIDER, "model": SNAPSHOT_PROVIDER}
            return Command(goto="finalize", update=update)
    if await store.get_class(class_id) is None:
        raise ClassNotFound("That class does not exist.")
    payload = await compute_insights(store, class_id)
    report("computed", students=len(payload["students"]), topics=len(payload["topics"]))
    fresh = {"tries": 0, "attempts": [], "errors": [], "finish_reason": None}
    return Command(goto="narrate", update={"payload": payload, **fresh})


_HIDDEN: Final = frozenset({"activity_breakdown", "ai_mini_summary"})


def _facts(payload: dict[str, Any]) -> dict[str, Any]:
    """What the model is shown: the numbers, without the per-activity detail."""
    return {
        "class_summary": payload["class_summary"],
        "topics": payload["topics"],
        "bloom_breakdown": payload["bloom_breakdown"],
        "students": [
            {key: value for key, value in student.items() if key not in _HIDDEN}
            for student in payload["students"]
        ],
    }


# The prompts module has no repair turn for the narrative; it is short enough to live here.
REPAIR: Final = """Your previous narrative could not be used:
{errors}
Reply again with one JSON object of the same form, and nothing else."""


def _messages(state: InsightsState) -> list[BaseMessage]:
    data = json.dumps(_facts(state["payload"]), ensure_ascii=False, separators=(",", ":"))
    messages: list[BaseMessage] = [
        SystemMessage(prompts.SYSTEM),
        HumanMessage(prompts.USER.format(data=data)),
    ]
    return [*messages, *repair_turn(state, REPAIR)]


async def narrate(state: InsightsState, runtime: Runtime[GenerationOptions]) -> dict[str, Any]:
    """Ask the model (or the offline engine) for the narrative; a failure leaves none."""
    context = context_of(runtime)
    payload = state["payload"]

    def offline(_: Any) -> str:
        return json.dumps(offline_narrative(payload), ensure_ascii=False)

    report("narrate", attempt=state.get("tries", 0) + 1)
    options = budgets.INSIGHTS.options(len(payload["students"]))
    try:
        return await json_attempt(state, context, _messages(state), offline, options)
    except Exception as error:  # noqa: BLE001 - the numbers are served without a narrative
        logger.warning("insights narrative failed: %s", type(error).__name__)
        report("narrate", error=type(error).__name__)
        return {"candidate": None, "provider": NO_PROVIDER, "model": NO_PROVIDER, "errors": []}


def _narrative_errors(state: InsightsState) -> list[str]:
    candidate = state.get("candidate")
    errors: list[str] = []
    if state.get("finish_reason") == "length":
        errors.append(CUT_OFF)
    if not isinstance(candidate, dict):
        errors.append("The reply was not one JSON object of the form shown.")
    elif check_narrative(candidate, state["payload"])[0] is None:
        errors.append("`executive_summary` must be two or three sentences of text.")
    return errors


async def check(state: InsightsState) -> Command[Literal["narrate", "merge"]]:
    """The one degradation rule for the narrative: a reply without a usable executive summary
    is repaired at most twice, then replaced by the offline narrative (noted in `attempts`).

    The offline engine's reply is never re-asked, and a run whose providers all failed (no
    offline fallback) keeps the numbers without a narrative."""
    provider = state.get("provider")
    errors = _narrative_errors(state) if provider != NO_PROVIDER else []
    tries = state.get("tries", 0)
    report("validate", attempt=tries, errors=len(errors))
    if not errors or provider == OFFLINE_PROVIDER:
        return Command(goto="merge", update={"errors": []})
    if tries <= MAX_REPAIRS:
        return Command(goto="narrate", update={"errors": errors})
    attempt = invalid_output(state, errors[0])
    report("attempt_failed", **attempt)
    report("fallback", reason=errors[0], found=True)
    update = {
        "candidate": offline_narrative(state["payload"]),
        "provider": OFFLINE_PROVIDER,
        "model": OFFLINE_MODEL,
        "attempts": [*(state.get("attempts") or []), attempt],
        "errors": errors,
    }
    return Command(goto="merge", update=update)


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(strip_invisible(value).split())
    return text[:limit] if text else None


def _interventions(raw: Any, titles: dict[str, str]) -> list[dict[str, str]]:
    kept: list[dict[str, str]] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or item.get("type") != "generate_quiz":
            continue
        topic_id = item.get("topic_id")
        reason = _text(item.get("reason"), MAX_TEXT)
        action = _text(item.get("suggested_action"), MAX_TEXT)
        if topic_id not in titles or not reason or not action:
            continue
        if any(k["topic_id"] == topic_id for k in kept):
            continue
        kept.append(
            {
                "type": "generate_quiz",
                "topic_id": topic_id,
                "topic_title": titles[topic_id],  # the blueprint's title, not the model's
                "reason": reason,
                "suggested_action": action,
            }
        )
    return kept[:MAX_INTERVENTIONS]


def _summaries(raw: Any, student_ids: set[str]) -> dict[str, str]:
    """Mini summaries keyed by existing student ids (a mapping, or a list of objects)."""
    if isinstance(raw, list):
        raw = {
            item.get("student_id"): item.get("summary")
            for item in raw
            if isinstance(item, dict) and isinstance(item.get("student_id"), str)
        }
    if not isinstance(raw, dict):
        return {}
    summaries: dict[str, str] = {}
    for student_id, value in raw.items():
        text = _text(value, MAX_SUMMARY)
        if student_id in student_ids and text:
            summaries[student_id] = text
    return summaries


def check_narrative(
    candidate: dict[str, Any] | None, payload: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The usable parts of a model's narrative: `ai_narrative` (None without an executive
    summary) and mini summaries by student id. Invalid parts are dropped."""
    if not isinstance(candidate, dict):
        return None, {}
    summaries = _summaries(
        candidate.get("student_summaries"), {s["student_id"] for s in payload["students"]}
    )
    executive = _text(candidate.get("executive_summary"), MAX_TEXT)
    if executive is None:
        return None, summaries
    findings = candidate.get("key_findings")
    texts = [_text(item, MAX_TEXT) for item in findings] if isinstance(findings, list) else []
    narrative = {
        "executive_summary": executive,
        "key_findings": [text for text in texts if text][:MAX_FINDINGS],
        "interventions": _interventions(
            candidate.get("interventions"), {t["topic_id"]: t["title"] for t in payload["topics"]}
        ),
    }
    return narrative, summaries


async def merge(state: InsightsState) -> dict[str, Any]:
    """Put the validated words into the payload; the numbers are copied untouched."""
    payload = state["payload"]
    narrative, summaries = check_narrative(state.get("candidate"), payload)
    merged = {
        **payload,
        "students": [
            {**student, "ai_mini_summary": summaries.get(student["student_id"])}
            for student in payload["students"]
        ],
        "ai_narrative": narrative,
    }
    report("merge", narrative=narrative is not None, summaries=len(summaries))
    return {"payload": merged}


async def save_snapshot(
    state: InsightsState, runtime: Runtime[GenerationOptions]
) -> dict[str, Any]:
    """Store the payload so the next hour's requests are served from it."""
    await put_insights_snapshot(await _store(runtime), state["class_id"], state["payload"])
    report("stored")
    return {}


async def finalize(state: InsightsState) -> dict[str, Any]:
    """The graph's output: the payload and who wrote its narrative."""
    report("done", narrative=state["payload"].get("ai_narrative") is not None)
    return {
        "payload": state["payload"],
        "provider": state.get("provider", NO_PROVIDER),
        "model": state.get("model", NO_PROVIDER),
        "attempts": list(state.get("attempts") or []),
    }
