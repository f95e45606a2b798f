"""LangGraph Server's own protocol: assistants, threads, runs, resumable streams."""
