"""A fake chat model that streams at a timed rate, each token stamped with when it left.

The reply is the tutor's JSON (`{"safety", "answer", "citations"}`) whose answer is made of
tokens `t<ns>` (plus optional padding), `<ns>` being `time.monotonic_ns()` just before the token
is yielded to LangChain, which hands it to LangGraph's `messages` stream. On Linux the monotonic
clock is one clock for every process, so the bench (another process) subtracts it from its own
clock when the token arrives.

The bench says what it wants in the user message: `bench tokens=<n> pad=<bytes>` (how many
tokens, and how many filler bytes each one carries so a stalled client's buffers fill fast).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any, Final

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk

from tests.fakes import StreamOnlyChatModel

TOKEN: Final = re.compile(rb"t(\d{12,})")
_ASK: Final = re.compile(r"bench tokens=(\d+)(?: pad=(\d+))?")
_PREFIX: Final = '{"safety": "ok", "answer": "'
_SUFFIX: Final = '", "citations": []}'
DEFAULT_TOKENS: Final = 50


def bench_message(tokens: int, pad: int = 0) -> str:
    """The user message asking the timed model for `tokens` tokens of `pad` filler bytes."""
    return f"bench tokens={tokens} pad={pad}"


def _asked(messages: list[BaseMessage]) -> tuple[int, int]:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            match = _ASK.search(str(message.content))
            if match:
                return int(match.group(1)), int(match.group(2) or 0)
    return DEFAULT_TOKENS, 0


class TimedChatModel(StreamOnlyChatModel):
    """Streams `tokens_per_s` stamped tokens a second on a fixed schedule (async only).

    Each token is due at `start + i / tokens_per_s`: a model behind schedule (an overloaded
    event loop) sends late rather than faster, and each stamp is the moment it really left.
    """

    tokens_per_s: float = 50.0

    @property
    def _llm_type(self) -> str:
        return "timed-fake"

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        count, pad = _asked(messages)
        filler = "x" * pad
        start = time.monotonic()
        yield ChatGenerationChunk(message=AIMessageChunk(content=_PREFIX))
        for index in range(count):
            delay = start + (index + 1) / self.tokens_per_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # LangChain hands each yielded chunk to the stream's callbacks (`messages` mode).
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=f"t{time.monotonic_ns()}{filler} ")
            )
        yield ChatGenerationChunk(message=AIMessageChunk(content=_SUFFIX))
