"""Guest limits and concurrency slots on the AI routes, in-process and across two servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import redis_url_or_skip
from tests.fakes import FailingChatModel, TrickleChatModel
from tests.server.conftest import API_KEY, ISSUER, JWT_SECRET, Api, Serve, only, user_token
from tests.server.test_app import QUIZ, assert_error
from tools.demo import DEMO_GUEST_ID, DEMO_SANDBOX_ID

GUEST_QUIZ = {**QUIZ, "sandbox_id": DEMO_SANDBOX_ID}
ROOT = Path(__file__).resolve().parents[3]


def guest() -> str:
    return user_token(DEMO_GUEST_ID, anonymous=True)


def test_quiz_limit_counts_only_successes(serve: Serve) -> None:
    with serve(guest_quiz_limit=2) as api:
        for _ in range(2):
            assert api.post("/v1/quiz/generate", GUEST_QUIZ, token=guest()).status_code == 200
        refused = api.post("/v1/quiz/generate", GUEST_QUIZ, token=guest())
        body = assert_error(refused, 429, "guest_rate_limit")
        assert "2 quiz" in str(body["error"])
        # Signed-in users are not limited.
        assert api.post("/v1/quiz/generate", QUIZ).status_code == 200


def test_failed_calls_give_their_use_back(serve: Serve) -> None:
    with serve(guest_quiz_limit=1, chat=only(FailingChatModel())) as api:
        # The offline engine still answers when the provider fails, so make the run fail
        # instead: a material with nothing to ask about.
        empty = {**GUEST_QUIZ, "material_context": "???"}
        assert_error(api.post("/v1/quiz/generate", empty, token=guest()), 502, "quiz_error")
        assert api.post("/v1/quiz/generate", GUEST_QUIZ, token=guest()).status_code == 200
        assert_error(
            api.post("/v1/quiz/generate", GUEST_QUIZ, token=guest()), 429, "guest_rate_limit"
        )


def test_embeddings_count_as_embedding_operations(serve: Serve) -> None:
    with serve(guest_embedding_limit=1) as api:
        body = {"inputs": ["force"], "sandbox_id": DEMO_SANDBOX_ID}
        assert api.post("/v1/llm/embeddings", body, token=guest()).status_code == 200
        assert_error(api.post("/v1/llm/embeddings", body, token=guest()), 429, "guest_rate_limit")


def test_concurrency_slots_wait_then_refuse_and_are_released(serve: Serve) -> None:
    reply = json.dumps(
        {
            "questions": [
                {
                    "question": "Unit of force?",
                    "choices": ["newton", "joule", "watt", "pascal"],
                    "answer": "newton",
                    "explanation": "It is.",
                }
            ]
        }
    )
    model = TrickleChatModel(reply=reply, token_delay_s=0.05)
    with serve(guest_max_concurrent=1, guest_slot_wait_seconds=0.3, chat=only(model)) as api:
        results: list[httpx.Response] = []
        holder = threading.Thread(
            target=lambda: results.append(api.post("/v1/quiz/generate", GUEST_QUIZ, token=guest()))
        )
        holder.start()
        deadline = time.monotonic() + 5
        while model.tokens_sent == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert_error(
            api.post("/v1/quiz/generate", GUEST_QUIZ, token=guest()), 503, "guest_concurrent_limit"
        )
        holder.join()
        assert results[0].status_code == 200
        # The slot came back when the first call finished.
        model.token_delay_s = 0
        assert api.post("/v1/quiz/generate", GUEST_QUIZ, token=guest()).status_code == 200


@pytest.mark.live
def test_a_disconnected_stream_frees_its_slot(serve: Serve) -> None:
    model = TrickleChatModel(reply="word " * 400, token_delay_s=0.02)
    with serve(guest_max_concurrent=1, guest_slot_wait_seconds=2, chat=only(model)) as api:
        headers = {
            "x-api-key": API_KEY,
            "accept": "text/event-stream",
            "authorization": f"Bearer {guest()}",
        }
        with (
            httpx.Client(timeout=10) as client,
            client.stream(
                "POST", api.url + "/v1/quiz/generate", json=GUEST_QUIZ, headers=headers
            ) as response,
        ):
            for line in response.iter_lines():
                if line.startswith("event: messages"):
                    break
        model.token_delay_s = 0
        model.reply = json.dumps(
            {
                "questions": [
                    {
                        "question": "Q?",
                        "choices": ["a", "b", "c", "d"],
                        "answer": "a",
                        "explanation": "e",
                    }
                ]
            }
        )
        again = api.post("/v1/quiz/generate", GUEST_QUIZ, token=guest())
        assert again.status_code == 200, again.text


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[list[str]]:
    """Two real server processes sharing one SQLite file and one Redis (a fresh key prefix)."""
    prefix = f"stemgraph-test:{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "STEMGRAPH_DATA_DIR": str(tmp_path),
        "STEMGRAPH_SEED_DEMO": "true",
        "PYTHON_BACKEND_API_KEY": API_KEY,
        "SUPABASE_JWT_SECRET": JWT_SECRET,
        "SUPABASE_JWT_ISSUER": ISSUER,
        "REDIS_URL": redis_url_or_skip(),
        "STEMGRAPH_REDIS_PREFIX": prefix,
        "GUEST_QUIZ_LIMIT": "5",
        "STEMGRAPH_LOG_LEVEL": "WARNING",
    }
    env.pop("STEMGRAPH_DATABASE_URL", None)
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(2):
            port = _free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "server"],
                cwd=ROOT,
                env={**env, "PORT": str(port)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(process)
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("a test server process did not start")
                time.sleep(0.1)
            urls.append(url)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        import redis

        client = redis.Redis.from_url(redis_url_or_skip())
        try:
            keys = list(client.scan_iter(f"{prefix}:*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def test_limits_hold_across_two_server_processes(two_servers: list[str]) -> None:
    headers = {"x-api-key": API_KEY, "authorization": f"Bearer {guest()}"}
    results: list[int] = []
    lock = threading.Lock()

    def burst(url: str) -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(4):
                status = client.post(
                    url + "/v1/quiz/generate", json=GUEST_QUIZ, headers=headers
                ).status_code
                with lock:
                    results.append(status)

    threads = [threading.Thread(target=burst, args=(url,)) for url in two_servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] * 5 + [429] * 3


def test_api_fixture_is_unlimited_for_service_calls(api: Api) -> None:
    for _ in range(12):
        assert api.post("/v1/quiz/generate", QUIZ).status_code == 200
