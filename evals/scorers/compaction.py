"""Conversation-compaction eval: replay a long tutoring session and check the platform contract.

The replay walks the dataset's messages in order. At every student or teacher message it calls
`tools.compaction.decide` on the history plus that message (with the message's optional
`pending_tokens`), applies `compact` when told to and keeps the memory, then appends the reply.
Four metrics, each in [0, 1], judge the replay:

- `early_facts_survive`: share of `early_facts` found (case-insensitively) in the final memory.
- `reasons_follow_rules`: share of steps whose reason equals the contract re-derived below from the
  scorer's own bookkeeping, and equals `expected_reasons` where the dataset gives one.
- `caps_respected`: share of steps whose memory respects every cap, item length and hygiene rule.
- `verbatim_tail_intact`: share of steps whose verbatim messages, compacted messages and
  `compactedThrough` are exactly what the contract says.

The module under test is looked up at call time (`compaction.decide`), so a test can monkeypatch
it and watch the metrics fall. Nothing here calls a model or the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from evals.scorers import Score
from tools import compaction
from tools.compaction import ChatTurnMessage, CompactionDecision, Memory
from tools.text import estimate_tokens, fold, strip_invisible

DEFAULT_DATASET: Final = Path(__file__).resolve().parents[1] / "datasets" / "chat_compaction.json"

# The contract, restated on purpose rather than imported, so the scorer really cross-checks it.
_MIN_MESSAGES: Final = 30
_MIN_NEW_OLDER: Final = 6
_THRESHOLD_TOKENS: Final = 8_480  # 80% of (12,000 - 1,400)
_FORCE_MESSAGES: Final = 60
_TAIL: Final = 24  # the last 12 turns of two messages each
_CAPS: Final = {
    "key_terms": 12,
    "resolved_facts": 8,
    "open_questions": 8,
    "student_needs": 8,
    "timeline": 24,
}
_ITEM_CHARS: Final = 200


@dataclass(frozen=True)
class Step:
    """One decision of the replay and what the scorer's own bookkeeping says about it."""

    history: tuple[ChatTurnMessage, ...]  # all messages so far, the new one last
    pending_tokens: int
    compacted_before: int  # leading messages compacted before this step (scorer's count)
    memory_before: Memory | None
    memory_after: Memory | None
    decision: CompactionDecision


def load_case(path: Path | None = None) -> dict[str, Any]:
    """The dataset: one conversation with `messages`, `early_facts` and `expected_reasons`."""
    case: dict[str, Any] = json.loads((path or DEFAULT_DATASET).read_text(encoding="utf-8"))
    return case


def replay(case: Mapping[str, Any]) -> list[Step]:
    """Run the conversation through `decide`/`compact` turn by turn."""
    messages = [
        ChatTurnMessage(m["id"], m["role"], m["content"], m["created_at"]) for m in case["messages"]
    ]
    steps: list[Step] = []
    memory: Memory | None = None
    compacted = 0
    for index, raw in enumerate(case["messages"]):
        if raw["role"] == "assistant":
            continue
        history = tuple(messages[: index + 1])
        pending = int(raw.get("pending_tokens", 0))
        decision = compaction.decide(history, memory, pending_tokens=pending)
        before = memory
        if decision.compact:
            memory = compaction.compact(memory, decision.to_compact)
        steps.append(Step(history, pending, compacted, before, memory, decision))
        if decision.compact:
            compacted = max(compacted, len(history) - _TAIL)
    return steps


def contract_reason(step: Step) -> str:
    """The reason the contract gives for a step, derived without `tools.compaction.decide`."""
    total = len(step.history)
    if total < _MIN_MESSAGES:
        return "below_trigger"
    if total - _TAIL - step.compacted_before < _MIN_NEW_OLDER:
        return "no_new_turns"
    used = (
        estimate_tokens(compaction.render_memory(step.memory_before))
        + sum(estimate_tokens(m.content) for m in step.history[step.compacted_before :])
        + step.pending_tokens
    )
    if used >= _THRESHOLD_TOKENS:
        return "token_pressure"
    if total >= _FORCE_MESSAGES:
        return "message_count_trigger"
    return "low_context_pressure"


def _share(failures: list[str], total: int) -> Score:
    return Score((total - len(failures)) / total if total else 0.0, failures)


def early_facts_survive(case: Mapping[str, Any], steps: Sequence[Step]) -> Score:
    memories = [s.memory_after for s in steps if s.memory_after is not None]
    rendered = fold(compaction.render_memory(memories[-1])) if memories else ""
    facts: list[str] = list(case["early_facts"])
    lost = [f"early fact lost: {f!r}" for f in facts if fold(f) not in rendered]
    return _share(lost, len(facts))


def reasons_follow_rules(case: Mapping[str, Any], steps: Sequence[Step]) -> Score:
    expected: Mapping[str, str] = case.get("expected_reasons", {})
    failures: list[str] = []
    for step in steps:
        count, got = len(step.history), step.decision.reason
        derived = contract_reason(step)
        want = {derived, expected.get(str(count), derived)}
        runs = got in ("token_pressure", "message_count_trigger")
        if want != {got} or step.decision.compact != runs:
            failures.append(f"{count} messages: got {got}, the contract says {sorted(want)}")
    seen = {str(len(s.history)) for s in steps}
    failures += [f"no decision at {c} messages" for c in expected if c not in seen]
    return _share(failures, len(steps) + sum(c not in seen for c in expected))


def _memory_problems(memory: Memory) -> list[str]:
    problems: list[str] = []
    lists = {
        "key_terms": memory["key_terms"],
        "resolved_facts": memory["resolved_facts"],
        "open_questions": memory["open_questions"],
        "student_needs": memory["student_needs"],
        "timeline": memory["timeline"],
    }
    for key, items in lists.items():
        cap = _CAPS[key]
        if len(items) > cap:
            problems.append(f"{key} has {len(items)} items (cap {cap})")
        if len({fold(i) for i in items}) != len(items):
            problems.append(f"{key} has duplicates")
        for item in items:
            if len(item) > _ITEM_CHARS or strip_invisible(item) != item or "\n" in item:
                problems.append(f"{key} item too long or not clean: {item[:40]!r}")
    return problems


def caps_respected(case: Mapping[str, Any], steps: Sequence[Step]) -> Score:
    checked = [s for s in steps if s.memory_after is not None]
    failures = [
        f"{len(s.history)} messages: {'; '.join(problems)}"
        for s in checked
        if s.memory_after is not None and (problems := _memory_problems(s.memory_after))
    ]
    return _share(failures, len(checked))


def verbatim_tail_intact(case: Mapping[str, Any], steps: Sequence[Step]) -> Score:
    failures: list[str] = []
    for step in steps:
        d, history, done = step.decision, step.history, step.compacted_before
        if not d.compact:
            ok = d.verbatim == history[done:] and not d.to_compact
        else:
            speakers = sum(m.role != "assistant" for m in history[:-_TAIL])
            through = step.memory_after["compactedThrough"] if step.memory_after else None
            ok = (
                d.verbatim == history[-_TAIL:]
                and d.to_compact == history[done:-_TAIL]
                and through is not None
                and through["message_id"] == history[-_TAIL - 1].id
                and through["created_at"] == history[-_TAIL - 1].created_at
                and through["turn_count"] == speakers
            )
        if not ok:
            failures.append(f"{len(history)} messages: verbatim/compacted split breaks the rules")
    return _share(failures, len(steps))


COMPACTION_SCORERS: Final = {
    "early_facts_survive": early_facts_survive,
    "reasons_follow_rules": reasons_follow_rules,
    "caps_respected": caps_respected,
    "verbatim_tail_intact": verbatim_tail_intact,
}
"""Metric name -> `scorer(case, steps) -> Score`, where `steps = replay(case)`."""


def run_compaction_eval(dataset_path: Path | None = None) -> dict[str, float]:
    """Replay the dataset once and return every metric's score."""
    case = load_case(dataset_path)
    steps = replay(case)
    return {
        name: round(scorer(case, steps).value, 4) for name, scorer in COMPACTION_SCORERS.items()
    }
