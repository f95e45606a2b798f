"""A scripted chat model that also records what each call asked for (the bound options)."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult

from tools.models.fakes import ScriptedChatModel


class RecordingChatModel(ScriptedChatModel):
    """Replies like `ScriptedChatModel` and keeps each call's keyword options in `options`."""

    options: list[dict[str, Any]] = []

    @classmethod
    def replying(cls, *replies: str | AIMessage) -> RecordingChatModel:
        return cls(messages=iter(replies), prompts=[], options=[])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.options.append(dict(kwargs))
        return super()._generate(messages, stop, run_manager, **kwargs)


def json_call(temperature: float, max_tokens: int) -> dict[str, Any]:
    """The options every structured call must carry: JSON mode, a temperature and a cap."""
    return {
        "temperature": temperature,
        "max_tokens": max_tokens,
        "response_format": {"type": "json_object"},
    }


def cut_off(text: str) -> AIMessage:
    """A reply the provider ended at the token cap."""
    return AIMessage(text, response_metadata={"finish_reason": "length"})
