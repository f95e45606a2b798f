"""Per-call model options, sent to each provider under the names it honours."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable


@dataclass(frozen=True, slots=True)
class CallOptions:
    """What one model call asks for; None/False leaves the provider's default."""

    temperature: float | None = None
    max_tokens: int | None = None  # sent under the name each provider honours
    json_mode: bool = False  # ask for a JSON object natively
    json_schema: dict[str, Any] | None = None  # when the provider supports schema'd JSON

    def over(self, defaults: CallOptions) -> CallOptions:
        """These options, with `defaults` filling what they leave unset."""
        return CallOptions(
            temperature=defaults.temperature if self.temperature is None else self.temperature,
            max_tokens=defaults.max_tokens if self.max_tokens is None else self.max_tokens,
            json_mode=self.json_mode or defaults.json_mode,
            json_schema=defaults.json_schema if self.json_schema is None else self.json_schema,
        )


def call_kwargs(
    client: BaseChatModel, options: CallOptions, *, native_schema: bool
) -> dict[str, Any]:
    """The `.bind(...)` arguments that carry `options` to `client`'s provider.

    `native_schema` is True only for OpenAI proper: OpenRouter-style servers and llama.cpp reject
    `json_schema` response formats, so they get `json_object` instead.
    """
    kwargs: dict[str, Any] = {}
    if options.temperature is not None:
        kwargs["temperature"] = options.temperature
    wants_json = options.json_mode or options.json_schema is not None
    if _instance_of(client, "langchain_openai.chat_models.base", "BaseChatOpenAI"):
        # Both go in `extra_body`: ChatOpenAI renames `max_tokens` to `max_completion_tokens`,
        # which OpenRouter-style servers and llama.cpp ignore; and a `response_format` kwarg
        # switches it to the SDK's parsing stream, which raises on `finish_reason: length`
        # instead of returning the text (the caller reads `finish_reason` and repairs).
        body: dict[str, Any] = {}
        if options.max_tokens is not None:
            body["max_tokens"] = options.max_tokens
        if options.json_schema is not None and native_schema:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": options.json_schema, "strict": False},
            }
        elif wants_json:
            body["response_format"] = {"type": "json_object"}
        if body:
            kwargs["extra_body"] = body
        return kwargs
    if _instance_of(client, "langchain_google_genai.chat_models", "ChatGoogleGenerativeAI"):
        if options.max_tokens is not None:
            kwargs["max_output_tokens"] = options.max_tokens
        if wants_json:
            kwargs["response_mime_type"] = "application/json"
        if options.json_schema is not None:
            kwargs["response_json_schema"] = options.json_schema
        return kwargs
    # Any other chat model gets the generic names (LangChain's own keyword arguments), so a
    # model that honours them can, and one that ignores them (the offline engine) loses nothing.
    if options.max_tokens is not None:
        kwargs["max_tokens"] = options.max_tokens
    if wants_json:
        kwargs["response_format"] = {"type": "json_object"}
    return kwargs


def _instance_of(client: BaseChatModel, module: str, name: str) -> bool:
    """`isinstance(client, module.name)` without importing `module`: a client of that class
    means its module is loaded already, and importing a provider's library on a request (a
    second or more, which stalls every stream the server holds) buys nothing otherwise."""
    kind = getattr(sys.modules.get(module), name, None)
    return isinstance(kind, type) and isinstance(client, kind)


def bound(
    client: BaseChatModel, options: CallOptions, *, native_schema: bool
) -> Runnable[list[BaseMessage], Any]:
    """`client` with `options` applied to this call only (the client stays cached and shared)."""
    kwargs = call_kwargs(client, options, native_schema=native_schema)
    return client.bind(**kwargs) if kwargs else client
