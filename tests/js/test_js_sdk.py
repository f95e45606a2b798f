"""The official JavaScript client (`@langchain/langgraph-sdk` from npm, pinned in
`package.json`) under the machine's Node.js against a live server: stream, then resume after
an event id (`stream_resume.mjs`). Skipped without node and npm, except under CI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.server.conftest import API_KEY
from tests.server.processes import database_env, server_process

HERE = Path(__file__).resolve().parent
NODE, NPM = shutil.which("node"), shutil.which("npm")


def sdk_installed() -> str:
    """The node binary, with the pinned SDK installed next to the script (no lock file)."""
    if not (NODE and NPM):
        if IN_CI:
            pytest.fail("node and npm must be installed to run the JavaScript SDK test in CI")
        pytest.skip("node and npm are not installed")
    installed = HERE / "node_modules" / "@langchain"
    if not all((installed / name).is_dir() for name in ("langgraph-sdk", "core")):
        subprocess.run(
            [NPM, "install", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=600
        )
    return NODE


def test_the_js_sdk_streams_a_run_and_resumes_after_an_event_id(tmp_path: Path) -> None:
    node = sdk_installed()
    env = {**database_env("sqlite", tmp_path, None), "STEMGRAPH_TEST_TOKEN_DELAY": "0.01"}
    with server_process(tmp_path / "server.log", **env) as server:
        result = subprocess.run(
            [node, "stream_resume.mjs"],
            cwd=HERE,
            env={**os.environ, "STEMGRAPH_URL": server.url, "STEMGRAPH_API_KEY": API_KEY},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr + result.stdout
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["resumed"] == summary["total"] - summary["seen"]
    assert summary["total"] > 100  # a token event per word of the 300-word answer
