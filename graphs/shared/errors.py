"""Failures a graph reports to its caller in words a user can read."""


class GenerationError(Exception):
    """The graph could not produce a valid result (the route answers 502 with its own code)."""
