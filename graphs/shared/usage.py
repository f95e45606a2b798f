"""Adding up token usage across a run's model calls."""

from __future__ import annotations

from tools.models.router import Usage


def add_usage(total: dict[str, int] | None, usage: Usage | None) -> dict[str, int] | None:
    """`total` plus `usage`; None only while no call has reported usage."""
    if usage is None:
        return total
    if total is None:
        return usage.as_dict()
    return {key: total.get(key, 0) + value for key, value in usage.as_dict().items()}
