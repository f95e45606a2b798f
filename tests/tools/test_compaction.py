"""Conversation compaction: the trigger rules at their boundaries and the memory it keeps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tools.compaction import (
    MAX_FACTS,
    MAX_KEY_TERMS,
    MAX_NEEDS,
    MAX_OPEN_QUESTIONS,
    MAX_TIMELINE,
    THRESHOLD_TOKENS,
    VERBATIM_MESSAGES,
    ChatTurnMessage,
    CompactedThrough,
    Memory,
    Role,
    compact,
    decide,
    empty_memory,
    render_memory,
)
from tools.text import estimate_tokens, strip_invisible

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _message(index: int, role: Role, content: str) -> ChatTurnMessage:
    stamp = (START + timedelta(seconds=30 * index)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ChatTurnMessage(f"m{index:03d}", role, content, stamp)


def _chat(pairs: list[tuple[str, str]], first: int = 1) -> list[ChatTurnMessage]:
    """Alternating student/assistant messages numbered from `first`."""
    out: list[ChatTurnMessage] = []
    for question, answer in pairs:
        out.append(_message(first + len(out), "student", question))
        out.append(_message(first + len(out), "assistant", answer))
    return out


def _filler(count: int) -> list[ChatTurnMessage]:
    """`count` short messages (four tokens each), student first."""
    roles: tuple[Role, Role] = ("student", "assistant")
    return [_message(i + 1, roles[i % 2], "ok, noted.ok") for i in range(count)]


def _memory_through(message: ChatTurnMessage, turns: int = 1) -> Memory:
    memory = empty_memory()
    memory["compactedThrough"] = CompactedThrough(
        created_at=message.created_at, message_id=message.id, turn_count=turns
    )
    return memory


# --------------------------------------------------------------------------- decide


def test_the_contract_constants() -> None:
    assert THRESHOLD_TOKENS == 8_480
    assert VERBATIM_MESSAGES == 24


def test_below_trigger_until_thirty_messages() -> None:
    assert decide(_filler(29), None).reason == "below_trigger"
    at_thirty = decide(_filler(30), None)
    assert at_thirty.reason == "low_context_pressure"
    assert (at_thirty.compact, at_thirty.new_older_count) == (False, 6)


def test_no_new_turns_below_six_new_older_messages() -> None:
    messages = _filler(40)  # 16 messages are older than the verbatim tail
    five_new = decide(messages, _memory_through(messages[10]))
    assert (five_new.reason, five_new.new_older_count, five_new.compact) == (
        "no_new_turns",
        5,
        False,
    )
    six_new = decide(messages, _memory_through(messages[9]))
    assert (six_new.reason, six_new.new_older_count) == ("low_context_pressure", 6)


def test_token_pressure_starts_exactly_at_the_threshold() -> None:
    messages = _filler(30)
    used = sum(estimate_tokens(m.content) for m in messages)
    below = decide(messages, None, pending_tokens=THRESHOLD_TOKENS - 1 - used)
    assert (below.estimated_tokens, below.reason, below.compact) == (
        THRESHOLD_TOKENS - 1,
        "low_context_pressure",
        False,
    )
    at = decide(messages, None, pending_tokens=THRESHOLD_TOKENS - used)
    assert (at.estimated_tokens, at.reason, at.compact) == (
        THRESHOLD_TOKENS,
        "token_pressure",
        True,
    )
    assert at.threshold_tokens == THRESHOLD_TOKENS
    assert at.to_compact == tuple(messages[:6])
    assert at.verbatim == tuple(messages[6:])


def test_the_memory_counts_towards_the_estimate() -> None:
    messages = _filler(40)
    memory = _memory_through(messages[5])
    memory["resolved_facts"] = ["The SI unit of force is the newton."]
    decision = decide(messages, memory)
    pending = sum(estimate_tokens(m.content) for m in messages[6:])
    assert decision.estimated_tokens == estimate_tokens(render_memory(memory)) + pending


def test_message_count_trigger_from_sixty_messages() -> None:
    assert decide(_filler(59), None).reason == "low_context_pressure"
    sixty = decide(_filler(60), None)
    assert (sixty.reason, sixty.compact, len(sixty.to_compact)) == (
        "message_count_trigger",
        True,
        36,
    )
    assert sixty.verbatim == tuple(_filler(60)[-24:])


def test_token_pressure_wins_over_the_message_count() -> None:
    decision = decide(_filler(70), None, pending_tokens=THRESHOLD_TOKENS)
    assert decision.reason == "token_pressure"


def test_without_compaction_the_prompt_carries_every_uncompacted_message() -> None:
    messages = _filler(50)
    decision = decide(messages, _memory_through(messages[19]))
    assert decision.reason == "low_context_pressure"
    assert decision.to_compact == ()
    assert decision.verbatim == tuple(messages[20:])


def test_compacted_through_falls_back_to_created_at() -> None:
    messages = _filler(40)
    memory = _memory_through(messages[9])
    memory["compactedThrough"]["message_id"] = "deleted-message"
    assert decide(messages, memory).new_older_count == 6


# --------------------------------------------------------------------------- compact

EARLY = [
    (
        "What is a force and what unit is it measured in?",
        "A force is a push or a pull. The SI unit of force is the newton (N).",
    ),
    (
        "What is the acceleration due to gravity?",
        "Near Earth's surface the acceleration due to gravity, g, is about 9.8 m/s².",
    ),
    (
        "What does Newton's second law say?",
        "Newton's second law states that the net force equals mass times acceleration, F = ma.",
    ),
]


def _facts_batch(topic: int, first: int) -> list[ChatTurnMessage]:
    """Four turns of new, well-formed facts on another subject."""
    subjects = [
        ("density", "Density is mass per unit volume, ρ = m/V, measured in kg/m³."),
        ("pressure", "Pressure is force per unit area, p = F/A, and 1 Pa equals 1 N/m²."),
        ("power", "Power is the rate of transferring energy, P = E/t, and 1 W equals 1 J/s."),
        ("charge", "Charge is current times time, Q = It, and 1 C equals 1 A s."),
        ("voltage", "Voltage is energy per unit charge, V = E/Q, and 1 V equals 1 J/C."),
        ("current", "Current is the rate of flow of charge, I = Q/t, measured in amperes."),
        ("moles", "The number of moles is mass divided by molar mass, n = m/M, in mol."),
        ("waves", "Wave speed is frequency times wavelength, v = fλ, measured in m/s."),
        ("work", "Work done is force times distance, W = Fd, and 1 J equals 1 N m."),
        ("heat", "Specific heat capacity is measured in J/kg °C, and water has 4200 J/kg °C."),
        ("lenses", "Lens power is one over the focal length, P = 1/f, measured in dioptres."),
        ("springs", "Hooke's law states that the force equals stiffness times extension, F = ke."),
    ]
    chosen = subjects[topic * 4 : topic * 4 + 4]
    return _chat([(f"What is {name}?", fact) for name, fact in chosen], first)


def test_early_facts_survive_three_more_compactions() -> None:
    memory = compact(None, _chat(EARLY))
    first = 7
    for topic in range(3):
        batch = _facts_batch(topic, first)
        first += len(batch)
        memory = compact(memory, batch)
        joined = " ".join(memory["resolved_facts"])
        for phrase in ("unit of force is the newton", "9.8 m/s²", "F = ma"):
            assert phrase in joined
        assert len(memory["resolved_facts"]) <= MAX_FACTS
    assert memory["compactedThrough"]["turn_count"] == 3 + 12


def test_the_least_salient_fact_goes_first_not_the_oldest() -> None:
    previous = empty_memory()
    previous["resolved_facts"] = [
        "The speed of light in a vacuum is about 3.0 × 10⁸ m/s.",
        *[f"Element {n} is a metal in group {n}." for n in ("X", "Y", "Z", "Q", "R", "S")],
        "Copper is a good conductor.",
    ]
    batch = _chat(
        [("How do I find kinetic energy?", "Kinetic energy is KE = ½mv², measured in joules.")]
    )
    facts = compact(previous, batch)["resolved_facts"]
    assert facts[0].startswith("The speed of light")
    assert "Kinetic energy is KE = ½mv², measured in joules." in facts
    assert "Copper is a good conductor." not in facts
    assert len(facts) == MAX_FACTS


def test_a_restatement_supersedes_an_old_fact_in_place() -> None:
    memory = compact(None, _chat(EARLY))
    again = _chat(
        [
            (
                "Remind me of the unit of force?",
                "The SI unit of force is the newton (N), named after Isaac Newton.",
            )
        ],
        first=7,
    )
    before = memory["resolved_facts"]
    facts = compact(memory, again)["resolved_facts"]
    where = before.index("The SI unit of force is the newton (N).")
    assert facts[where] == "The SI unit of force is the newton (N), named after Isaac Newton."
    assert sum("unit of force" in f for f in facts) == 1
    assert len(facts) == len(before)


def test_a_weaker_restatement_does_not_replace_the_fact() -> None:
    memory = compact(None, _chat(EARLY))
    vaguer = _chat([("Go on.", "The SI unit of force is a story for another day.")], first=7)
    facts = compact(memory, vaguer)["resolved_facts"]
    assert facts[: len(memory["resolved_facts"])] == memory["resolved_facts"]


def test_chatter_and_questions_are_not_facts() -> None:
    memory = compact(
        None,
        _chat([("Is it hard?", "You are doing well! Let's try one more. Is that clear?")]),
    )
    assert memory["resolved_facts"] == []


def test_open_questions_answered_later_disappear() -> None:
    first = _chat(
        [
            (
                "What is the half-life of carbon-14? Also what is a force?",
                "A force is a push or a pull. We can come back to the other one later.",
            )
        ]
    )
    memory = compact(None, first)
    assert memory["open_questions"] == ["What is the half-life of carbon-14?"]
    later = _chat(
        [("Thanks.", "Carbon-14 has a half-life of about 5,730 years.")], first=len(first) + 1
    )
    assert compact(memory, later)["open_questions"] == []


def test_a_reply_sharing_one_keyword_does_not_answer_a_two_keyword_question() -> None:
    memory = compact(
        None,
        _chat([("How does a catalyst work?", "Catalysts come later; first the mole.")]),
    )
    assert memory["open_questions"] == ["How does a catalyst work?"]


def test_student_needs_and_the_timeline() -> None:
    memory = compact(
        None,
        _chat(
            [
                ("I don't understand moles. What is a mole?", "A mole is 6.02 × 10²³ particles."),
                ("I have an exam on Friday.", "Then revise the mole and molar mass first."),
            ]
        ),
    )
    assert memory["student_needs"] == ["I don't understand moles.", "I have an exam on Friday."]
    assert [e.split(":")[0] for e in memory["timeline"]] == ["T1", "T2"]
    assert memory["timeline"][0].startswith("T1: asked about")
    assert memory["timeline"][1].startswith("T2: needs help with")


def test_turns_continue_and_the_timeline_folds_its_oldest_entries() -> None:
    memory: Memory | None = None
    first = 1
    for _ in range(4):
        batch = _chat([(f"What is topic {n}?", f"Topic {n} is fine.") for n in range(10)], first)
        first += len(batch)
        memory = compact(memory, batch)
    assert memory is not None
    timeline = memory["timeline"]
    assert len(timeline) == MAX_TIMELINE
    assert timeline[0].startswith("T1–T17: ")
    assert timeline[1].startswith("T18: ") and timeline[-1].startswith("T40: ")
    assert all(len(entry) <= 200 for entry in timeline)


def test_compacted_through_and_turn_count_progress() -> None:
    messages = _chat([(f"What is the {n}th planet?", "Mars is the 4th planet.") for n in range(45)])
    messages.insert(20, _message(999, "teacher", "Teacher note: test next week."))
    messages = [
        ChatTurnMessage(m.id, m.role, m.content, _message(i + 1, m.role, "").created_at)
        for i, m in enumerate(messages)
    ]
    memory: Memory | None = None
    seen: list[tuple[str, int]] = []
    for end in range(1, len(messages) + 1):
        if messages[end - 1].role == "assistant":
            continue
        decision = decide(messages[:end], memory)
        if decision.compact:
            memory = compact(memory, decision.to_compact)
            last = decision.to_compact[-1]
            through = memory["compactedThrough"]
            assert (through["message_id"], through["created_at"]) == (last.id, last.created_at)
            speakers = sum(m.role != "assistant" for m in messages[: end - VERBATIM_MESSAGES])
            assert through["turn_count"] == speakers
            seen.append((through["message_id"], through["turn_count"]))
    assert len(seen) >= 3
    assert [t for _, t in seen] == sorted({t for _, t in seen})


def test_caps_and_item_length_hold() -> None:
    long_tail = " and it keeps going" * 20
    pairs = [
        (
            f"I am confused about topic {n}. I want to pass the test {n}. "
            f"What is quantity {n} in unit {n}? Why does quantity {n} change?",
            f"Quantity {n} is measured in unit {n}. Quantity {n} is {n + 1} kg{long_tail}.",
        )
        for n in range(30)
    ]
    memory = compact(None, _chat(pairs))
    assert len(memory["key_terms"]) <= MAX_KEY_TERMS
    assert len(memory["resolved_facts"]) <= MAX_FACTS
    assert len(memory["open_questions"]) == MAX_OPEN_QUESTIONS
    assert len(memory["student_needs"]) == MAX_NEEDS
    assert len(memory["timeline"]) <= MAX_TIMELINE
    items = [item for part in memory.values() if isinstance(part, list) for item in part]
    assert items and all(len(item) <= 200 for item in items)


def test_invisible_characters_are_stripped() -> None:
    sneaky = "\u200b\u2066\U000e0041"
    memory = compact(
        None,
        _chat(
            [
                (
                    f"I{sneaky} don't understand forces. What is a new{sneaky}ton?",
                    f"One new{sneaky}ton is the force that gives 1 kg an acceleration of 1 m/s².",
                )
            ]
        ),
    )
    text = json.dumps(memory, ensure_ascii=False)
    assert strip_invisible(text) == text
    assert "One newton is the force that gives 1 kg an acceleration of 1 m/s²." in text


def test_compaction_is_deterministic_and_json_safe() -> None:
    batch = _chat(EARLY)
    first, second = compact(None, batch), compact(None, list(batch))
    assert first == second
    assert json.loads(json.dumps(first)) == first
    assert render_memory(first) == render_memory(second)


def test_compact_skips_what_the_memory_already_covers() -> None:
    batch = _chat(EARLY)
    memory = compact(None, batch[:4])
    assert compact(memory, batch) == compact(memory, batch[4:])
    assert compact(memory, batch[:4]) == memory


def test_render_memory() -> None:
    assert render_memory(None) == ""
    memory = compact(None, _chat(EARLY))
    text = render_memory(memory)
    assert text.startswith("Conversation memory (turns 1–3 summarised):\nKey terms: ")
    assert "\nResolved facts:\n- A force is a push or a pull.\n" in text
    assert "\n- The SI unit of force is the newton (N).\n" in text
    assert "\nTimeline:\n- T1: " in text
    assert "Open questions" not in text  # every question was answered


@pytest.mark.parametrize("count", [0, 1, 23])
def test_short_histories_never_compact(count: int) -> None:
    decision = decide(_filler(count), None, pending_tokens=100_000)
    assert (decision.reason, decision.compact, decision.to_compact) == ("below_trigger", False, ())


def test_a_reply_in_the_same_second_is_still_compacted() -> None:
    question, reply = _chat([("What is a force?", "A force is a push or a pull.")])
    memory = compact(None, [question])
    same_second = ChatTurnMessage("m900", "assistant", reply.content, question.created_at)
    after = compact(memory, [same_second])
    assert after["compactedThrough"]["message_id"] == "m900"
    assert after["open_questions"] == []
