"""LangGraph Server's HTTP API (assistants, threads, runs) for the official SDKs, served by
stemgraph's own app on the same store, checkpointer and auth as the `/v1` routes."""
