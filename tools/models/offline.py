"""The offline engine: deterministic answers and embeddings with no network and no weights."""

from __future__ import annotations

import hashlib
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

OFFLINE_PROVIDER = "offline"
OFFLINE_MODEL = "stemgraph-offline-1"
EMBEDDING_DIMENSIONS = 1536

Responder = Callable[[Sequence[BaseMessage]], str]
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
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
    counts = Counter(w for w in _WORD.findall(text.casefold()) if len(w) > 3)

    def weight(sentence: str) -> float:
        words = [w for w in _WORD.findall(sentence.casefold()) if len(w) > 3]
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


def _features(text: str) -> Counter[str]:
    words = _WORD.findall(normalise_text(text).casefold())
    stems = [
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words
    ]
    features: Counter[str] = Counter(stems)
    features.update(f"{a} {b}" for a, b in zip(stems, stems[1:], strict=False))
    return features


def offline_sparse_embedding(
    text: str, *, dimensions: int = EMBEDDING_DIMENSIONS
) -> dict[int, float]:
    """The non-zero entries of `offline_embedding(text)` (cheap to compare: few entries)."""
    vector: dict[int, float] = {}
    for feature, count in _features(text).items():
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dimensions
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[bucket] = vector.get(bucket, 0.0) + sign * (1.0 + math.log(count))
    norm = math.sqrt(sum(v * v for v in vector.values()))
    if norm == 0.0:
        # Text with no words still needs a valid, finite, non-zero vector for `vector(1536)`.
        return {0: 1.0}
    return {bucket: value / norm for bucket, value in vector.items() if value}


def sparse_cosine(a: dict[int, float], b: dict[int, float]) -> float:
    """Cosine similarity of two unit sparse vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(value * b.get(bucket, 0.0) for bucket, value in a.items())


def offline_embedding(text: str, *, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A unit vector from signed feature hashing of words and word pairs.

    Texts that share vocabulary get a high cosine similarity, which is enough for lexical-style
    dense retrieval offline; the same text always gives the same vector.
    """
    vector = [0.0] * dimensions
    for bucket, value in offline_sparse_embedding(text, dimensions=dimensions).items():
        vector[bucket] = value
    return vector
