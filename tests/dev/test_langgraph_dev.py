"""`make dev`: LangGraph's own dev server (`langgraph dev`, from the studio venv) on every graph,
driven through the official Python client `langgraph-sdk` as Studio drives it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.server.processes import free_port
from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, DEMO_TEACHER_ID
from tools.files import FileStoreSettings, class_material_path, open_file_store
from tools.store import open_store

ROOT = Path(__file__).resolve().parents[2]
GRAPHS: dict[str, str] = json.loads((ROOT / "langgraph.json").read_text())["graphs"]
IN_CI = os.environ.get("CI", "").lower() == "true"
MATERIAL = "The SI unit of force is the newton. Power is the rate of doing work, measured in watts."


def _studio_bin() -> Path | None:
    """`STEMGRAPH_STUDIO_BIN`, or the `.venv-studio/bin` that `make dev` creates."""
    given = os.environ.get("STEMGRAPH_STUDIO_BIN")
    path = Path(given) if given else ROOT / ".venv-studio" / "bin"
    return path if (path / "langgraph").is_file() else None


@dataclass(frozen=True)
class DevServer:
    url: str
    data_dir: Path


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """`langgraph dev` on a free port, in dev mode on a fresh data dir (the demo class)."""
    studio = _studio_bin()
    if studio is None:
        message = "no studio venv: run `make dev` once, or set STEMGRAPH_STUDIO_BIN"
        if IN_CI:
            pytest.fail(message + " (CI: `make pytest` creates it first)")
        pytest.skip(message)
    work = tmp_path_factory.mktemp("langgraph-dev")
    # The in-memory server keeps its state in the working directory: a fresh one per run.
    shutil.copy(ROOT / "langgraph.json", work / "langgraph.json")
    config = json.loads((work / "langgraph.json").read_text())
    config["dependencies"] = [str(ROOT)]
    config["graphs"] = {name: str(ROOT / entry[2:]) for name, entry in GRAPHS.items()}
    (work / "langgraph.json").write_text(json.dumps(config))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
        "PYTHONPATH": str(ROOT),
        "STEMGRAPH_DATA_DIR": str(work / "data"),
        "STEMGRAPH_DEV_MODE": "true",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
    }
    env.pop("STEMGRAPH_DATABASE_URL", None)
    log = work / "server.log"
    # The same command `make dev` runs.
    command = [str(studio / "langgraph"), "dev", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-browser", "--no-reload"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=work, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"langgraph dev exited early:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not answer:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield DevServer(url, work / "data")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            # It exits by itself: the class store is closed before threads are joined.
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("langgraph dev did not exit on SIGINT")


@pytest.fixture
async def client(dev_server: DevServer) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=dev_server.url)
    try:
        yield client
    finally:
        await client.http.client.aclose()


async def _assistants(client: LangGraphClient) -> dict[str, str]:
    found = await client.assistants.search(limit=50)
    return {a["graph_id"]: a["assistant_id"] for a in found}


async def test_every_graph_has_json_schemas(client: LangGraphClient) -> None:
    """What Studio draws its forms from; before: 500 for all graphs."""
    assistants = await _assistants(client)
    assert set(assistants) == set(GRAPHS)
    for name, assistant_id in assistants.items():
        schemas = await client.assistants.get_schemas(assistant_id)
        for kind in ("input_schema", "output_schema", "state_schema", "context_schema"):
            assert isinstance(schemas[kind], dict), (name, kind)
        properties = schemas["context_schema"]["properties"]
        assert "timeout_ms" in properties, name
        assert not {"store", "router", "deadline", "embedding_providers"} & set(properties)


# One run per graph: class-based ones with only the demo class id where the graph allows it.
RUNS: dict[str, dict[str, Any]] = {
    "quiz": {"class_id": DEMO_CLASS_ID},
    "flashcards": {"class_id": DEMO_CLASS_ID, "card_count": 3},
    "blueprint": {"class_id": DEMO_CLASS_ID},
    "chat": {"class_id": DEMO_CLASS_ID, "user_message": "What is the SI unit of force?"},
    "canvas": {
        "canvas_hint": {"type": "chart", "concept": "force", "title": "Force and mass"},
        "student_question": "How does force change with mass?",
        "ai_answer": "Force equals mass times acceleration.",
    },
    "insights": {"class_id": DEMO_CLASS_ID},
    "teaching_brief": {"class_id": DEMO_CLASS_ID},
    "data_query": {"class_id": DEMO_CLASS_ID, "query": "average score by topic"},
    "llm": {"system": "Answer briefly.", "user": "What is the SI unit of force?"},
}


def _check(name: str, output: dict[str, Any]) -> None:
    """Each graph's own sign of success."""
    if name == "quiz":
        assert len(output["payload"]["questions"]) == 5
    elif name == "flashcards":
        assert len(output["payload"]["cards"]) == 3
    elif name == "blueprint":
        assert output["payload"]["topics"] and output["published"] is False
    elif name == "chat":
        assert "newton" in output["reply"]["answer"].lower()
    elif name == "canvas":
        assert output["spec"]["type"] == "chart"
    elif name == "insights":
        assert len(output["payload"]["students"]) >= 2
    elif name == "teaching_brief":
        assert output["status"] == "ready" and output["has_evidence"] is True
    elif name == "data_query":
        assert output["spec"]["type"] == "chart" and output["query"] is not None
    elif name == "llm":
        assert output["content"] and output["provider"] == "offline"


@pytest.mark.parametrize("name", sorted(RUNS))
async def test_one_run_per_graph_succeeds(client: LangGraphClient, name: str) -> None:
    output = await client.runs.wait(None, name, input=RUNS[name], context={"timeout_ms": 20_000})
    assert isinstance(output, dict) and "__error__" not in output, output
    _check(name, output)


async def test_workspace_chat_and_materials_use_the_data_dirs_store(
    client: LangGraphClient, dev_server: DevServer
) -> None:
    """A session and an upload made in the data dir's database (as the web app's routes make
    them): the workspace turn is saved in the session, the upload is ingested."""
    student = DEMO_STUDENT_IDS[0]
    store = await open_store(str(dev_server.data_dir / "stemgraph.sqlite3"))
    try:
        session = await store.create_session(
            session_id=str(uuid.uuid4()),
            class_id=DEMO_CLASS_ID,
            owner_user_id=student,
            title="Studio",
        )
        turn = {
            "class_id": DEMO_CLASS_ID,
            "session_id": session.id,
            "author_user_id": student,
            "user_message": "How is power measured?",
        }
        output = await client.runs.wait(None, "chat", input=turn)
        assert output["saved_user_message"]["content"] == "How is power measured?"
        saved = await store.session_messages(session.id)
        assert [m.author_kind for m in saved] == ["student", "assistant"]
        assert saved[-1].content == output["reply"]["answer"]

        material_id = str(uuid.uuid4())
        path = class_material_path(DEMO_CLASS_ID, material_id, "forces.txt")
        # The dev server's file store: files under its data dir.
        files = open_file_store(FileStoreSettings(kind="local", data_dir=dev_server.data_dir))
        await files.put(path, MATERIAL.encode(), content_type="text/plain")
        material = await store.create_material(
            material_id=material_id,
            class_id=DEMO_CLASS_ID,
            title="Forces",
            source_type="text",
            mime_type="text/plain",
            file_name="forces.txt",
            storage_path=path,
            size_bytes=len(MATERIAL.encode()),
            created_by=DEMO_TEACHER_ID,
        )
        ingest = await client.runs.wait(None, "materials", input={"material_id": material.id})
        assert ingest["status"] == "ready" and ingest["chunks"] == 1
    finally:
        await store.close()


async def _stream(
    client: LangGraphClient, name: str, payload: dict[str, Any]
) -> list[tuple[str, Any]]:
    return [
        (part.event, part.data)
        async for part in client.runs.stream(
            None, name, input=payload, stream_mode=["custom", "updates"]
        )
    ]


async def test_graph_errors_reach_the_client_with_their_message(client: LangGraphClient) -> None:
    """Before: "An internal error occurred" for every stemgraph error."""
    events = await _stream(client, "blueprint", {"class_title": "Physics"})
    assert events[-1] == (
        "error",
        {
            "error": "GenerationError",
            "message": "There is no class material to build a course blueprint from.",
        },
    )
    events = await _stream(client, "materials", {"material_id": str(uuid.uuid4())})
    assert events[-1] == (
        "error",
        # MaterialMissing is the MaterialUnreadable of a row or file that is not there.
        {"error": "MaterialMissing", "message": "The material no longer exists."},
    )


async def test_a_class_without_material_is_not_retried(client: LangGraphClient) -> None:
    """Before: the retry policy ran `gather_context` again, repeating its progress event."""
    events = await _stream(client, "quiz", {"class_id": str(uuid.uuid4())})
    stages = [data["stage"] for event, data in events if event == "custom"]
    assert stages == ["context"]
    assert events[-1] == (
        "error",
        {
            "error": "GenerationError",
            "message": "There is no class material to write quiz questions from.",
        },
    )


async def test_the_blueprint_approval_interrupt_waits_and_resumes(
    client: LangGraphClient,
) -> None:
    thread = await client.threads.create()
    request = {"class_id": DEMO_CLASS_ID, "require_approval": True}
    waiting = await client.runs.wait(thread["thread_id"], "blueprint", input=request)
    interrupts = waiting["__interrupt__"]
    assert len(interrupts) == 1
    draft = interrupts[0]["value"]["draft"]
    assert draft["topics"] and interrupts[0]["value"]["class_id"] == DEMO_CLASS_ID
    state = await client.threads.get_state(thread["thread_id"])
    assert state["next"] == ["review"]

    done = await client.runs.wait(
        thread["thread_id"], "blueprint", command={"resume": {"approved": True}}
    )
    assert done["published"] is True and done["payload"] == draft
    published_id = done["blueprint_id"]
    # The chat graph now grounds on the blueprint just published.
    chat = await client.runs.wait(None, "chat", input=RUNS["chat"])
    assert chat["reply"]["answer"]
    assert uuid.UUID(published_id)
