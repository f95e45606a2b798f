"""Issue 12's acceptance test: stemgraph in platform mode on the platform's own schema.

A fresh database on the pgvector server (STEMGRAPH_TEST_PGVECTOR_URL) gets the platform's DDL
(stemgraph's standalone `0001-0005_platform_*` files stand in for the platform's migrations) in
`public`, plus a minimal `auth` schema as Supabase defines it (`auth.users`, `auth.uid()`,
`auth.role()` reading `request.jwt.claims`) with the platform's trigger that makes a profile for
each new user. Rows are inserted the way the web app writes them (platform-schema.md); the
material's file sits behind a loopback Storage server, and embeddings come from a loopback
OpenAI-compatible server (1536 numbers per input, deterministic per text). stemgraph runs as a
real server process in platform mode, and every step goes over HTTP with the web app's bodies.
Only the chat model is faked: none is configured, so the offline engine answers from the
retrieved sources.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.conftest import IN_CI
from tests.openai_server import OpenAIServer, _vector, embeddings
from tests.server.conftest import API_KEY, ISSUER, JWT_SECRET, user_token
from tests.server.processes import ServerProcess, free_port, server_process
from tests.storage_server import StorageServer, StoredObject
from tests.tools.materials.test_extract import make_pdf
from tools.store import open_store
from tools.store.migrations import migrations
from tools.store.retrieval import pgvector_available

pytestmark = pytest.mark.postgres

SERVICE_ROLE_KEY = "e2e-service-role-key"
EMBEDDING_MODEL = "openai/text-embedding-3-small"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The material's distinctive fact: nothing but the uploaded file could put it in an answer.
FACT = "The Halvorsen lens focuses violet light at exactly 42.7 millimetres"
PDF_FACT = "The Brightwater prism bends blue light by 31.4 degrees"

# Supabase's own definitions, reduced to what the platform's functions read.
AUTH_DDL = """
CREATE SCHEMA auth;
CREATE TABLE auth.users (
    id uuid PRIMARY KEY,
    email text,
    raw_user_meta_data jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_anonymous boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
    )::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
    )::text
$$;
"""

# The platform's sign-up trigger: a profile from the new user's metadata.
PROFILE_TRIGGER_DDL = """
CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO public.profiles (id, account_type, display_name, avatar_url)
    VALUES (
        NEW.id,
        (NEW.raw_user_meta_data ->> 'account_type')::account_type,
        NEW.raw_user_meta_data ->> 'display_name',
        NEW.raw_user_meta_data ->> 'avatar_url'
    );
    RETURN NEW;
END;
$$;
CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
    FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
"""


def pgvector_url_or_skip() -> str:
    url = os.environ.get("STEMGRAPH_TEST_PGVECTOR_URL")
    if url:
        return url
    if IN_CI:
        pytest.fail("STEMGRAPH_TEST_PGVECTOR_URL is unset under CI (.ci/run starts the server)")
    pytest.skip("STEMGRAPH_TEST_PGVECTOR_URL is not set (start one: bash .ci/pgvector.sh start)")


def with_database(url: str, name: str) -> str:
    """`url` pointed at database `name` (the server's URL names its maintenance database)."""
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def new_id() -> str:
    return str(uuid.uuid4())


def word_file(paragraphs: list[str]) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = Path(f"/tmp/{uuid.uuid4().hex}.docx")
    try:
        document.save(str(out))
        return out.read_bytes()
    finally:
        out.unlink(missing_ok=True)


@dataclass
class Platform:
    """The platform's database, Storage and the ids of what the web app wrote."""

    url: str
    teacher: str
    students: dict[str, str]  # display name -> id
    class_id: str
    material_id: str
    storage_path: str
    pdf_id: str
    pdf_path: str
    topic_id: str
    activity_id: str
    assignment_id: str

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with psycopg.connect(self.url, autocommit=True, row_factory=dict_row) as conn:
            return conn.execute(sql, params).fetchall()


def build_platform_schema(conn: psycopg.Connection[Any], schema: str = "public") -> None:
    conn.execute(f'SET search_path = "{schema}"')
    for migration in migrations("postgres"):
        if migration.platform:
            conn.execute(migration.sql().encode())
    conn.execute("RESET search_path")


def insert_material(
    conn: psycopg.Connection[Any],
    class_id: str,
    teacher: str,
    original_name: str,
    kind: str,
    mime_type: str,
    content: bytes,
) -> tuple[str, str]:
    """The web app's finalize step after the browser uploaded the file: the row with the
    client-chosen id, status `processing` and the base metadata. Returns (id, storage path)."""
    material_id = new_id()
    # The web app's sanitising: anything but letters, digits, `.`, `_`, `-` becomes `_`.
    name = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9._-]", "_", original_name))
    storage_path = f"classes/{class_id}/{material_id}/{name}"
    conn.execute(
        "INSERT INTO materials (id, class_id, uploaded_by, title, storage_path, mime_type,"
        " size_bytes, status, metadata) VALUES (%s, %s, %s, %s, %s, %s, %s, 'processing', %s)",
        (
            material_id,
            class_id,
            teacher,
            original_name.rsplit(".", 1)[0],
            storage_path,
            mime_type,
            len(content),
            json.dumps(
                {
                    "original_name": original_name,
                    "kind": kind,
                    "warnings": [],
                    "extraction_stats": None,
                    "page_count": None,
                }
            ),
        ),
    )
    return material_id, storage_path


def write_as_the_web_app(conn: psycopg.Connection[Any], material: bytes, pdf: bytes) -> Platform:
    """Sign-ups, a class, enrollments, an uploaded material, a published blueprint and a quiz
    with assignments, recipients and attempts: the rows the web app's writers leave."""
    teacher, lena, omar = new_id(), new_id(), new_id()
    for user, kind, name in (
        (teacher, "teacher", "Ada Okafor"),
        (lena, "student", "Lena Park"),
        (omar, "student", "Omar Haddad"),
    ):
        conn.execute(
            "INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES (%s, %s, %s)",
            (
                user,
                f"{user[:8]}@school.test",
                json.dumps({"account_type": kind, "display_name": name}),
            ),
        )
    class_id = conn.execute(
        "INSERT INTO classes (owner_id, title, description, subject, level, join_code)"
        " VALUES (%s, 'Optics', 'Light and lenses.', 'Physics', 'Year 10', 'OPT1CS')"
        " RETURNING id",
        (teacher,),
    ).fetchone()[0]  # type: ignore[index]
    class_id = str(class_id)
    conn.execute(
        "INSERT INTO enrollments (class_id, user_id, role) VALUES (%s, %s, 'teacher'),"
        " (%s, %s, 'student'), (%s, %s, 'student')",
        (class_id, teacher, class_id, lena, class_id, omar),
    )
    material_id, storage_path = insert_material(
        conn, class_id, teacher, "Halvorsen lens notes.docx", "docx", DOCX_MIME, material
    )
    pdf_id, pdf_path = insert_material(
        conn, class_id, teacher, "Prism lab (week 2).pdf", "pdf", "application/pdf", pdf
    )
    # A published blueprint: content_json plus its topics and objectives rows.
    blueprint_id, topic_id = new_id(), new_id()
    content = {
        "schemaVersion": "v2",
        "summary": "How lenses bend light.",
        "assumptions": [],
        "uncertaintyNotes": [],
        "qualityRubric": None,
        "topics": [
            {
                "key": "lens-optics",
                "title": "Lens optics",
                "description": "Focal lengths of lenses.",
                "sequence": 1,
                "prerequisites": [],
                "objectives": [
                    {"statement": "Recall the focal length of a lens.", "level": "remember"},
                    {"statement": "Use a focal length to place an image.", "level": "apply"},
                ],
                "assessmentIdeas": ["Short quiz on focal lengths."],
                "misconceptionFlags": [],
                "evidence": [{"sourceLabel": "Source 1", "rationale": "The notes."}],
            }
        ],
    }
    conn.execute(
        "INSERT INTO blueprints (id, class_id, version, status, summary, created_by, approved_by,"
        " published_by, approved_at, published_at, content_json, content_schema_version)"
        " VALUES (%s, %s, 1, 'published', %s, %s, %s, %s, now(), now(), %s, 'v2')",
        (
            blueprint_id,
            class_id,
            content["summary"],
            teacher,
            teacher,
            teacher,
            json.dumps(content),
        ),
    )
    conn.execute(
        "INSERT INTO topics (id, blueprint_id, title, description, sequence)"
        " VALUES (%s, %s, 'Lens optics', 'Focal lengths of lenses.', 1)",
        (topic_id, blueprint_id),
    )
    conn.execute(
        "INSERT INTO objectives (topic_id, statement, level) VALUES"
        " (%s, 'Recall the focal length of a lens.', 'remember'),"
        " (%s, 'Use a focal length to place an image.', 'apply')",
        (topic_id, topic_id),
    )
    # A published quiz on the topic, assigned to both students; attempts score 0-100.
    activity_id = str(
        conn.execute(
            "INSERT INTO activities (class_id, blueprint_id, topic_id, type, title, config,"
            " status, created_by) VALUES (%s, %s, %s, 'quiz', 'Focal lengths quiz', %s,"
            " 'published', %s) RETURNING id",
            (
                class_id,
                blueprint_id,
                topic_id,
                json.dumps(
                    {"mode": "assignment", "attemptLimit": 2, "scoringPolicy": "best_of_attempts"}
                ),
                teacher,
            ),
        ).fetchone()[0]  # type: ignore[index]
    )
    assignment_id = str(
        conn.execute(
            "INSERT INTO assignments (class_id, activity_id, assigned_by) VALUES (%s, %s, %s)"
            " RETURNING id",
            (class_id, activity_id, teacher),
        ).fetchone()[0]  # type: ignore[index]
    )
    conn.execute(
        "INSERT INTO assignment_recipients (assignment_id, student_id, status)"
        " VALUES (%s, %s, 'submitted'), (%s, %s, 'in_progress')",
        (assignment_id, lena, assignment_id, omar),
    )
    for student, attempt, score in ((lena, 1, 40), (lena, 2, 90), (omar, 1, 50)):
        conn.execute(
            "INSERT INTO submissions (assignment_id, student_id, content, score)"
            " VALUES (%s, %s, %s, %s)",
            (
                assignment_id,
                student,
                json.dumps({"mode": "quiz_attempt", "attemptNumber": attempt, "answers": []}),
                score,
            ),
        )
    return Platform(
        url="",
        teacher=teacher,
        students={"Lena Park": lena, "Omar Haddad": omar},
        class_id=class_id,
        material_id=material_id,
        storage_path=storage_path,
        pdf_id=pdf_id,
        pdf_path=pdf_path,
        topic_id=topic_id,
        activity_id=activity_id,
        assignment_id=assignment_id,
    )


@dataclass
class Refused:
    """A server process started on a schema missing columns (run beside the main one)."""

    process: subprocess.Popen[bytes]
    log: Path
    tables_before: int


BROKEN = "broken_platform"


def broken_tables(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (BROKEN,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def start_refused(url: str, log: Path) -> Refused:
    """A second copy of the platform's tables without two columns stemgraph uses, and a
    server process started on it in platform mode."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{BROKEN}"')
        build_platform_schema(conn, BROKEN)
        conn.execute(f"ALTER TABLE {BROKEN}.materials DROP COLUMN storage_path")
        conn.execute(f"ALTER TABLE {BROKEN}.submissions DROP COLUMN score")
    before = broken_tables(url)
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "PYTHON_BACKEND_API_KEY": API_KEY,
        "SUPABASE_JWT_SECRET": JWT_SECRET,
        "SUPABASE_JWT_ISSUER": ISSUER,
        "LANGSMITH_TRACING": "false",
        "STEMGRAPH_PLATFORM_DATABASE": "true",
        "STEMGRAPH_DATABASE_URL": url,
        "STEMGRAPH_DATABASE_SCHEMA": BROKEN,
        "STEMGRAPH_SEED_DEMO": "false",
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.server.procserver"],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return Refused(process, log, before)


@dataclass
class Running:
    platform: Platform
    refused: Refused
    server: ServerProcess
    storage: StorageServer
    provider: OpenAIServer

    def post(self, path: str, body: dict[str, Any], token: str | None = None) -> httpx.Response:
        headers = {"x-api-key": API_KEY}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        return httpx.post(self.server.url + path, json=body, headers=headers, timeout=60)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["error"] is None, body
    return body["data"]


def embedded_with(provider: OpenAIServer, words: str) -> bool:
    """Whether a text containing `words` was sent to the embedding model the chunks used."""
    for request in provider.embedding_requests:
        body = request.json
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if body["model"] == EMBEDDING_MODEL and any(words in str(text) for text in inputs):
            return True
    return False


PDF_PAGES = [
    "A glass prism splits white light into a spectrum.",
    f"{PDF_FACT}.",
]
MATERIAL_PARAGRAPHS = [
    "Lenses bend light by refraction at their curved surfaces.",
    f"{FACT}, which made it the reference lens of the Brightwater observatory.",
    "A converging lens brings parallel rays to a single focal point.",
]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    admin_url = pgvector_url_or_skip()
    database = f"sg_i12e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    url = with_database(admin_url, database)
    refused: Refused | None = None
    try:
        material = word_file(MATERIAL_PARAGRAPHS)
        pdf = make_pdf(*PDF_PAGES)
        with psycopg.connect(url, autocommit=True) as conn:
            # Supabase keeps extensions in their own schema, on every role's search path.
            conn.execute("CREATE SCHEMA extensions")
            conn.execute("CREATE EXTENSION vector WITH SCHEMA extensions")
            conn.execute(
                f'ALTER DATABASE "{database}" SET search_path = "$user", public, extensions'
            )
            conn.execute(AUTH_DDL)
            build_platform_schema(conn)
            conn.execute(PROFILE_TRIGGER_DDL)
            platform = write_as_the_web_app(conn, material, pdf)
        platform.url = url
        tmp = tmp_path_factory.mktemp("platform")
        # Started now so that its start-up overlaps the main server's.
        refused = start_refused(url, tmp / "refused.log")
        with (
            StorageServer(key=SERVICE_ROLE_KEY) as storage,
            OpenAIServer() as provider,
        ):
            storage.objects[("materials", platform.storage_path)] = StoredObject(
                material, DOCX_MIME
            )
            storage.objects[("materials", platform.pdf_path)] = StoredObject(pdf, "application/pdf")
            # Every embedding request (ingest, then queries) gets 1536 numbers per input.
            provider.embed(*(embeddings() for _ in range(40)))
            with server_process(
                tmp / "server.log",
                STEMGRAPH_DATA_DIR=str(tmp / "data"),
                STEMGRAPH_PLATFORM_DATABASE="true",
                STEMGRAPH_DATABASE_URL=url,
                STEMGRAPH_DATABASE_SCHEMA="public",
                STEMGRAPH_SEED_DEMO="false",
                SUPABASE_URL=storage.url,
                SUPABASE_SERVICE_ROLE_KEY=SERVICE_ROLE_KEY,
                OPENROUTER_API_KEY="sk-loopback",
                OPENROUTER_BASE_URL=provider.base_url,
                OPENROUTER_EMBEDDING_MODEL=EMBEDDING_MODEL,
                AI_PROVIDER_DEFAULT="openrouter",
                STEMGRAPH_TEST_CHAT="offline",
            ) as server:
                yield Running(platform, refused, server, storage, provider)
    finally:
        if refused is not None and refused.process.poll() is None:
            refused.process.kill()
            refused.process.wait(timeout=30)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def ingested(running: Running) -> Running:
    """The web app's dispatch (user token, `trigger_worker: false`) then its process call
    (API key only, `batch_size` = files uploaded)."""
    p = running.platform
    for material_id in (p.material_id, p.pdf_id):
        dispatched = ok(
            running.post(
                "/v1/materials/dispatch",
                {"class_id": p.class_id, "material_id": material_id, "trigger_worker": False},
                user_token(p.teacher),
            )
        )
        assert dispatched["enqueued"] is True and dispatched["triggered"] is False
    processed = ok(running.post("/v1/materials/process", {"batch_size": 2}))
    assert processed["processed"] == 2 and processed["succeeded"] == 2, processed
    assert processed["failed"] == 0 and processed["errors"] == []
    return running


def test_the_material_is_ingested_as_the_platforms_worker_writes_it(ingested: Running) -> None:
    p = ingested.platform
    [material] = p.rows("SELECT status, metadata FROM materials WHERE id = %s", p.material_id)
    assert material["status"] == "ready"
    metadata = material["metadata"]
    # The web's keys stay; the worker's replace `warnings` and `extraction_stats`.
    assert metadata["original_name"] == "Halvorsen lens notes.docx"
    assert metadata["kind"] == "docx"
    assert metadata["warnings"] == []
    text = "\n".join(MATERIAL_PARAGRAPHS)
    assert metadata["extraction_stats"]["segmentCount"] >= 1
    assert metadata["extraction_stats"]["charCount"] >= len(text) - len(MATERIAL_PARAGRAPHS)

    [job] = p.rows(
        "SELECT status, stage, attempts, locked_at, last_error FROM material_processing_jobs"
        " WHERE material_id = %s",
        p.material_id,
    )
    assert job == {
        "status": "done",
        "stage": "complete",
        "attempts": 1,
        "locked_at": None,
        "last_error": None,
    }

    chunks = p.rows(
        "SELECT class_id::text, source_type, source_index, section_title, text, token_count,"
        " vector_dims(embedding) AS dims, embedding::text AS embedding, embedding_provider,"
        " embedding_model, extraction_method FROM material_chunks WHERE material_id = %s"
        " ORDER BY source_index",
        p.material_id,
    )
    assert chunks
    assert FACT in " ".join(chunk["text"] for chunk in chunks)
    for chunk in chunks:
        assert chunk["class_id"] == p.class_id
        assert chunk["source_type"] == "paragraph" and chunk["source_index"] >= 1
        assert chunk["section_title"] is None
        assert chunk["token_count"] == math.ceil(len(chunk["text"]) / 4)
        assert chunk["dims"] == 1536
        assert (chunk["embedding_provider"], chunk["embedding_model"]) == (
            "openrouter",
            EMBEDDING_MODEL,
        )
        assert chunk["extraction_method"] == "text"
        # The stored vector is the provider's vector for this chunk's text.
        stored = json.loads(chunk["embedding"])
        expected = _vector(chunk["text"], 1536)
        assert max(abs(a - b) for a, b in zip(stored, expected, strict=True)) < 1e-6
    # The file came from Storage through the service role.
    downloads = [r for r in ingested.storage.requests if r.method == "GET"]
    assert any(p.storage_path in r.path for r in downloads)
    assert all(r.headers.get("apikey") == SERVICE_ROLE_KEY for r in downloads)


async def test_pgvector_in_supabases_extensions_schema_is_reachable_from_a_pinned_schema(
    running: Running,
) -> None:
    """`STEMGRAPH_DATABASE_SCHEMA=public` pins the search path; Supabase's `vector` type and
    `<=>` live in `extensions`, which must stay reachable or dense retrieval is silently off."""
    store = await open_store(running.platform.url, schema="public", platform_database=True)
    try:
        async with store.session() as db:
            assert await pgvector_available(db)
    finally:
        await store.close()


def test_healthz_reports_pgvector_on_the_platforms_database(running: Running) -> None:
    response = httpx.get(running.server.url + "/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json()["data"]["store"]["pgvector"] is True


async def test_a_transaction_with_claims_is_the_caller_for_supabases_auth_functions(
    running: Running,
) -> None:
    """The platform's SQL functions find their caller through `auth.uid()` / `auth.role()`:
    stemgraph's transaction claims reach them as PostgREST's would, and only in that
    transaction."""
    p = running.platform
    store = await open_store(p.url, schema="public", platform_database=True)
    try:
        claims = {"sub": p.teacher, "role": "authenticated"}
        async with store.transaction(claims=claims) as db:
            [row] = await db.query("SELECT auth.uid()::text AS uid, auth.role() AS role")
            assert dict(row) == {"uid": p.teacher, "role": "authenticated"}
        async with store.transaction() as db:
            [row] = await db.query("SELECT auth.uid()::text AS uid, auth.role() AS role")
            assert dict(row) == {"uid": None, "role": None}
    finally:
        await store.close()


def test_a_pdf_is_stored_page_by_page(ingested: Running) -> None:
    p = ingested.platform
    [material] = p.rows("SELECT status, metadata FROM materials WHERE id = %s", p.pdf_id)
    assert material["status"] == "ready"
    assert material["metadata"]["kind"] == "pdf" and material["metadata"]["warnings"] == []
    chunks = p.rows(
        "SELECT source_type, source_index, text, vector_dims(embedding) AS dims"
        " FROM material_chunks"
        " WHERE material_id = %s ORDER BY source_index",
        p.pdf_id,
    )
    # One segment per page, each short enough to be one chunk: page 2 holds the fact.
    assert [(c["source_type"], c["source_index"]) for c in chunks] == [("page", 1), ("page", 2)]
    assert PDF_FACT in chunks[1]["text"]
    assert material["metadata"]["extraction_stats"]["segmentCount"] == 2
    assert {c["dims"] for c in chunks} == {1536}


def test_a_quiz_is_grounded_in_the_material(ingested: Running) -> None:
    p = ingested.platform
    data = ok(
        ingested.post(
            "/v1/quiz/generate",
            {
                "class_title": "Optics",
                "question_count": 3,
                "instructions": "Halvorsen lens focal length",
                "blueprint_context": "",
                "material_context": "",
                "class_id": p.class_id,
                "sandbox_id": None,
                "timeout_ms": None,
            },
            user_token(p.teacher),
        )
    )
    questions = data["payload"]["questions"]
    assert 1 <= len(questions) <= 3
    quiz_text = json.dumps(questions)
    assert "Halvorsen" in quiz_text or "42.7" in quiz_text, quiz_text
    assert embedded_with(ingested.provider, "Halvorsen lens focal length")


def test_a_chat_answer_is_grounded_in_the_material(ingested: Running) -> None:
    p = ingested.platform
    lena = p.students["Lena Park"]
    token = user_token(lena)
    session = ok(
        ingested.post(
            "/v1/chat/workspace/sessions/create",
            {"class_id": p.class_id, "user_id": lena, "title": None, "sandbox_id": None},
            token,
        )
    )["session"]
    sent = ok(
        ingested.post(
            "/v1/chat/workspace/messages/send",
            {
                "class_id": p.class_id,
                "user_id": lena,
                "session_id": session["id"],
                "message": "At what distance does the Halvorsen lens focus violet light?",
                "timeout_ms": None,
                "max_tokens": None,
                "tool_mode": "off",
                "tool_catalog": None,
                "orchestration_hints": None,
                "sandbox_id": None,
            },
            token,
        )
    )
    reply = sent["response"]
    assert reply["safety"] == "ok"
    assert "42.7" in reply["answer"], reply
    assert reply["citations"], reply
    # Every cited source is the uploaded material: its quoted text is one of its chunks'.
    chunks = [
        r["text"]
        for r in p.rows("SELECT text FROM material_chunks WHERE material_id = %s", p.material_id)
    ]
    for citation in reply["citations"]:
        assert citation["sourceLabel"].startswith("Source ")
        assert any(citation["rationale"] in chunk for chunk in chunks), citation
    assert "42.7" in " ".join(c["rationale"] for c in reply["citations"])
    # The question was embedded by the model that embedded the chunks (one embedding space).
    assert embedded_with(ingested.provider, "Halvorsen lens focus violet light")
    # The stored assistant row carries the same citations, in the platform's chat table.
    [stored] = p.rows(
        "SELECT citations, author_kind FROM class_chat_messages WHERE session_id = %s"
        " AND author_kind = 'assistant'",
        session["id"],
    )
    assert stored["citations"] == sent["assistant_message"]["citations"]


def test_insights_match_a_hand_computation(running: Running) -> None:
    p = running.platform
    data = ok(
        running.post(
            "/v1/analytics/class-insights",
            {
                "user_id": p.teacher,
                "class_id": p.class_id,
                "force_refresh": True,
                "sandbox_id": None,
            },
        )
    )
    # By hand (best attempt per assignment, scores / 100):
    #   Lena: attempts 40, 90 -> best 0.90; recipient `submitted` -> completion 1.0 -> low risk.
    #   Omar: attempt 50 -> best 0.50; recipient `in_progress` -> completion 0.0;
    #         0.50 < 0.6 and 0.0 < 0.5 -> high risk.
    #   Class: avg (0.90 + 0.50) / 2 = 0.70; completion (1.0 + 0.0) / 2 = 0.5; at risk: 1.
    #   Topic "Lens optics": mean best (0.90 + 0.50) / 2 = 0.70 -> warning (0.60 <= x <= 0.75);
    #         attempts 3; levels remember, apply -> both 0.70, the others null.
    assert data["class_summary"] == {
        "student_count": 2,
        "avg_score": 0.7,
        "completion_rate": 0.5,
        "at_risk_count": 1,
        "avg_chat_messages": data["class_summary"]["avg_chat_messages"],
        "is_empty": False,
    }
    [topic] = data["topics"]
    assert topic["topic_id"] == p.topic_id and topic["title"] == "Lens optics"
    assert sorted(topic["bloom_levels"]) == ["apply", "remember"]
    assert (topic["avg_score"], topic["attempt_count"], topic["status"]) == (0.7, 3, "warning")
    assert data["bloom_breakdown"] == {
        "remember": 0.7,
        "understand": None,
        "apply": 0.7,
        "analyze": None,
        "evaluate": None,
        "create": None,
    }
    students = {s["display_name"]: s for s in data["students"]}
    assert set(students) == {"Lena P.", "Omar H."}
    omar, lena = students["Omar H."], students["Lena P."]
    assert [s["display_name"] for s in data["students"]] == ["Omar H.", "Lena P."]
    assert (omar["student_id"], omar["avg_score"], omar["completion_rate"], omar["risk_level"]) == (
        p.students["Omar Haddad"],
        0.5,
        0.0,
        "high",
    )
    assert (lena["avg_score"], lena["completion_rate"], lena["risk_level"]) == (0.9, 1.0, "low")
    assert lena["activity_breakdown"] == [
        {"activity_id": p.activity_id, "title": "Focal lengths quiz", "score": 0.9, "attempts": 2}
    ]
    assert omar["activity_breakdown"] == [
        {"activity_id": p.activity_id, "title": "Focal lengths quiz", "score": 0.5, "attempts": 1}
    ]


def test_classes_and_enrollments_stemgraph_writes_are_read_by_the_web_apps_queries(
    running: Running,
) -> None:
    p = running.platform
    lena = p.students["Lena Park"]
    created = ok(
        running.post(
            "/v1/classes/create",
            {
                "user_id": p.teacher,
                "title": "Waves",
                "subject": "Physics",
                "level": None,
                "description": None,
                "join_code": "WAV3S9",
            },
            user_token(p.teacher),
        )
    )
    joined = ok(
        running.post("/v1/classes/join", {"user_id": lena, "join_code": "wav3s9"}, user_token(lena))
    )
    assert joined["class_id"] == created["class_id"]
    # The web app's dashboard reads: the teacher's classes by owner, a user's enrollments with
    # their role joined to the class.
    owned = p.rows(
        "SELECT id::text, title, join_code, subject, level FROM classes WHERE owner_id = %s"
        " ORDER BY created_at",
        p.teacher,
    )
    assert [(c["title"], c["join_code"]) for c in owned] == [
        ("Optics", "OPT1CS"),
        ("Waves", "WAV3S9"),
    ]
    assert owned[1]["id"] == created["class_id"] and owned[1]["level"] is None
    memberships = p.rows(
        "SELECT e.role::text AS role, c.title FROM enrollments e JOIN classes c"
        " ON c.id = e.class_id WHERE e.user_id = %s ORDER BY e.joined_at",
        lena,
    )
    assert memberships == [
        {"role": "student", "title": "Optics"},
        {"role": "student", "title": "Waves"},
    ]
    [teacher_row] = p.rows(
        "SELECT role::text AS role FROM enrollments WHERE class_id = %s AND user_id = %s",
        created["class_id"],
        p.teacher,
    )
    assert teacher_row == {"role": "teacher"}


def test_platform_mode_refuses_a_schema_missing_a_column(running: Running) -> None:
    """The server process started on a copy of the platform's tables missing two columns
    exits at start-up, naming what is missing, and creates nothing."""
    refused = running.refused
    code = refused.process.wait(timeout=60)
    assert code != 0
    output = refused.log.read_text()
    assert "materials.storage_path" in output and "submissions.score" in output, output[-3000:]
    assert broken_tables(running.platform.url) == refused.tables_before
