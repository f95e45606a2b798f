"""Fixtures for graph runs without a caller's context (as under `langgraph dev`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graphs.shared.runtime_objects import RuntimeObjects, runtime_objects


@pytest.fixture
async def environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RuntimeObjects]:
    """The process's runtime objects, read afresh from an environment whose data dir is a
    temporary folder in dev mode (the demo class seeded); its store is closed at the end."""
    monkeypatch.setenv("STEMGRAPH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STEMGRAPH_DEV_MODE", "true")
    monkeypatch.delenv("STEMGRAPH_DATABASE_URL", raising=False)
    runtime_objects.cache_clear()
    objects = runtime_objects()
    try:
        yield objects
    finally:
        await objects.aclose()
        runtime_objects.cache_clear()
