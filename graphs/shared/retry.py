"""Which node failures are worth another try: only those a second attempt can fix."""

from __future__ import annotations

import sqlite3
from typing import Final

import httpx
import openai
import psycopg
from langgraph.types import RetryPolicy

from graphs.shared.errors import GenerationError

# Statuses a server answers when it is overloaded or briefly down, not when the request is bad.
_TRANSIENT_STATUSES: Final = frozenset({408, 425, 429})


def _status_of(error: BaseException) -> int | None:
    """The HTTP status an error carries (httpx's and the provider SDKs' status errors)."""
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(error: BaseException) -> bool:
    """True for network failures, timeouts, 5xx/429 answers and a database that is briefly
    unreachable or busy; False for everything a retry would only repeat: a graph's own
    `GenerationError` (no class material, no blueprint, rules broken), bad input
    (`ValueError`, unreadable material), programming errors."""
    if isinstance(error, GenerationError):
        return False
    status = _status_of(error)
    if status is not None:
        return status >= 500 or status in _TRANSIENT_STATUSES
    if isinstance(error, TimeoutError | ConnectionError | httpx.TransportError):
        return True
    # The SDK's connection failures and timeouts; psycopg's lost connections and pool timeouts.
    if isinstance(error, openai.APIConnectionError | psycopg.OperationalError):
        return True
    # SQLite reports a writer holding the lock past the busy timeout this way.
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)


# One more try after a transient failure of a node that reads or writes the database.
TRANSIENT_RETRY: Final = RetryPolicy(max_attempts=2, initial_interval=0.2, retry_on=is_transient)
