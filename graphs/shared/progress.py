"""Progress events for the `custom` stream."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer


def report(stage: str, **fields: Any) -> None:
    """Write `{"stage": stage, ...}` to the run's custom stream (a no-op when nobody listens)."""
    get_stream_writer()({"stage": stage, **fields})
