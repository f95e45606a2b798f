"""Crashes and shutdown with real server processes (`python -m server`'s entry point) and real
signals, on both backends: a SIGKILL frees a chat session within seconds; SIGTERM stops
accepting, lets runs finish for the grace period, then ends the rest with
`server_shutting_down`."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tests.server.conftest import API_KEY, user_token
from tests.server.processes import ServerProcess, server_process
from tests.sse import Event, iter_events
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS
from tools.store import open_store

LENA = DEMO_STUDENT_IDS[0]
WS = "/v1/chat/workspace"


@dataclass
class Database:
    env: dict[str, str]
    url: str
    schema: str | None = None

    async def session_messages(self, session_id: str) -> list[Any]:
        store = await open_store(self.url, schema=self.schema)
        try:
            return list(await store.session_messages(session_id))
        finally:
            await store.close()


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[Database]:
    data_dir = tmp_path / "data"
    if backend == "sqlite":
        yield Database({"STEMGRAPH_DATA_DIR": str(data_dir)}, str(data_dir / "stemgraph.sqlite3"))
        return
    url, schema = postgres_url_or_skip(), fresh_schema_name()
    yield Database(
        {
            "STEMGRAPH_DATA_DIR": str(data_dir),
            "STEMGRAPH_DATABASE_URL": url,
            "STEMGRAPH_DATABASE_SCHEMA": schema,
        },
        url,
        schema,
    )
    asyncio.run(drop_schema(url, schema))


def _headers(stream: bool = False) -> dict[str, str]:
    headers = {"x-api-key": API_KEY, "authorization": f"Bearer {user_token(LENA)}"}
    if stream:
        headers["accept"] = "text/event-stream"
    return headers


def _body(**fields: Any) -> dict[str, Any]:
    return {"class_id": DEMO_CLASS_ID, "user_id": LENA, **fields}


def new_session(server: ServerProcess) -> str:
    response = httpx.post(
        server.url + f"{WS}/sessions/create", json=_body(), headers=_headers(), timeout=10
    )
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["session"]["id"])


def send(server: ServerProcess, session_id: str, message: str) -> httpx.Response:
    return httpx.post(
        server.url + f"{WS}/messages/send",
        json=_body(session_id=session_id, message=message, tool_mode="off"),
        headers=_headers(),
        timeout=60,
    )


@dataclass
class Stream:
    """A `messages/send` stream read on its own thread, each event stamped on arrival."""

    events: list[tuple[float, Event]] = field(default_factory=list)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def wait_for(self, name: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.event == name for _, e in self.events):
            assert self.error is None or isinstance(self.error, httpx.TransportError)
            assert time.monotonic() < deadline, f"no {name} event: {self.events[-3:]}"
            time.sleep(0.02)

    def join(self, timeout: float = 30) -> None:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive()

    @property
    def last(self) -> tuple[float, Event]:
        return self.events[-1]


def open_stream(server: ServerProcess, session_id: str, message: str) -> Stream:
    stream = Stream()

    def read() -> None:
        try:
            with (
                httpx.Client(timeout=60) as client,
                client.stream(
                    "POST",
                    server.url + f"{WS}/messages/send",
                    json=_body(session_id=session_id, message=message, tool_mode="off"),
                    headers=_headers(stream=True),
                ) as response,
            ):
                for event in iter_events(response):
                    stream.events.append((time.monotonic(), event))
        except BaseException as error:  # noqa: BLE001 - inspected by the test
            stream.error = error

    stream.thread = threading.Thread(target=read, daemon=True)
    stream.thread.start()
    return stream


def test_a_killed_server_frees_its_sessions_within_seconds(
    database: Database, tmp_path: Path
) -> None:
    lease = 3.0
    common = {**database.env, "STEMGRAPH_SESSION_LEASE_SECONDS": str(lease)}
    with (
        server_process(tmp_path / "a.log", **common, STEMGRAPH_TEST_TOKEN_DELAY="0.1") as a,
        server_process(tmp_path / "b.log", **common, STEMGRAPH_TEST_TOKEN_DELAY="0") as b,
    ):
        session = new_session(b)
        stream = open_stream(a, session, "Tell me about forces")
        stream.wait_for("messages")
        # While the run lives its lease is renewed: held well past one lease length.
        started = time.monotonic()
        while time.monotonic() - started < lease * 1.7:
            busy = send(b, session, "quick: is it my turn?")
            assert busy.status_code == 409, busy.text
            assert busy.json()["error"]["code"] == "session_busy"
            time.sleep(0.3)
        a.signal(signal.SIGKILL)
        a.wait(timeout=10)
        killed = time.monotonic()
        while (answer := send(b, session, "quick: and now?")).status_code == 409:
            assert time.monotonic() - killed < lease + 10, "the session stayed busy"
            time.sleep(0.2)
        freed_after = time.monotonic() - killed
        assert answer.status_code == 200, answer.text
        assert freed_after <= lease + 1.5
    # The killed turn saved nothing; the next one saved its question and answer.
    saved = asyncio.run(database.session_messages(session))
    assert [m.content for m in saved if m.author_kind == "student"] == ["quick: and now?"]
    assert len(saved) == 2


def test_sigterm_drains_open_runs_then_ends_them_with_server_shutting_down(
    database: Database, tmp_path: Path
) -> None:
    grace = 3.0
    with server_process(
        tmp_path / "server.log",
        **database.env,
        STEMGRAPH_SHUTDOWN_GRACE_SECONDS=str(grace),
        STEMGRAPH_TEST_TOKEN_DELAY="0.05",
    ) as server:
        long_session, quick_session, json_session = (new_session(server) for _ in range(3))
        long_stream = open_stream(server, long_session, "Tell me everything about forces")
        json_result: list[httpx.Response] = []
        json_call = threading.Thread(
            target=lambda: json_result.append(send(server, json_session, "And energy?"))
        )
        json_call.start()
        long_stream.wait_for("messages")
        quick_stream = open_stream(server, quick_session, "quick: what is force?")
        quick_stream.wait_for("messages")

        server.signal(signal.SIGTERM)
        signalled = time.monotonic()
        # It stops accepting connections at once.
        while True:
            try:
                httpx.get(server.url + "/healthz", timeout=1)
            except httpx.ConnectError:
                break
            assert time.monotonic() - signalled < 2, "still accepting connections"
            time.sleep(0.05)

        quick_stream.join()
        long_stream.join()
        json_call.join(timeout=30)
        server.wait(timeout=grace + 15)

    # A run that could finish within the grace period finished normally.
    finished_at, final = quick_stream.last
    assert final.event == "values", quick_stream.events[-3:]
    assert finished_at - signalled < grace
    # The others ended at the deadline, each with the error in its own framing.
    ended_at, ended = long_stream.last
    assert ended.event == "error"
    assert ended.data["code"] == "server_shutting_down"
    assert {"error", "code", "message"} <= set(ended.data)
    assert grace - 0.3 <= ended_at - signalled <= grace + 4
    (response,) = json_result
    assert response.status_code == 503
    envelope = response.json()
    assert envelope["ok"] is False and envelope["error"]["code"] == "server_shutting_down"
    # Cut runs saved nothing; the finished one saved its turn.
    assert asyncio.run(database.session_messages(long_session)) == []
    assert asyncio.run(database.session_messages(json_session)) == []
    assert len(asyncio.run(database.session_messages(quick_session))) == 2
