"""The offline chat model: deterministic answers with no network and no weights.

Its hashed embeddings live beside the router, in `tools.models.embeddings`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from tools.text import estimate_tokens, normalise_text
from tools.text.words import tokens

OFFLINE_PROVIDER = "offline"
OFFLINE_MODEL = "stemgraph-offline-1"

Responder = Callable[[Sequence[BaseMessage]], str]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _message_text(message: BaseMessage) -> str:
    return message.text if isinstance(message.text, str) else str(message.content)


def extractive_reply(messages: Sequence[BaseMessage]) -> str:
    """Answer the last user message with its own most informative sentences (the default)."""
    user = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    text = normalise_text(_message_text(user)) if user else ""
    sentences = [s.strip() for s in _SENTENCE_END.split(text.replace("\n", " ")) if s.strip()]
    if not sentences:
        return "The offline engine received an empty message, so there is nothing to answer."
    counts = Counter(w for w in tokens(text) if len(w) > 3)

    def weight(sentence: str) -> float:
        words = [w for w in tokens(sentence) if len(w) > 3]
        return sum(counts[w] for w in set(words)) / (1 + math.log1p(len(words)))

    ranked = sorted(range(len(sentences)), key=lambda i: (-weight(sentences[i]), i))[:3]
    return " ".join(sentences[i] for i in sorted(ranked))


class OfflineChatModel(BaseChatModel):
    """A chat model that computes its reply locally; it streams the reply word by word."""

    responder: Responder = extractive_reply
    model_name: str = OFFLINE_MODEL

    @property
    def _llm_type(self) -> str:
        return "stemgraph-offline"

    def _usage(self, messages: Sequence[BaseMessage], text: str) -> UsageMetadata:
        prompt = sum(estimate_tokens(_message_text(m)) for m in messages)
        completion = estimate_tokens(text)
        return UsageMetadata(
            input_tokens=prompt, output_tokens=completion, total_tokens=prompt + completion
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self.responder(messages)
        message = AIMessage(content=text, usage_metadata=self._usage(messages, text))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _pieces(self, text: str) -> Iterator[str]:
        yield from re.findall(r"\S+\s*|\s+", text)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text = self.responder(messages)
        for piece in self._pieces(text):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        usage = self._usage(messages, text)
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        text = self.responder(messages)
        for piece in self._pieces(text):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                await run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        usage = self._usage(messages, text)
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))
