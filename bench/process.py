"""The server under benchmark as a child process: start, wait until healthy, read CPU, stop."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
_STOP_GRACE_S = 10.0
# Whatever the developer's shell holds, the benchmarked server reaches no real provider or
# database: every setting it reads comes from `bench.serve`'s arguments and defaults.
_SCRUBBED_PREFIXES = (
    "STEMGRAPH_",
    "PYTHON_BACKEND_",
    "SUPABASE_",
    "OPENROUTER_",
    "OPENAI_",
    "GEMINI_",
    "GOOGLE_",
    "AI_PROVIDER",
    "AI_REQUEST",
    "AI_EMBEDDING",
    "MATERIAL_WORKER",
    "LANGSMITH_",
    "LANGCHAIN_",
)


def free_port() -> int:
    """A loopback port that was free a moment ago (the child binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process `pid` (all its threads), or None without /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int | None:
    """Resident set size of process `pid` in bytes (`VmRSS` of proc(5)), or None without /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # reported in kB
    return None


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    env["LANGSMITH_TRACING"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


class ServerProcess:
    """`python -m <module>` (default `bench.serve`) on a free loopback port; its output goes to
    `log_path`. `extra_args` are appended to the command line (e.g. `--timed-model`)."""

    def __init__(
        self,
        *,
        data_dir: Path,
        log_path: Path,
        fake_model: bool,
        module: str = "bench.serve",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.fake_model = fake_model
        self.module = module
        self.extra_args = extra_args
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the server was not started")
        return self._process.pid

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            self.module,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        if self.fake_model:
            command.append("--fake-model")
        command.extend(self.extra_args)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=_child_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Poll `/healthz` until it answers 200; fail if the child exits or time runs out."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:
            while True:
                if self._process is None or self._process.poll() is not None:
                    raise RuntimeError(f"the bench server exited early:\n{self.log_tail()}")
                try:
                    response = await client.get("/healthz")
                    if response.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the bench server was not healthy after {timeout_s:.0f} s:\n"
                        f"{self.log_tail()}"
                    )
                await asyncio.sleep(0.05)

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.pid)

    def rss_bytes(self) -> int | None:
        return rss_bytes(self.pid)

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down gracefully), then SIGKILL if it takes too long."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_STOP_GRACE_S)
        else:
            process.wait()

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
