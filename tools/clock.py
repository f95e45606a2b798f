"""Timestamps as the wire and both stores carry them: ISO-8601 UTC with microseconds and `Z`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """`2026-11-21T09:30:00.123456Z`: fixed width, so text order is time order (SQLite)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso(*, plus_seconds: float = 0.0) -> str:
    return to_iso(utc_now() + timedelta(seconds=plus_seconds))


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive ones are taken as UTC. Raises ValueError."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def normalise_iso(value: object) -> str | None:
    """A stored timestamp (datetime from Postgres, text from SQLite) in the wire format."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_iso(value if value.tzinfo else value.replace(tzinfo=UTC))
    return to_iso(parse_iso(str(value)))
