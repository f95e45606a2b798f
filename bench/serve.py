"""`python -m bench.serve --port P --data-dir D [--fake-model]`: the server under benchmark.

Runs the real app on 127.0.0.1:P in this process (the benchmark runs it as a child process so
the load generator never shares its event loop or its CPU accounting).
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from pathlib import Path

from bench.fixtures import API_KEY, FAKE_MODEL, FAKE_PROVIDER, TIMED_MODEL, VALID_QUIZ_JSON
from bench.timed import TimedChatModel
from server.app import create_app
from server.logs import configure_logging
from server.serving import serve
from server.settings import ProviderName, Settings
from server.state import ChatProviderFactory
from tests.fakes import ScriptedChatModel
from tools.models.providers import ChatProvider


def fake_chat_factory() -> ChatProviderFactory:
    """One scripted model answering the valid quiz forever, shared by every request."""
    model = ScriptedChatModel(messages=itertools.cycle([VALID_QUIZ_JSON]), prompts=[])
    provider = ChatProvider(FAKE_PROVIDER, FAKE_MODEL, model)

    def factory(
        order: Sequence[ProviderName], temperature: float | None, max_tokens: int | None
    ) -> list[ChatProvider]:
        # The scripted model records every prompt; forget them so a long run does not grow.
        model.prompts.clear()
        return [provider]

    return factory


def timed_chat_factory() -> ChatProviderFactory:
    """One timed model (`bench.timed`) streaming 50 stamped tokens a second to every request."""
    provider = ChatProvider(FAKE_PROVIDER, TIMED_MODEL, TimedChatModel(tokens_per_s=50.0))

    def factory(
        order: Sequence[ProviderName], temperature: float | None, max_tokens: int | None
    ) -> list[ChatProvider]:
        return [provider]

    return factory


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument(
        "--fake-model",
        action="store_true",
        help="answer with a scripted chat model (default: no provider, the offline engine)",
    )
    parser.add_argument(
        "--timed-model",
        action="store_true",
        help="answer with the timed streaming model of `bench.timed` (the many-streams test)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    settings = Settings(
        data_dir=args.data_dir,
        python_backend_api_key=API_KEY,
        seed_demo=True,
        log_level="WARNING",
        log_format="text",
    )
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    factory = None
    if args.timed_model:
        factory = timed_chat_factory()
    elif args.fake_model:
        factory = fake_chat_factory()
    app = create_app(settings, chat_provider_factory=factory)
    serve(
        app,
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        lifespan="on",
        ws="none",
    )


if __name__ == "__main__":
    main()
