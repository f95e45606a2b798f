"""Failures a graph reports to its caller in words a user can read."""


class GenerationError(RuntimeError):
    """The graph could not produce a valid result (by default a 502 with the route's code).

    A `RuntimeError` because LangGraph's own server (`langgraph dev`, Studio) shows only the
    builtin error kinds with their message and turns every other exception into "An internal
    error occurred"; `graphs/shared/retry.py` never retries it.
    """

    status: int = 502
    code: str | None = None
