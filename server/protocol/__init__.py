"""LangGraph Server's HTTP API (assistants, threads, runs) for the official SDKs, served by
stemgraph's own app on the same store, checkpointer and auth as the `/v1` routes."""

from __future__ import annotations

from starlette.routing import Route

from server.protocol import assistants, runs, threads

_T = "/threads/{thread_id}"
_R = _T + "/runs/{run_id}"

ROUTES: list[Route] = [
    Route("/assistants/search", assistants.search, methods=["POST"]),
    Route("/assistants/{assistant_id}", assistants.get, methods=["GET"]),
    Route("/assistants/{assistant_id}/graph", assistants.get_graph, methods=["GET"]),
    Route("/assistants/{assistant_id}/schemas", assistants.get_schemas, methods=["GET"]),
    Route("/assistants/{assistant_id}/subgraphs", assistants.get_subgraphs, methods=["GET"]),
    Route("/threads", threads.create, methods=["POST"]),
    Route("/threads/search", threads.search, methods=["POST"]),
    Route(_T, threads.get, methods=["GET"]),
    Route(_T, threads.patch, methods=["PATCH"]),
    Route(_T, threads.delete, methods=["DELETE"]),
    Route(_T + "/state", threads.get_state, methods=["GET"]),
    Route(_T + "/state", threads.update_state, methods=["POST"]),
    Route(_T + "/state/{checkpoint_id}", threads.get_state, methods=["GET"]),
    Route(_T + "/history", threads.history, methods=["GET", "POST"]),
    Route("/runs/stream", runs.stream, methods=["POST"]),
    Route("/runs/wait", runs.wait, methods=["POST"]),
    Route("/runs", runs.create, methods=["POST"]),
    Route(_T + "/runs/stream", runs.stream, methods=["POST"]),
    Route(_T + "/runs/wait", runs.wait, methods=["POST"]),
    Route(_T + "/runs", runs.create, methods=["POST"]),
    Route(_T + "/runs", runs.list_runs, methods=["GET"]),
    Route(_R, runs.get, methods=["GET"]),
    Route(_R, runs.delete, methods=["DELETE"]),
    Route(_R + "/join", runs.join, methods=["GET"]),
    Route(_R + "/stream", runs.join_stream, methods=["GET"]),
    Route(_R + "/cancel", runs.cancel, methods=["POST"]),
]
