"""Ordered fallback under one deadline, provider resolution, and embeddings (all offline)."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from server.settings import PROVIDER_NAMES, ProviderName, Settings
from tools.models.embeddings import EMBEDDING_DIMENSIONS, offline_embedding
from tools.models.fakes import FailingChatModel, ScriptedChatModel, SlowChatModel
from tools.models.offline import OFFLINE_MODEL, OFFLINE_PROVIDER, extractive_reply
from tools.models.providers import (
    ChatProvider,
    EmbeddingProvider,
    chat_providers,
    configured,
    embedding_providers,
    resolve_order,
)
from tools.models.router import (
    Attempt,
    Deadline,
    ModelRouter,
    ProvidersExhausted,
    Usage,
    embed,
)

MESSAGES: list[BaseMessage] = [
    SystemMessage("You are a physics tutor."),
    HumanMessage(
        "Momentum is mass times velocity. Momentum is conserved in collisions. "
        "The sky is blue today."
    ),
]
NO_KEYS: dict[str, None] = {
    "openrouter_api_key": None,
    "openai_api_key": None,
    "gemini_api_key": None,
    "ai_provider_default": None,
}


def settings(**values: object) -> Settings:
    return Settings(**{**NO_KEYS, **values})  # type: ignore[arg-type]


def later(seconds: float = 5.0) -> Deadline:
    return Deadline(time.monotonic() + seconds)


# --- chat fallback ----------------------------------------------------------------------------


async def test_first_provider_failing_falls_back_to_the_second() -> None:
    failing = FailingChatModel(error="503 Service Unavailable")
    scripted = ScriptedChatModel.replying("Momentum is conserved.")
    router = ModelRouter(
        [
            ChatProvider("openrouter", "openai/gpt-4o-mini", failing),
            ChatProvider("openai", "gpt-4o-mini", scripted),
        ]
    )
    reply = await router.ainvoke(MESSAGES, deadline=later())
    assert reply.text == "Momentum is conserved."
    assert (reply.provider, reply.model) == ("openai", "gpt-4o-mini")
    assert reply.attempts == (
        Attempt(
            "openrouter",
            "openai/gpt-4o-mini",
            "connection_error",
            "ConnectionError: 503 Service Unavailable",
        ),
    )
    assert failing.calls == 1
    assert scripted.prompts == [MESSAGES]
    assert reply.latency_ms >= 0


async def test_the_first_working_provider_answers_and_later_ones_are_not_called() -> None:
    scripted = ScriptedChatModel.replying("first")
    never = FailingChatModel()
    router = ModelRouter(
        [ChatProvider("gemini", "g", scripted), ChatProvider("openai", "o", never)]
    )
    reply = await router.ainvoke(MESSAGES, deadline=later())
    assert (reply.text, reply.provider, reply.model, reply.attempts) == ("first", "gemini", "g", ())
    assert never.calls == 0


async def test_error_descriptions_are_short_single_lines() -> None:
    router = ModelRouter(
        [
            ChatProvider(
                "openrouter", "a", FailingChatModel(error="bad key\nAuthorization: sk-xyz")
            ),
            ChatProvider("openai", "b", FailingChatModel(error="x" * 500)),
            ChatProvider("gemini", "c", FailingChatModel(error="   ")),
        ]
    )
    reply = await router.ainvoke(MESSAGES, deadline=later())
    errors = [a.message for a in reply.attempts]
    assert errors[0] == "ConnectionError: bad key"
    assert errors[1] == "ConnectionError: " + "x" * 200
    assert errors[2] == "ConnectionError"
    assert all("sk-xyz" not in e for e in errors)


async def test_every_provider_failing_ends_with_the_offline_engine() -> None:
    router = ModelRouter(
        [
            ChatProvider("openrouter", "a", FailingChatModel(error="down")),
            ChatProvider("openai", "b", FailingChatModel(error="quota")),
            ChatProvider("gemini", "c", FailingChatModel(error="denied")),
        ]
    )
    reply = await router.ainvoke(MESSAGES, deadline=later())
    assert (reply.provider, reply.model) == (OFFLINE_PROVIDER, OFFLINE_MODEL)
    assert reply.provider == "offline"
    assert reply.text == extractive_reply(MESSAGES)
    assert reply.text
    assert [(a.provider, a.message) for a in reply.attempts] == [
        ("openrouter", "ConnectionError: down"),
        ("openai", "ConnectionError: quota"),
        ("gemini", "ConnectionError: denied"),
    ]
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0


async def test_no_providers_uses_offline_with_a_custom_responder() -> None:
    reply = await ModelRouter([]).ainvoke(
        MESSAGES, deadline=later(), responder=lambda messages: f"{len(messages)} messages"
    )
    assert (reply.provider, reply.text, reply.attempts) == ("offline", "2 messages", ())


async def test_a_slow_provider_is_cut_off_at_the_shared_deadline() -> None:
    deadline_s = 0.3
    slow = SlowChatModel(delay_s=5.0)
    backup = ScriptedChatModel.replying("too late to ask")
    router = ModelRouter(
        [ChatProvider("openrouter", "slow", slow), ChatProvider("openai", "backup", backup)]
    )
    started = time.monotonic()
    reply = await router.ainvoke(MESSAGES, deadline=Deadline(started + deadline_s))
    elapsed = time.monotonic() - started
    assert elapsed < deadline_s + 0.2
    assert elapsed >= deadline_s - 0.01
    assert reply.provider == "offline"
    assert (reply.attempts[0].error, reply.attempts[0].message) == ("timeout", "timed out")
    # The deadline is shared: nothing is left for the second provider.
    assert [a.provider for a in reply.attempts] == ["openrouter", "openai"]
    assert reply.attempts[1].error in ("skipped", "timeout")
    assert backup.prompts == []


async def test_a_slow_provider_within_the_deadline_answers() -> None:
    router = ModelRouter([ChatProvider("gemini", "slow", SlowChatModel(delay_s=0.05, reply="ok"))])
    reply = await router.ainvoke(MESSAGES, deadline=later(2.0))
    assert (reply.provider, reply.text) == ("gemini", "ok")
    assert reply.latency_ms >= 40


async def test_a_passed_deadline_skips_every_provider() -> None:
    failing = FailingChatModel()
    scripted = ScriptedChatModel.replying("never")
    router = ModelRouter(
        [ChatProvider("openrouter", "a", failing), ChatProvider("openai", "b", scripted)]
    )
    started = time.monotonic()
    reply = await router.ainvoke(MESSAGES, deadline=Deadline(started - 1))
    assert time.monotonic() - started < 0.5
    assert reply.provider == "offline"
    assert reply.attempts == (
        Attempt("openrouter", "a", "skipped", "The deadline had passed."),
        Attempt("openai", "b", "skipped", "The deadline had passed."),
    )
    assert failing.calls == 0
    assert scripted.prompts == []


async def test_without_offline_fallback_exhaustion_raises() -> None:
    router = ModelRouter(
        [
            ChatProvider("openrouter", "a", FailingChatModel(error="down")),
            ChatProvider("gemini", "c", FailingChatModel(error="denied")),
        ],
        offline_fallback=False,
    )
    with pytest.raises(ProvidersExhausted) as caught:
        await router.ainvoke(MESSAGES, deadline=later())
    assert caught.value.attempts == (
        Attempt("openrouter", "a", "connection_error", "ConnectionError: down"),
        Attempt("gemini", "c", "connection_error", "ConnectionError: denied"),
    )
    assert "openrouter: ConnectionError: down" in str(caught.value)
    assert "gemini: ConnectionError: denied" in str(caught.value)

    with pytest.raises(ProvidersExhausted, match="none configured"):
        await ModelRouter([], offline_fallback=False).ainvoke(MESSAGES, deadline=later())


async def test_without_offline_fallback_a_working_provider_still_answers() -> None:
    router = ModelRouter(
        [ChatProvider("openai", "o", ScriptedChatModel.replying("fine"))], offline_fallback=False
    )
    assert (await router.ainvoke(MESSAGES, deadline=later())).text == "fine"


async def test_usage_is_mapped_to_ints() -> None:
    message = AIMessage(
        "answer", usage_metadata={"input_tokens": 12, "output_tokens": 30, "total_tokens": 42}
    )
    router = ModelRouter([ChatProvider("openai", "o", ScriptedChatModel.replying(message))])
    reply = await router.ainvoke(MESSAGES, deadline=later())
    assert reply.usage == Usage(12, 30, 42)
    assert reply.usage is not None
    assert reply.usage.as_dict() == {
        "prompt_tokens": 12,
        "completion_tokens": 30,
        "total_tokens": 42,
    }
    assert all(type(v) is int for v in reply.usage.as_dict().values())


async def test_usage_total_is_derived_when_missing_and_none_without_metadata() -> None:
    message = AIMessage(
        "answer", usage_metadata={"input_tokens": 5, "output_tokens": 7, "total_tokens": 0}
    )
    router = ModelRouter([ChatProvider("openai", "o", ScriptedChatModel.replying(message))])
    assert (await router.ainvoke(MESSAGES, deadline=later())).usage == Usage(5, 7, 12)

    bare = ModelRouter([ChatProvider("openai", "o", ScriptedChatModel.replying("no usage"))])
    assert (await bare.ainvoke(MESSAGES, deadline=later())).usage is None


async def test_offline_usage_counts_prompt_and_completion() -> None:
    reply = await ModelRouter([]).ainvoke(
        MESSAGES, deadline=later(), responder=lambda _: "abcd" * 5
    )
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 5
    assert reply.usage.prompt_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 5


async def test_cancellation_is_not_swallowed() -> None:
    router = ModelRouter([ChatProvider("openai", "slow", SlowChatModel(delay_s=5.0))])
    task = asyncio.create_task(router.ainvoke(MESSAGES, deadline=later(10)))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# --- provider resolution ----------------------------------------------------------------------


def test_default_order_is_openrouter_openai_gemini() -> None:
    assert PROVIDER_NAMES == ("openrouter", "openai", "gemini")
    assert resolve_order(settings()) == ["openrouter", "openai", "gemini"]


@pytest.mark.parametrize(
    ("default", "expected"),
    [
        ("openrouter", ["openrouter", "openai", "gemini"]),
        ("openai", ["openai", "openrouter", "gemini"]),
        ("gemini", ["gemini", "openrouter", "openai"]),
    ],
)
def test_default_provider_moves_to_the_front(default: ProviderName, expected: list[str]) -> None:
    assert resolve_order(settings(), None, default) == expected
    assert resolve_order(settings(ai_provider_default=default)) == expected


def test_ai_provider_default_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_PROVIDER_DEFAULT", "gemini")
    assert Settings().ai_provider_default == "gemini"
    assert resolve_order(Settings()) == ["gemini", "openrouter", "openai"]
    monkeypatch.setenv("AI_PROVIDER_DEFAULT", "  ")
    assert Settings().ai_provider_default is None
    assert resolve_order(Settings()) == ["openrouter", "openai", "gemini"]


def test_the_callers_default_overrides_the_settings_default() -> None:
    assert resolve_order(settings(ai_provider_default="gemini"), None, "openai") == [
        "openai",
        "openrouter",
        "gemini",
    ]


def test_caller_order_is_respected_and_deduplicated() -> None:
    assert resolve_order(settings(), ["gemini", "openai"]) == ["gemini", "openai"]
    assert resolve_order(settings(), ["openai", "gemini", "openai", "gemini"]) == [
        "openai",
        "gemini",
    ]
    assert resolve_order(settings(), ["gemini", "openai", "openrouter"], "openai") == [
        "openai",
        "gemini",
        "openrouter",
    ]
    assert resolve_order(settings(), ["openai", "openai"], "openai") == ["openai"]
    # An empty list means "no preference": the default order.
    assert resolve_order(settings(), []) == ["openrouter", "openai", "gemini"]


def test_configured_lists_only_keyed_providers_in_default_order() -> None:
    assert configured(settings()) == []
    assert configured(settings(openai_api_key="x")) == ["openai"]
    assert configured(settings(gemini_api_key="g", openrouter_api_key="r")) == [
        "openrouter",
        "gemini",
    ]
    assert configured(settings(openai_api_key="   ", gemini_api_key="")) == []
    assert configured(settings(openrouter_api_key="r", openai_api_key="o", gemini_api_key="g")) == [
        "openrouter",
        "openai",
        "gemini",
    ]


def test_chat_providers_follow_the_order_and_skip_unkeyed() -> None:
    keyed = settings(openai_api_key="o", gemini_api_key="g", openai_model="gpt-test")
    providers = chat_providers(keyed, ["gemini", "openrouter", "openai"], temperature=0.2)
    assert [(p.name, p.model) for p in providers] == [
        ("gemini", "gemini-2.5-flash"),
        ("openai", "gpt-test"),
    ]
    assert chat_providers(settings(), list(PROVIDER_NAMES)) == []


def test_embedding_providers_follow_the_order_and_skip_unkeyed() -> None:
    keyed = settings(openrouter_api_key="r", gemini_api_key="g")
    providers = embedding_providers(keyed, ["gemini", "openai", "openrouter"], dimensions=1536)
    assert [(p.name, p.model) for p in providers] == [
        ("gemini", "gemini-embedding-001"),
        ("openrouter", "openai/text-embedding-3-small"),
    ]
    assert embedding_providers(settings(), list(PROVIDER_NAMES), dimensions=1536) == []


# --- embeddings -------------------------------------------------------------------------------


class FakeEmbeddings(Embeddings):
    """Returns whatever vector `make` builds for each text."""

    def __init__(self, make: object) -> None:
        self.make = make
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if isinstance(self.make, BaseException):
            raise self.make
        return [self.make(text) for text in texts]  # type: ignore[operator]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)


def provider(name: ProviderName, make: object) -> EmbeddingProvider:
    return EmbeddingProvider(name, f"{name}-embed", FakeEmbeddings(make))


TEXTS = ["Force equals mass times acceleration.", "Waves carry energy."]


async def test_embed_uses_the_first_provider_with_valid_vectors() -> None:
    good = provider("openai", lambda text: [0.5] * EMBEDDING_DIMENSIONS)
    reply = await embed(TEXTS, [good], deadline=later())
    assert (reply.provider, reply.model, reply.attempts) == ("openai", "openai-embed", ())
    assert reply.vectors == [[0.5] * EMBEDDING_DIMENSIONS] * 2
    assert reply.usage.prompt_tokens == reply.usage.total_tokens > 0


@pytest.mark.parametrize(
    "make",
    [
        lambda text: [0.1] * 768,  # wrong dimensions
        lambda text: [0.1] * (EMBEDDING_DIMENSIONS - 1) + [math.nan],
        lambda text: [0.1] * (EMBEDDING_DIMENSIONS - 1) + [math.inf],
        lambda text: [0.1] * (EMBEDDING_DIMENSIONS - 1) + ["0.1"],
    ],
    ids=["768-d", "nan", "inf", "string"],
)
async def test_embed_falls_through_invalid_vectors_to_offline(make: object) -> None:
    bad = provider("openrouter", make)
    reply = await embed(TEXTS, [bad], deadline=later())
    assert reply.provider == "offline"
    assert reply.model == f"{OFFLINE_MODEL}-hash-{EMBEDDING_DIMENSIONS}"
    assert reply.attempts == (
        Attempt(
            "openrouter",
            "openrouter-embed",
            "invalid_output",
            f"did not return {EMBEDDING_DIMENSIONS}-d vectors",
        ),
    )
    assert reply.vectors == [offline_embedding(t) for t in TEXTS]


async def test_embed_wrong_vector_count_and_errors_fall_through_in_order() -> None:
    too_few = EmbeddingProvider("openrouter", "r", _OneVector())
    broken = provider("openai", RuntimeError("rate limited"))
    good = provider("gemini", lambda text: [1.0] + [0.0] * (EMBEDDING_DIMENSIONS - 1))
    reply = await embed(TEXTS, [too_few, broken, good], deadline=later())
    assert reply.provider == "gemini"
    assert reply.attempts == (
        Attempt(
            "openrouter", "r", "invalid_output", f"did not return {EMBEDDING_DIMENSIONS}-d vectors"
        ),
        Attempt("openai", "openai-embed", "error", "RuntimeError: rate limited"),
    )


class _OneVector(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[0.0] * EMBEDDING_DIMENSIONS]

    def embed_query(self, text: str) -> list[float]:
        return [0.0] * EMBEDDING_DIMENSIONS


async def test_embed_skips_providers_after_the_deadline() -> None:
    fake = provider("openai", lambda text: [0.5] * EMBEDDING_DIMENSIONS)
    reply = await embed(TEXTS, [fake], deadline=Deadline(time.monotonic() - 1))
    assert reply.provider == "offline"
    assert reply.attempts == (
        Attempt("openai", "openai-embed", "skipped", "The deadline had passed."),
    )
    assert isinstance(fake.client, FakeEmbeddings)
    assert fake.client.calls == 0


async def test_embed_honours_other_dimensions() -> None:
    reply = await embed(["hello"], [], deadline=later(), dimensions=8)
    assert len(reply.vectors[0]) == 8
    assert reply.model.endswith("-hash-8")
