"""Provider clients: which providers are configured, in which order, and how to build them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from tools.models.settings import PROVIDER_NAMES, ProviderName, ProviderSettings

ProviderLabel = Literal["openrouter", "openai", "gemini", "offline"]


@dataclass(frozen=True, slots=True)
class ChatProvider:
    """A configured chat model and the names reported to the caller."""

    name: ProviderLabel
    model: str
    client: BaseChatModel


@dataclass(frozen=True, slots=True)
class EmbeddingProvider:
    name: ProviderLabel
    model: str
    client: Embeddings


def resolve_order(
    settings: ProviderSettings,
    provider_order: Sequence[ProviderName] | None = None,
    default_provider: ProviderName | None = None,
) -> list[ProviderName]:
    """The fallback order: the caller's list (or the default), with the default provider first."""
    order = list(dict.fromkeys(provider_order or PROVIDER_NAMES))
    first = default_provider or settings.ai_provider_default
    # The default reorders the caller's list; it never adds a provider the caller left out.
    if first and first in order:
        order = [first, *(name for name in order if name != first)]
    return order


def _key(settings: ProviderSettings, name: ProviderName) -> str | None:
    keys = {
        "openrouter": settings.openrouter_api_key,
        "openai": settings.openai_api_key,
        "gemini": settings.gemini_api_key,
    }
    return keys[name]


def configured(settings: ProviderSettings) -> list[ProviderName]:
    """Providers that have a key, in the default order."""
    return [name for name in PROVIDER_NAMES if _key(settings, name)]


def build_chat_provider(
    settings: ProviderSettings,
    name: ProviderName,
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> ChatProvider | None:
    """A chat client for `name`, or None when that provider has no key.

    Retries are off: the router moves to the next provider instead, under the shared deadline.
    """
    key = _key(settings, name)
    if not key:
        return None
    if name == "gemini":
        from langchain_google_genai import ChatGoogleGenerativeAI

        gemini = ChatGoogleGenerativeAI(
            model=settings.gemini_model,
            google_api_key=SecretStr(key),
            temperature=temperature,
            max_output_tokens=max_tokens,
            max_retries=0,
        )
        return ChatProvider("gemini", settings.gemini_model, gemini)

    from langchain_openai import ChatOpenAI

    if name == "openrouter":
        headers = {"X-Title": settings.openrouter_app_name}
        if settings.openrouter_site_url:
            headers["HTTP-Referer"] = settings.openrouter_site_url
        client = ChatOpenAI(
            model=settings.openrouter_model,
            api_key=SecretStr(key),
            base_url=settings.openrouter_base_url,
            default_headers=headers,
            temperature=temperature,
            max_tokens=max_tokens,
            max_retries=0,
            stream_usage=True,
        )
        return ChatProvider("openrouter", settings.openrouter_model, client)
    client = ChatOpenAI(
        model=settings.openai_model,
        api_key=SecretStr(key),
        temperature=temperature,
        max_tokens=max_tokens,
        max_retries=0,
        stream_usage=True,
    )
    return ChatProvider("openai", settings.openai_model, client)


def chat_providers(
    settings: ProviderSettings,
    order: Sequence[ProviderName],
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> list[ChatProvider]:
    """The configured chat providers in `order` (unconfigured ones are skipped)."""
    built = (
        build_chat_provider(settings, name, temperature=temperature, max_tokens=max_tokens)
        for name in order
    )
    return [provider for provider in built if provider is not None]


def embedding_providers(
    settings: ProviderSettings, order: Sequence[ProviderName], *, dimensions: int
) -> list[EmbeddingProvider]:
    """The configured embedding providers in `order`, each asked for `dimensions` numbers."""
    providers: list[EmbeddingProvider] = []
    for name in order:
        key = _key(settings, name)
        if not key:
            continue
        if name == "gemini":
            from langchain_google_genai import GoogleGenerativeAIEmbeddings

            model = settings.gemini_embedding_model
            gemini = GoogleGenerativeAIEmbeddings(
                model=model, google_api_key=SecretStr(key), output_dimensionality=dimensions
            )
            providers.append(EmbeddingProvider("gemini", model, gemini))
            continue
        from langchain_openai import OpenAIEmbeddings

        model = (
            settings.openrouter_embedding_model
            if name == "openrouter"
            else settings.openai_embedding_model
        )
        client = OpenAIEmbeddings(
            model=model,
            openai_api_key=SecretStr(key),
            openai_api_base=settings.openrouter_base_url if name == "openrouter" else None,
            dimensions=dimensions,
            # The length check needs tiktoken's downloaded encodings; the API enforces limits.
            check_embedding_ctx_length=False,
            max_retries=0,
        )
        providers.append(EmbeddingProvider(name, model, client))
    return providers
