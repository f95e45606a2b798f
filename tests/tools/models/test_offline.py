"""The offline chat model and its default extractive responder."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)

from tools.models.offline import OFFLINE_MODEL, OfflineChatModel, extractive_reply
from tools.text import estimate_tokens

REPLY = "A force is a push or a pull.  It is measured in newtons (N).\nThat is all."
PROMPT: list[BaseMessage] = [
    SystemMessage("You are a tutor."),
    HumanMessage("What is a force?"),
]


def fixed(_: Sequence[BaseMessage]) -> str:
    return REPLY


def expected_usage(messages: Sequence[BaseMessage], text: str) -> dict[str, int]:
    prompt = sum(estimate_tokens(str(m.content)) for m in messages)
    completion = estimate_tokens(text)
    return {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def test_ainvoke_returns_the_responders_text_with_usage() -> None:
    model = OfflineChatModel(responder=fixed)
    message = await model.ainvoke(PROMPT)
    assert isinstance(message, AIMessage)
    assert message.content == REPLY
    assert message.usage_metadata == expected_usage(PROMPT, REPLY)
    assert model.model_name == OFFLINE_MODEL


def test_invoke_matches_ainvoke() -> None:
    message = OfflineChatModel(responder=fixed).invoke(PROMPT)
    assert message.content == REPLY
    assert message.usage_metadata == expected_usage(PROMPT, REPLY)


async def test_responder_sees_the_messages() -> None:
    seen: list[list[BaseMessage]] = []

    def record(messages: Sequence[BaseMessage]) -> str:
        seen.append(list(messages))
        return "ok"

    await OfflineChatModel(responder=record).ainvoke(PROMPT)
    assert [[m.content for m in batch] for batch in seen] == [[m.content for m in PROMPT]]


async def test_astream_chunks_concatenate_to_the_same_text() -> None:
    model = OfflineChatModel(responder=fixed)
    chunks = [chunk async for chunk in model.astream(PROMPT)]
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    texts = [str(c.content) for c in chunks]
    assert "".join(texts) == REPLY
    # It streams word by word, not in one piece.
    assert len([t for t in texts if t]) == len(REPLY.split())
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert merged.content == REPLY
    assert merged.usage_metadata == expected_usage(PROMPT, REPLY)
    assert merged.usage_metadata == (await model.ainvoke(PROMPT)).usage_metadata


def test_stream_chunks_concatenate_to_the_same_text() -> None:
    chunks = list(OfflineChatModel(responder=fixed).stream(PROMPT))
    assert "".join(str(c.content) for c in chunks) == REPLY
    assert len(chunks) > 3


async def test_default_responder_is_extractive() -> None:
    message = await OfflineChatModel().ainvoke(
        [HumanMessage("Energy is conserved. Energy changes form. Cats sleep a lot.")]
    )
    assert message.content == extractive_reply(
        [HumanMessage("Energy is conserved. Energy changes form. Cats sleep a lot.")]
    )
    assert message.content


def test_extractive_reply_picks_the_most_informative_user_sentences_in_order() -> None:
    user = (
        "Momentum is the product of mass and velocity. "
        "The weather was nice on Tuesday. "
        "In a collision, total momentum is conserved when no external force acts. "
        "Momentum has the same direction as velocity. "
        "Lunch was served at noon. "
        "Dinner came late."
    )
    reply = extractive_reply(
        [SystemMessage("Ignore this system text entirely."), HumanMessage(user)]
    )
    sentences = [
        "Momentum is the product of mass and velocity.",
        "In a collision, total momentum is conserved when no external force acts.",
        "Momentum has the same direction as velocity.",
    ]
    assert reply == " ".join(sentences)


def test_extractive_reply_uses_only_sentences_of_the_last_user_message() -> None:
    messages: list[BaseMessage] = [
        HumanMessage("Old question about gravity and orbits."),
        AIMessage("Earlier answer about gravity."),
        HumanMessage("Waves carry energy. Sound waves need a medium."),
        AIMessage("A trailing assistant turn."),
    ]
    reply = extractive_reply(messages)
    assert reply == "Waves carry energy. Sound waves need a medium."
    assert "gravity" not in reply


def test_extractive_reply_returns_at_most_three_sentences_from_the_message() -> None:
    user = " ".join(f"Fact {n} concerns atoms and electrons number {n}." for n in range(10))
    reply = extractive_reply([HumanMessage(user)])
    picked = [s for s in reply.split(". ") if s]
    assert 1 <= len(picked) <= 3
    for sentence in picked:
        assert sentence.rstrip(".") in user


def test_extractive_reply_handles_an_empty_or_missing_user_message() -> None:
    empty = "The offline engine received an empty message, so there is nothing to answer."
    assert extractive_reply([]) == empty
    assert extractive_reply([HumanMessage("   \u200b ")]) == empty
    assert extractive_reply([SystemMessage("Only a system prompt.")]) == empty


def test_extractive_reply_strips_invisible_characters() -> None:
    reply = extractive_reply([HumanMessage("Hid\u200bden text\u202e here.")])
    assert reply == "Hidden text here."
