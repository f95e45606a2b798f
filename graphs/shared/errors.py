"""Failures a graph reports to its caller in words a user can read."""


class GenerationError(Exception):
    """The graph could not produce a valid result (by default a 502 with the route's code)."""

    status: int = 502
    code: str | None = None
