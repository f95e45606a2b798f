"""Reading a text/event-stream response the way an EventSource client does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    event: str
    data: Any
    id: str | None


def iter_events(response: httpx.Response, *, pings: list[str] | None = None) -> Iterator[Event]:
    """Events as they arrive; comment lines (pings) are collected into `pings` when given."""
    name, data, event_id = "message", [], None
    for line in response.iter_lines():
        if line.startswith(":"):
            if pings is not None:
                pings.append(line)
            continue
        if not line:
            if data:
                yield Event(name, json.loads("\n".join(data)), event_id)
            name, data, event_id = "message", [], None
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value


def leave_at_first_token(url: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    """POST a streamed request and hang up as soon as the first token event arrives, like a
    client that closes the tab mid-answer."""
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", url, json=body, headers=headers) as response,
    ):
        for event in iter_events(response):
            if event.event == "messages":
                return
