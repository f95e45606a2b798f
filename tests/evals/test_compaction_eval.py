"""The compaction eval: the shipped dataset scores 1.0, and each metric can fail."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from evals.scorers import compaction as scorers
from evals.scorers.compaction import (
    COMPACTION_SCORERS,
    DEFAULT_DATASET,
    contract_reason,
    load_case,
    replay,
    run_compaction_eval,
)
from tools import compaction
from tools.compaction import ChatTurnMessage, Memory

REAL_COMPACT = compaction.compact
REASONS = {
    "below_trigger",
    "no_new_turns",
    "token_pressure",
    "message_count_trigger",
    "low_context_pressure",
}


def test_the_shipped_dataset_scores_perfectly() -> None:
    assert run_compaction_eval() == {
        "early_facts_survive": 1.0,
        "reasons_follow_rules": 1.0,
        "caps_respected": 1.0,
        "verbatim_tail_intact": 1.0,
    }


def test_the_dataset_is_a_forty_turn_conversation() -> None:
    case = load_case()
    messages = case["messages"]
    assert len(messages) == 80
    assert [m["role"] == "assistant" for m in messages] == [i % 2 == 1 for i in range(80)]
    assert len({m["id"] for m in messages}) == 80
    stamps = [m["created_at"] for m in messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == 80
    early_replies = " ".join(m["content"] for m in messages[1:16:2])  # turns 1-8
    assert len(case["early_facts"]) == 5
    assert all(fact in early_replies for fact in case["early_facts"])
    assert set(case["expected_reasons"].values()) == REASONS


def test_the_replay_compacts_several_times() -> None:
    steps = replay(load_case())
    compactions = [len(s.history) for s in steps if s.decision.compact]
    assert compactions == [45, 61, 67, 73, 79]
    assert all(contract_reason(s) == s.decision.reason for s in steps)


def test_an_explicit_dataset_path(tmp_path: Path) -> None:
    case = load_case()
    case["early_facts"] = [*case["early_facts"][:4], "a fact nobody stated"]
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    assert run_compaction_eval(path)["early_facts_survive"] == 0.8
    assert run_compaction_eval(DEFAULT_DATASET)["early_facts_survive"] == 1.0


def _forgetful(previous: Memory | None, messages: Sequence[ChatTurnMessage]) -> Memory:
    """Summarises only the newest batch, as if the previous memory were lost."""
    fresh = REAL_COMPACT(None, messages)
    if previous:
        fresh["compactedThrough"]["turn_count"] += previous["compactedThrough"]["turn_count"]
    return fresh


def test_forgetting_the_previous_memory_loses_the_early_facts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compaction, "compact", _forgetful)
    scores = run_compaction_eval()
    assert scores["early_facts_survive"] < 0.5
    assert scores["caps_respected"] == 1.0


def test_overflowing_caps_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def hoarder(previous: Memory | None, messages: Sequence[ChatTurnMessage]) -> Memory:
        memory = REAL_COMPACT(previous, messages)
        memory["open_questions"] = [*memory["open_questions"], *(f"Q{n}?" for n in range(9))]
        memory["timeline"].append("T0: " + "x" * 300)
        return memory

    monkeypatch.setattr(compaction, "compact", hoarder)
    case = load_case()
    score = COMPACTION_SCORERS["caps_respected"](case, replay(case))
    assert score.value == 0.0
    assert any("open_questions has" in reason for reason in score.reasons)


def test_a_wrong_reach_breaks_the_tail_and_the_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    def overreach(previous: Memory | None, messages: Sequence[ChatTurnMessage]) -> Memory:
        memory = REAL_COMPACT(previous, messages)
        memory["compactedThrough"]["turn_count"] += 1
        return memory

    monkeypatch.setattr(compaction, "compact", overreach)
    assert run_compaction_eval()["verbatim_tail_intact"] < 1.0


def test_a_shifted_threshold_breaks_the_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compaction, "THRESHOLD_TOKENS", 9_000)
    case = load_case()
    score = COMPACTION_SCORERS["reasons_follow_rules"](case, replay(case))
    assert score.value < 1.0
    assert any(reason.startswith("45 messages") for reason in score.reasons)


def test_a_tail_that_is_too_short_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compaction, "VERBATIM_MESSAGES", 20)
    case = load_case()
    score = COMPACTION_SCORERS["verbatim_tail_intact"](case, replay(case))
    assert score.value < 1.0
    assert score.reasons[0].startswith("45 messages")


def test_a_wrong_expected_reason_is_reported() -> None:
    case = copy.deepcopy(load_case())
    case["expected_reasons"]["47"] = "token_pressure"
    case["expected_reasons"]["2"] = "below_trigger"  # no decision is made at 2 messages
    score = scorers.reasons_follow_rules(case, replay(case))
    assert score.value < 1.0
    assert len(score.reasons) == 2
