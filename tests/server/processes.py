"""Server processes for tests that send real signals: `tests.server.procserver` on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.server.conftest import API_KEY, ISSUER, JWT_SECRET

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)


def database_env(backend: str, data_dir: Path, postgres: tuple[str, str] | None) -> dict[str, str]:
    """Where a server process keeps its data: `data_dir` (SQLite) or a Postgres schema."""
    env = {"STEMGRAPH_DATA_DIR": str(data_dir)}
    if backend == "postgres":
        assert postgres is not None
        env.update(STEMGRAPH_DATABASE_URL=postgres[0], STEMGRAPH_DATABASE_SCHEMA=postgres[1])
    return env


@contextmanager
def server_process(log: Path, **env: str) -> Iterator[ServerProcess]:
    """Start a server process with `env` on top of the test settings; wait until it answers.
    The block may signal or kill it; whatever still runs at the end is killed."""
    port = free_port()
    full_env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PYTHON_BACKEND_API_KEY": API_KEY,
        "SUPABASE_JWT_SECRET": JWT_SECRET,
        "SUPABASE_JWT_ISSUER": ISSUER,
        "STEMGRAPH_SEED_DEMO": "true",
        "STEMGRAPH_LOG_LEVEL": "WARNING",
        "LANGSMITH_TRACING": "false",
        **env,
    }
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.server.procserver"],
            cwd=ROOT,
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    running = ServerProcess(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server process exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(running.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server process did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
