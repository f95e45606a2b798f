"""A loopback Supabase Storage server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.storage_server import StorageServer

SERVICE_KEY = "service-role-key-for-tests"


@pytest.fixture
def storage() -> Iterator[StorageServer]:
    with StorageServer(key=SERVICE_KEY) as server:
        yield server
