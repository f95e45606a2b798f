"""Provider clients: which providers are configured, in which order, and how to build them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from tools.models.options import CallOptions
from tools.models.settings import PROVIDER_NAMES, ProviderName, ProviderSettings

ProviderLabel = Literal["openrouter", "openai", "gemini", "offline"]


@dataclass(frozen=True, slots=True)
class ChatProvider:
    """A configured chat model, the names reported to the caller, and its own limits.

    `defaults` fill what a call's `CallOptions` leave unset. `first_token_timeout_s` and
    `idle_timeout_s` (None: only the request's deadline) bound this provider's silence.
    `native_schema`: the provider accepts `json_schema` response formats (OpenAI proper).
    """

    name: ProviderLabel
    model: str
    client: BaseChatModel
    defaults: CallOptions = field(default_factory=CallOptions)
    first_token_timeout_s: float | None = None
    idle_timeout_s: float | None = None
    native_schema: bool = False


@dataclass(frozen=True, slots=True)
class EmbeddingProvider:
    """A configured embeddings model; `timeout_s` bounds each call (None: the caller's only)."""

    name: ProviderLabel
    model: str
    client: Embeddings
    timeout_s: float | None = None


def header_value(text: str) -> str:
    """`text` as an HTTP header value: ASCII unchanged, anything else percent-encoded.

    httpx encodes header values as ASCII, so "Física & Química" would fail every call.
    """
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        return quote(text, safe="")
    return text


def app_headers(settings: ProviderSettings) -> dict[str, str]:
    """OpenRouter's attribution headers, sent on chat and embedding calls alike."""
    headers = {"X-Title": header_value(settings.openrouter_app_name)}
    if settings.openrouter_site_url:
        headers["HTTP-Referer"] = header_value(settings.openrouter_site_url)
    return headers


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
    http_client: Any | None = None,
) -> ChatProvider | None:
    """A chat client for `name`, or None when that provider has no key.

    The SDKs' own retries are off: the router retries 429/503 itself under the request's
    deadline and moves to the next provider otherwise. `temperature`/`max_tokens` become the
    provider's default call options (applied per call, so one client serves every caller).
    `http_client` is the app's shared `openai.DefaultAsyncHttpxClient` (None: the SDK's own).
    """
    key = _key(settings, name)
    if not key:
        return None
    limits: dict[str, Any] = {
        "defaults": CallOptions(temperature=temperature, max_tokens=max_tokens),
        "first_token_timeout_s": settings.ai_first_token_timeout_ms / 1000,
        "idle_timeout_s": settings.ai_idle_timeout_ms / 1000,
    }
    if name == "gemini":
        from langchain_google_genai import ChatGoogleGenerativeAI

        gemini = ChatGoogleGenerativeAI(
            model=settings.gemini_model, google_api_key=SecretStr(key), max_retries=0
        )
        return ChatProvider("gemini", settings.gemini_model, gemini, **limits)

    from langchain_openai import ChatOpenAI

    common: dict[str, Any] = {
        "api_key": SecretStr(key),
        "max_retries": 0,
        "stream_usage": True,
        # The per-chunk `asyncio.wait_for` can swallow the router's cancellation on Python
        # 3.11, so a deadline would not cut the stream; the router times chunks itself.
        "stream_chunk_timeout": None,
    }
    if http_client is not None:
        common["http_async_client"] = http_client
    if name == "openrouter":
        client = ChatOpenAI(
            model=settings.openrouter_model,
            base_url=settings.openrouter_base_url,
            default_headers=app_headers(settings),
            **common,
        )
        return ChatProvider("openrouter", settings.openrouter_model, client, **limits)
    client = ChatOpenAI(model=settings.openai_model, **common)
    return ChatProvider("openai", settings.openai_model, client, native_schema=True, **limits)


def chat_providers(
    settings: ProviderSettings,
    order: Sequence[ProviderName],
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    http_client: Any | None = None,
) -> list[ChatProvider]:
    """The configured chat providers in `order` (unconfigured ones are skipped)."""
    built = (
        build_chat_provider(
            settings, name, temperature=temperature, max_tokens=max_tokens, http_client=http_client
        )
        for name in order
    )
    return [provider for provider in built if provider is not None]


def embedding_providers(
    settings: ProviderSettings,
    order: Sequence[ProviderName],
    *,
    dimensions: int,
    http_client: Any | None = None,
) -> list[EmbeddingProvider]:
    """The configured embedding providers in `order`, each asked for `dimensions` numbers.

    Each call is bounded by `AI_EMBEDDING_TIMEOUT_MS` (inside the caller's own deadline).
    """
    providers: list[EmbeddingProvider] = []
    timeout_s = settings.ai_embedding_timeout_ms / 1000
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
            providers.append(EmbeddingProvider("gemini", model, gemini, timeout_s))
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
            default_headers=app_headers(settings) if name == "openrouter" else None,
            http_async_client=http_client,
            dimensions=dimensions,
            # The length check needs tiktoken's downloaded encodings; the API enforces limits.
            check_embedding_ctx_length=False,
            max_retries=0,
        )
        providers.append(EmbeddingProvider(name, model, client, timeout_s))
    return providers
