"""`python -m tests.server.procserver`: the real entry point (`python -m server`) in its own
process, with only the model faked, so tests can send it real signals.

Settings come from the environment as in production. The fake tutor streams its answer one
word every `STEMGRAPH_TEST_TOKEN_DELAY` seconds: 300 words, or 20 when the question contains
"quick". With `STEMGRAPH_TEST_CHAT=offline` no chat provider is configured (the offline engine
answers) while embedding providers still come from the environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

import server.__main__ as entry
from server.settings import ProviderName, Settings
from tests.fakes import TrickleChatModel
from tools.models.providers import ChatProvider


class PacedTutor(TrickleChatModel):
    """A tutor reply streamed at a fixed pace: long unless the question asks for "quick"."""

    reply: str = ""
    token_delay_s: float = 0.1

    def reply_for(self, messages: list[BaseMessage]) -> str:
        quick = "quick" in str(messages[-1].content).lower()
        answer = "Force is measured in newtons. " * 4 if quick else "word " * 300
        return json.dumps({"safety": "ok", "answer": answer.strip(), "citations": []})


def main() -> None:
    model = PacedTutor(token_delay_s=float(os.environ.get("STEMGRAPH_TEST_TOKEN_DELAY", "0.1")))

    def providers(
        order: Sequence[ProviderName], temperature: float | None, max_tokens: int | None
    ) -> list[ChatProvider]:
        if os.environ.get("STEMGRAPH_TEST_CHAT") == "offline":
            return []
        return [ChatProvider("openai", "paced-fake", model)]

    real_create_app = entry.create_app

    def create_app(settings: Settings) -> Any:
        return real_create_app(settings, chat_provider_factory=providers)

    entry.create_app = create_app  # type: ignore[assignment]
    entry.main()


if __name__ == "__main__":
    main()
