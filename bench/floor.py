"""`python -m bench.floor --port P`: the floor the real server is compared with.

The least a server can do to stream the quiz graph: Starlette + sse-starlette calling
`graph.astream(..., version="v2")` on the same compiled graph, with the same input and the same
scripted model as `bench.serve --fake-model`, framing each part as SSE in the server's order
(`metadata`, the parts, the final `values`). Without `Accept: text/event-stream` it answers
`graph.ainvoke`'s result as the server's JSON envelope. No auth, store, settings, guards or
logging: what the real server spends beyond this is its own.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import uvicorn
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import StreamMode
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bench.serve import fake_chat_factory
from graphs.quiz.graph import graph as quiz_graph
from graphs.quiz.state import QuizInput
from graphs.shared.context import GenerationContext
from tools.models.router import Deadline, ModelRouter

# The real server's modes (`server/streaming.py`), so both streams carry the same parts.
STREAM_MODES: list[StreamMode] = ["values", "updates", "custom", "messages"]
_TIMEOUT_MS = 60_000


def _default(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseMessage) else str(value)


def _frame(event: str, data: Any) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(data, default=_default), event=event)


def create_floor_app() -> Starlette:
    """The floor app: `GET /healthz` and `POST /v1/quiz/generate` (SSE only)."""
    providers = fake_chat_factory()

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def quiz(request: Request) -> Response:
        body = await request.json()
        graph_input: QuizInput = {
            "class_title": body["class_title"],
            "question_count": body["question_count"],
            "instructions": body.get("instructions") or "",
            "blueprint_context": body.get("blueprint_context") or "",
            "material_context": body.get("material_context") or "",
            "class_id": None,
        }
        context = GenerationContext(
            router=ModelRouter(providers((), None, None)),
            store=None,
            embedding_providers=(),
            timeout_ms=_TIMEOUT_MS,
            deadline=Deadline.after_ms(_TIMEOUT_MS),
        )
        run_id = str(uuid.uuid4())
        if "text/event-stream" not in request.headers.get("accept", ""):
            values = await quiz_graph.ainvoke(
                graph_input, RunnableConfig(run_id=uuid.UUID(run_id)), context=context
            )
            data = {
                "payload": values["payload"],
                "provider": values["provider"],
                "model": values["model"],
                "usage": values.get("usage"),
                "latency_ms": int(values.get("latency_ms", 0)),
                "attempts": [dict(a) for a in values.get("attempts") or []],
            }
            return JSONResponse({"ok": True, "data": data, "error": None, "meta": {}})

        async def events() -> AsyncIterator[ServerSentEvent]:
            yield _frame("metadata", {"run_id": run_id})
            last: Any = None
            async for part in quiz_graph.astream(
                graph_input,
                RunnableConfig(run_id=uuid.UUID(run_id)),
                context=context,
                stream_mode=STREAM_MODES,
                version="v2",
            ):
                if part["type"] == "values":
                    last = part["data"]
                elif part["type"] == "messages":
                    chunk, metadata = part["data"]
                    node = {"langgraph_node": metadata.get("langgraph_node")}
                    yield _frame("messages", [chunk.model_dump(), node])
                else:
                    yield _frame(part["type"], part["data"])
            yield _frame("values", last)

        return EventSourceResponse(events())

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/v1/quiz/generate", quiz, methods=["POST"]),
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    # Accepted so `ServerProcess` starts it like `bench.serve`; the floor keeps no data.
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--fake-model", action="store_true")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_floor_app(),
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        lifespan="off",
        ws="none",
    )


if __name__ == "__main__":
    main()
