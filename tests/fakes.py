"""Test doubles that are real chat models: scripted, failing, slow and streaming (no network,
ever). Tests use or extend these rather than declaring their own."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Self

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable


class ScriptedChatModel(GenericFakeChatModel):
    """Replies with the scripted messages in order and records every prompt it was sent.

    Streamed, a scripted message's usage and response metadata arrive on a last empty chunk,
    as a provider streams them.
    """

    prompts: list[list[BaseMessage]] = []
    sent: list[AIMessage] = []

    @classmethod
    def replying(cls, *replies: str | AIMessage | dict[str, Any]) -> Self:
        """A model answering `replies` in order; a dict is sent as its JSON text."""
        texts = [json.dumps(r) if isinstance(r, dict) else r for r in replies]
        return cls(messages=iter(texts), prompts=[], sent=[])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, Any]:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.prompts.append(list(messages))
        result = super()._generate(messages, stop, run_manager, **kwargs)
        message = result.generations[0].message
        if isinstance(message, AIMessage):
            self.sent.append(message)
        return result

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # On the event loop, as a provider's async client is: LangChain's default runs
        # `_generate` on a worker thread, a hop no real model call makes.
        return self._generate(messages, stop, None, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from super()._stream(messages, stop, run_manager, **kwargs)
        tail = self._tail(with_kwargs=False)  # the parent streamed `additional_kwargs` already
        if tail is not None:
            yield tail

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # Through `_agenerate`, so a subclass that delays or fails there does so when streamed.
        result = await self._agenerate(messages, stop, None, **kwargs)
        message = result.generations[0].message
        text = message.content if isinstance(message.content, str) else ""
        for piece in re.split(r"(\s)", text) if text else []:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece, id=message.id))
            if run_manager:
                await run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        tail = self._tail(with_kwargs=True)
        if tail is not None:
            yield tail

    def _tail(self, *, with_kwargs: bool) -> ChatGenerationChunk | None:
        """The last reply's usage and metadata as a final empty chunk, as providers stream them."""
        last = self.sent[-1] if self.sent else None
        extra = dict(last.additional_kwargs) if last is not None and with_kwargs else {}
        if last is None or not (last.usage_metadata or last.response_metadata or extra):
            return None
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                id=last.id,
                usage_metadata=last.usage_metadata,
                response_metadata=dict(last.response_metadata),
                additional_kwargs=extra,
            )
        )


class SlowScriptedChatModel(ScriptedChatModel):
    """A scripted model that waits `delay_s` before each answer, so two requests overlap."""

    delay_s: float = 1.0

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        await asyncio.sleep(self.delay_s)
        return await super()._agenerate(messages, stop, run_manager, **kwargs)


class FailingChatModel(BaseChatModel):
    """Always raises, like a provider that is down or rejects the key."""

    error: str = "provider unavailable"
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "failing-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls += 1
        raise ConnectionError(self.error)


class _AsyncOnlyChatModel(BaseChatModel):
    """A model the server only ever awaits: a synchronous call is a test mistake."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError(f"{type(self).__name__} is async-only")


class StreamOnlyChatModel(_AsyncOnlyChatModel):
    """An async-only model defined by its `_astream`: a plain call joins the streamed text."""

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join([c.text async for c in self._astream(messages, stop, run_manager)])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])


class SlowChatModel(_AsyncOnlyChatModel):
    """Answers only after `delay_s`, like a provider that hangs past the deadline."""

    delay_s: float = 5.0
    reply: str = "late"

    @property
    def _llm_type(self) -> str:
        return "slow-fake"

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        await asyncio.sleep(self.delay_s)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.reply))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        result = await self._agenerate(messages, stop, run_manager, **kwargs)
        yield ChatGenerationChunk(message=AIMessageChunk(content=result.generations[0].text))


class TrickleChatModel(StreamOnlyChatModel):
    """Streams `reply` one word every `token_delay_s`, noting whether it was cancelled midway.

    Each chunk carries `chunk_metadata` as its response metadata; a subclass may pick the
    reply from the prompt by overriding `reply_for`."""

    reply: str
    token_delay_s: float = 0.05
    chunk_metadata: dict[str, Any] = {}
    tokens_sent: int = 0
    cancelled: bool = False
    finished: bool = False

    @property
    def _llm_type(self) -> str:
        return "trickle-fake"

    def reply_for(self, messages: list[BaseMessage]) -> str:
        """The text to stream for this prompt: `reply`, whatever was asked."""
        return self.reply

    def wait_cancelled(self, timeout_s: float = 5.0) -> bool:
        """Block (from a test's thread) until the stream was cancelled or `timeout_s` passed."""
        deadline = time.monotonic() + timeout_s
        while not self.cancelled and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.cancelled

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        try:
            for word in self.reply_for(messages).split(" "):
                await asyncio.sleep(self.token_delay_s)
                piece = word + " "
                message = AIMessageChunk(content=piece, response_metadata=self.chunk_metadata)
                chunk = ChatGenerationChunk(message=message)
                if run_manager:
                    await run_manager.on_llm_new_token(piece, chunk=chunk)
                self.tokens_sent += 1
                yield chunk
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.finished = True


class RecordingChatModel(ScriptedChatModel):
    """Replies like `ScriptedChatModel` and keeps each call's keyword options in `options`."""

    options: list[dict[str, Any]] = []

    @classmethod
    def replying(cls, *replies: str | AIMessage | dict[str, Any]) -> Self:
        texts = [json.dumps(r) if isinstance(r, dict) else r for r in replies]
        return cls(messages=iter(texts), prompts=[], sent=[], options=[])

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
