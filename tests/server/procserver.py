"""`python -m tests.server.procserver`: the real entry point (`python -m server`) in its own
process, with only the model faked, so tests can send it real signals.

Settings come from the environment as in production. The fake tutor streams its answer one
word every `STEMGRAPH_TEST_TOKEN_DELAY` seconds: 300 words, or 20 when the question contains
"quick".
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

import server.__main__ as entry
from server.settings import ProviderName, Settings
from tools.models.providers import ChatProvider


class PacedTutor(BaseChatModel):
    """A tutor reply streamed at a fixed pace: long unless the question asks for "quick"."""

    token_delay_s: float = 0.1

    @property
    def _llm_type(self) -> str:
        return "paced-fake"

    def _words(self, messages: list[BaseMessage]) -> list[str]:
        quick = "quick" in str(messages[-1].content).lower()
        answer = "Force is measured in newtons. " * 4 if quick else "word " * 300
        reply = {"safety": "ok", "answer": answer.strip(), "citations": []}
        return json.dumps(reply).split(" ")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError("PacedTutor is async-only")

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join([c.text async for c in self._astream(messages, stop, run_manager)])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for word in self._words(messages):
            await asyncio.sleep(self.token_delay_s)
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word + " "))
            if run_manager:
                await run_manager.on_llm_new_token(word + " ", chunk=chunk)
            yield chunk


def main() -> None:
    model = PacedTutor(token_delay_s=float(os.environ.get("STEMGRAPH_TEST_TOKEN_DELAY", "0.1")))

    def providers(
        order: Sequence[ProviderName], temperature: float | None, max_tokens: int | None
    ) -> list[ChatProvider]:
        return [ChatProvider("openai", "paced-fake", model)]

    real_create_app = entry.create_app

    def create_app(settings: Settings) -> Any:
        return real_create_app(settings, chat_provider_factory=providers)

    entry.create_app = create_app  # type: ignore[assignment]
    entry.main()


if __name__ == "__main__":
    main()
