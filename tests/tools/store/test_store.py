"""The store on both backends (a fresh SQLite file, a fresh Postgres schema), plus migrations."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from tests.conftest import drop_schema, fresh_schema_name, postgres_url_or_skip
from tools.clock import now_iso
from tools.demo import (
    DEMO_CLASS_ID,
    DEMO_GUEST_ID,
    DEMO_JOIN_CODE,
    DEMO_SANDBOX_CLASS_ID,
    DEMO_SANDBOX_ID,
    DEMO_STUDENT_IDS,
    DEMO_TEACHER_ID,
    seed_demo,
    seed_guest_sandbox,
)
from tools.demo.blueprint import DEMO_BLUEPRINT
from tools.demo.materials import DEMO_MATERIALS
from tools.store import ChunkHit, ChunkInput, ClassRecord, Profile, Sandbox, Store
from tools.store.base import ChatMessage, ClaimSummary, JoinCodeTaken
from tools.store.migrations import migrations
from tools.store.postgres import PostgresStore, connection_kwargs

INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)

FORCE = "Newton's second law states that the net force equals mass times acceleration."
PHOTO = "Photosynthesis converts light energy into chemical energy inside chloroplasts."
CELLS = "Mitochondria release energy from glucose through cellular respiration."


def new_id() -> str:
    return str(uuid.uuid4())


def chunks(*contents: str, section: str | None = "Notes") -> list[ChunkInput]:
    return [ChunkInput(i, text, section, len(text) // 4 + 1) for i, text in enumerate(contents)]


async def make_class(store: Store, *, join_code: str | None = None) -> tuple[str, str]:
    """A teacher and a class they own; returns (class_id, teacher_id)."""
    teacher = new_id()
    await store.upsert_profile(teacher, "teacher", "Teacher")
    class_id = new_id()
    await store.create_class(
        class_id=class_id,
        owner_id=teacher,
        title="Science",
        join_code=join_code or uuid.uuid4().hex[:8].upper(),
    )
    return class_id, teacher


async def material_row(store: Any, material_id: str) -> dict[str, Any]:
    """The material's stored title/status and its chunk count, read straight from the tables."""
    async with store.session() as db:
        rows = await db.query(
            "SELECT title, status FROM materials WHERE id = :id", {"id": material_id}
        )
        count = await db.query(
            "SELECT count(*) AS n FROM material_chunks WHERE material_id = :id",
            {"id": material_id},
        )
    assert len(rows) == 1
    return {"title": rows[0]["title"], "status": rows[0]["status"], "chunks": int(count[0]["n"])}


# --- basics -----------------------------------------------------------------------------------


async def test_ping_answers_on_the_requested_backend(store: Store, backend: str) -> None:
    assert store.backend == backend
    await store.ping()  # raises when the database cannot answer
    await store.ping()


async def test_profile_upsert_then_get_and_update(store: Store) -> None:
    user = new_id()
    assert await store.get_profile(user) is None

    await store.upsert_profile(user, "student", "Lena")
    assert await store.get_profile(user) == Profile(user, "student", "Lena")

    await store.upsert_profile(user, "student", None)
    assert await store.get_profile(user) == Profile(user, "student", None)
    # The platform keeps a profile's account type for good (its immutability trigger).
    with pytest.raises(ValueError, match="never changes"):
        await store.upsert_profile(user, "teacher", None)
    assert await store.get_profile(user) == Profile(user, "student", None)
    assert await store.get_profile(new_id()) is None


async def test_a_guest_becomes_an_account_of_either_kind(store: Store) -> None:
    guest, other = new_id(), new_id()
    for user in (guest, other):
        await store.upsert_profile(user, "guest", None)
        assert await store.get_profile(user) == Profile(user, "guest", None)
    await store.upsert_profile(guest, "student", "Lena")
    await store.upsert_profile(other, "teacher", "Ada")
    assert await store.get_profile(guest) == Profile(guest, "student", "Lena")
    assert await store.get_profile(other) == Profile(other, "teacher", "Ada")
    async with store.session() as db:
        rows = await db.query(
            "SELECT id, account_type FROM profiles WHERE id IN (:a, :b)", {"a": guest, "b": other}
        )
    assert {str(r["id"]): r["account_type"] for r in rows} == {guest: "student", other: "teacher"}


async def test_create_class_enrolls_the_owner_as_teacher(store: Store) -> None:
    owner = new_id()
    await store.upsert_profile(owner, "teacher", "Ada")
    class_id = new_id()
    record = await store.create_class(
        class_id=class_id,
        owner_id=owner,
        title="Physics",
        join_code="Phys-01",
        subject="Physical science",
        level="Secondary",
        description="Forces and motion",
    )
    expected = ClassRecord(class_id, owner, "Physics", "Physical science", "Secondary", "Phys-01")
    assert record == expected
    assert await store.get_class(class_id) == expected
    assert await store.class_role(class_id, owner) == "teacher"
    assert await store.get_class(new_id()) is None


async def test_duplicate_join_code_is_rejected_case_insensitively(store: Store) -> None:
    class_id, teacher = await make_class(store, join_code="ABC123")
    other = new_id()
    with pytest.raises(JoinCodeTaken):
        await store.create_class(class_id=other, owner_id=teacher, title="Copy", join_code="abc123")
    # The failed create left nothing behind, and the first class is untouched.
    assert await store.get_class(other) is None
    assert await store.class_role(other, teacher) is None
    first = await store.get_class(class_id)
    assert first is not None
    assert first.join_code == "ABC123"


async def test_enroll_is_idempotent_and_never_demotes(store: Store) -> None:
    class_id, teacher = await make_class(store)
    student = new_id()
    await store.upsert_profile(student, "student", "Sam")
    assert await store.class_role(class_id, student) is None

    await store.enroll(class_id, student, "student")
    await store.enroll(class_id, student, "student")
    assert await store.class_role(class_id, student) == "student"

    # Enrolling the owner again as a student keeps their teacher role.
    await store.enroll(class_id, teacher, "student")
    assert await store.class_role(class_id, teacher) == "teacher"
    assert await store.class_role(new_id(), student) is None


# --- materials --------------------------------------------------------------------------------


async def test_save_material_replaces_the_previous_chunks(store: Store) -> None:
    class_id, _ = await make_class(store)
    material = new_id()
    await store.save_material(
        material_id=material,
        class_id=class_id,
        title="v1",
        source_type="markdown",
        chunks=chunks(PHOTO, CELLS, "Chlorophyll absorbs mostly red and blue light."),
    )
    await store.save_material(
        material_id=material,
        class_id=class_id,
        title="v2",
        source_type="pdf",
        chunks=chunks(FORCE),
    )
    assert await material_row(store, material) == {"title": "v2", "status": "ready", "chunks": 1}

    # The replaced chunks are gone from the index too: their words match nothing any more
    # (a stale index entry would surface the new chunk for an old word).
    hits = await store.search_chunks(class_id, "photosynthesis chloroplasts chlorophyll", limit=10)
    assert [(h.content, h.score) for h in hits] == [(FORCE, 0.0)]

    hits = await store.search_chunks(class_id, "acceleration", limit=10)
    assert len(hits) == 1
    assert hits[0].material_title == "v2"
    assert hits[0].source_type == "pdf"
    assert hits[0].score > 0


async def test_failed_save_material_leaves_previous_chunks_and_status(store: Store) -> None:
    class_id, _ = await make_class(store)
    material = new_id()
    await store.save_material(
        material_id=material,
        class_id=class_id,
        title="v1",
        source_type="markdown",
        chunks=chunks(PHOTO, CELLS),
    )
    broken = [
        ChunkInput(0, FORCE, "Motion", 20),
        ChunkInput(1, None, "Motion", 1),  # type: ignore[arg-type]  # violates NOT NULL
    ]
    with pytest.raises(INTEGRITY_ERRORS):
        await store.save_material(
            material_id=material,
            class_id=class_id,
            title="v2",
            source_type="pdf",
            chunks=broken,
        )
    assert await material_row(store, material) == {"title": "v1", "status": "ready", "chunks": 2}
    hits = await store.search_chunks(class_id, "photosynthesis", limit=10)
    assert [(h.material_title, h.content) for h in hits] == [("v1", PHOTO)]
    # Nothing of the failed attempt is searchable.
    hits = await store.search_chunks(class_id, "acceleration", limit=10)
    assert FORCE not in [h.content for h in hits]
    assert all(h.score == 0.0 for h in hits)

    # A material that is still being processed keeps that status when a save fails.
    async with store.session() as db:
        await db.execute(
            "UPDATE materials SET status = 'processing' WHERE id = :id", {"id": material}
        )
    with pytest.raises(INTEGRITY_ERRORS):
        await store.save_material(
            material_id=material,
            class_id=class_id,
            title="v3",
            source_type="pdf",
            chunks=broken,
        )
    row = await material_row(store, material)
    assert row == {"title": "v1", "status": "processing", "chunks": 2}
    # The store still works after the rollback.
    await store.save_material(
        material_id=material,
        class_id=class_id,
        title="v4",
        source_type="pdf",
        chunks=chunks(FORCE),
    )
    assert await material_row(store, material) == {"title": "v4", "status": "ready", "chunks": 1}


# --- search -----------------------------------------------------------------------------------


@pytest.fixture
async def searchable(store: Store) -> tuple[Store, str, str, str]:
    """Class A with one three-chunk material; class B with force-heavy material of its own."""
    class_a, _ = await make_class(store)
    class_b, _ = await make_class(store)
    material_a = new_id()
    await store.save_material(
        material_id=material_a,
        class_id=class_a,
        title="Biology and physics",
        source_type="markdown",
        chunks=chunks(PHOTO, FORCE, CELLS),
    )
    material_b = new_id()
    await store.save_material(
        material_id=material_b,
        class_id=class_b,
        title="Other class",
        source_type="markdown",
        chunks=chunks(
            "Force, force, force: the force of friction opposes the applied force.",
            "Acceleration is the rate of change of velocity; force causes acceleration.",
        ),
    )
    return store, class_a, material_a, material_b


async def test_search_ranks_the_relevant_chunk_first(
    searchable: tuple[Store, str, str, str],
) -> None:
    store, class_a, material_a, _ = searchable
    hits = await store.search_chunks(
        class_a, "What does Newton's second law say about force and acceleration?", limit=5
    )
    assert hits, "a matching query must return hits"
    top = hits[0]
    assert isinstance(top, ChunkHit)
    assert (top.material_id, top.chunk_index, top.content) == (material_a, 1, FORCE)
    assert top.material_title == "Biology and physics"
    assert top.section == "Notes"
    assert top.score > 0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    hits = await store.search_chunks(class_a, "chloroplasts", limit=5)
    assert [h.content for h in hits] == [PHOTO]


async def test_search_is_scoped_to_the_class(searchable: tuple[Store, str, str, str]) -> None:
    store, class_a, material_a, material_b = searchable
    for query in ("force friction acceleration velocity", "friction", "zzzz unmatched"):
        hits = await store.search_chunks(class_a, query, limit=50)
        assert hits
        assert {h.material_id for h in hits} == {material_a}, query
    # A class with no materials gets nothing at all, even on the fallback path.
    empty_class, _ = await make_class(store)
    assert await store.search_chunks(empty_class, "force", limit=10) == []
    assert await store.search_chunks(empty_class, "", limit=10) == []


async def test_search_respects_the_limit(searchable: tuple[Store, str, str, str]) -> None:
    store, class_a, _, _ = searchable
    assert len(await store.search_chunks(class_a, "energy force", limit=1)) == 1
    assert len(await store.search_chunks(class_a, "zzzz", limit=2)) == 2


@pytest.mark.parametrize(
    "query",
    [
        'force" OR "',
        "force*",
        "content:force",
        "force & mass",
        "force | mass",
        "!mass force",
        "Newton's force",
        "(force",
        "force)",
        "force NEAR mass",
        "NEAR(force mass)",
        "-mass force",
        "force AND NOT mass",
        "force:* | !mass & (acceleration",
        "{force} ^mass ~acceleration",
    ],
)
async def test_search_treats_query_syntax_literally(
    searchable: tuple[Store, str, str, str], query: str
) -> None:
    store, class_a, material_a, _ = searchable
    hits = await store.search_chunks(class_a, query, limit=5)
    # Operators are not applied (no NOT/exclusion): the force chunk is the best lexical hit.
    assert hits
    assert (hits[0].material_id, hits[0].chunk_index) == (material_a, 1)
    assert hits[0].score > 0


@pytest.mark.parametrize(
    "query", ['"', "*", ":", "&", "|", "!", "'", "(", ")", "-", "\"*:&|!'()-", "NEAR", "AND OR NOT"]
)
async def test_search_with_only_syntax_characters_does_not_raise(
    searchable: tuple[Store, str, str, str], query: str
) -> None:
    store, class_a, material_a, _ = searchable
    hits = await store.search_chunks(class_a, query, limit=10)
    assert hits
    assert {h.material_id for h in hits} == {material_a}


@pytest.mark.parametrize("query", ["photo*", "photo:*", "photo:"])
async def test_prefix_operators_are_not_applied(
    searchable: tuple[Store, str, str, str], query: str
) -> None:
    # As a prefix query "photo*" would match "Photosynthesis"; literally, "photo" matches nothing.
    store, class_a, _, _ = searchable
    hits = await store.search_chunks(class_a, query, limit=10)
    assert [h.chunk_index for h in hits] == [0, 1, 2]
    assert all(h.score == 0.0 for h in hits)


@pytest.mark.parametrize("query", ["", "   ", "what is the", "quantum chromodynamics"])
async def test_search_without_matching_terms_falls_back_to_reading_order(
    searchable: tuple[Store, str, str, str], query: str
) -> None:
    store, class_a, material_a, _ = searchable
    # Created later but with an id that sorts first: the order must come from creation time.
    later = "00000000-0000-4000-8000-000000000001"
    assert later < material_a
    await asyncio.sleep(0.01)  # SQLite timestamps have millisecond resolution
    await store.save_material(
        material_id=later,
        class_id=class_a,
        title="Later material",
        source_type="markdown",
        chunks=chunks("Sound is a longitudinal wave.", "Light is a transverse wave."),
    )
    hits = await store.search_chunks(class_a, query, limit=10)
    assert [(h.material_id, h.chunk_index, h.score) for h in hits] == [
        (material_a, 0, 0.0),
        (material_a, 1, 0.0),
        (material_a, 2, 0.0),
        (later, 0, 0.0),
        (later, 1, 0.0),
    ]
    assert hits[0].content == PHOTO
    assert hits[3].material_title == "Later material"


async def test_fallback_reading_order_follows_chunk_index(store: Store) -> None:
    class_id, _ = await make_class(store)
    material = new_id()
    contents = [f"Paragraph number {n} of the reading." for n in range(5)]
    # Saved out of order: retrieval must still follow chunk_index.
    shuffled = [ChunkInput(i, contents[i], None, 10) for i in (3, 0, 4, 1, 2)]
    await store.save_material(
        material_id=material,
        class_id=class_id,
        title="Reading",
        source_type="text",
        chunks=shuffled,
    )
    hits = await store.search_chunks(class_id, "zzzz", limit=3)
    assert [(h.chunk_index, h.content, h.section) for h in hits] == [
        (0, contents[0], None),
        (1, contents[1], None),
        (2, contents[2], None),
    ]


# --- sandboxes --------------------------------------------------------------------------------


async def test_sandbox_upsert_get_and_deactivate(store: Store) -> None:
    sandbox, owner, new_owner = new_id(), new_id(), new_id()
    assert await store.get_sandbox(sandbox) is None

    await store.upsert_sandbox(sandbox, owner, active=True)
    assert await store.get_sandbox(sandbox) == Sandbox(sandbox, owner, True)

    await store.upsert_sandbox(sandbox, new_owner, active=False)
    assert await store.get_sandbox(sandbox) == Sandbox(sandbox, new_owner, False)

    await store.upsert_sandbox(sandbox, new_owner, active=True)
    got = await store.get_sandbox(sandbox)
    assert got is not None
    assert got.is_active


async def test_a_sandbox_class_carries_its_sandbox_and_enrolls_nobody(store: Store) -> None:
    guest, sandbox, class_id = new_id(), new_id(), new_id()
    await store.upsert_profile(guest, "guest", None)
    record = await store.create_class(
        class_id=class_id, owner_id=guest, title="Try it", join_code="TRY1", sandbox_id=sandbox
    )
    assert record == ClassRecord(class_id, guest, "Try it", None, None, "TRY1", sandbox)
    assert await store.get_class(class_id) == record
    assert await store.find_class_by_code("try1") == record
    # The guest is not its teacher: whoever clones a sandbox enrolls its guest as a student.
    assert await store.class_role(class_id, guest) is None
    plain, _ = await make_class(store)
    stored = await store.get_class(plain)
    assert stored is not None and stored.sandbox_id is None


async def generation_owners(store: Store) -> list[tuple[str | None, str | None]]:
    async with store.session() as db:
        rows = await db.query("SELECT user_id, sandbox_id FROM stemgraph_generations")
    return sorted((_text(r["user_id"]), _text(r["sandbox_id"])) for r in rows)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def guest_with_work(store: Store) -> tuple[str, str, str, str]:
    """A guest with a sandbox class (enrolled as a student), a session with one message of its
    own, one generation of its own, and one another user tagged with its sandbox. Returns
    (guest, sandbox, class, other user)."""
    guest, sandbox, other = new_id(), new_id(), new_id()
    klass = await seed_guest_sandbox(store, sandbox_id=sandbox, guest_user_id=guest)
    session = await store.create_session(
        session_id=new_id(), class_id=klass.id, owner_user_id=guest, title="Hi", sandbox_id=sandbox
    )
    await store.append_messages(
        session.id,
        [ChatMessage(new_id(), session.id, klass.id, guest, "student", "Hello?", now_iso())],
    )
    for user in (guest, other):
        await store.record_generation(
            kind="quiz",
            payload={"questions": []},
            provider="offline",
            model="offline",
            class_id=None,
            user_id=user,
            sandbox_id=sandbox,
        )
    return guest, sandbox, klass.id, other


async def test_a_claim_moves_only_the_guest_s_own_rows(store: Store) -> None:
    guest, sandbox, class_id, other = await guest_with_work(store)
    account = new_id()
    with pytest.raises(LookupError):  # no profile yet: nothing moves
        await store.claim_sandbox(sandbox, guest, account)
    assert await store.class_role(class_id, guest) == "student"
    await store.upsert_profile(account, "student", "Sam")
    with pytest.raises(LookupError):  # not that guest's sandbox
        await store.claim_sandbox(sandbox, other, account)
    summary = await store.claim_sandbox(sandbox, guest, account)
    assert summary == ClaimSummary(sessions=1, messages=1, generations=1, enrollments=1, classes=1)
    assert await generation_owners(store) == sorted([(account, None), (other, sandbox)])
    assert await store.class_role(class_id, account) == "student"
    assert await store.class_role(class_id, guest) is None
    klass = await store.get_class(class_id)
    assert klass is not None and klass.sandbox_id is None and klass.owner_id == account
    [session] = await store.list_sessions(class_id, account)
    assert session.sandbox_id is None
    assert [m.author_user_id for m in await store.session_messages(session.id)] == [account]
    sandbox_row = await store.get_sandbox(sandbox)
    assert sandbox_row is not None and not sandbox_row.is_active
    with pytest.raises(LookupError):  # spent
        await store.claim_sandbox(sandbox, guest, account)


async def test_a_guest_upgraded_in_place_keeps_its_rows(store: Store) -> None:
    guest, sandbox, class_id, other = await guest_with_work(store)
    summary = await store.claim_sandbox(sandbox, guest, guest)
    assert summary == ClaimSummary(sessions=1, messages=1, generations=1, enrollments=1, classes=1)
    # Moving rows from the guest to itself must not drop its enrollment.
    assert await store.class_role(class_id, guest) == "student"
    assert await generation_owners(store) == sorted([(guest, None), (other, sandbox)])
    klass = await store.get_class(class_id)
    assert klass is not None and klass.sandbox_id is None and klass.owner_id == guest


# --- demo seed --------------------------------------------------------------------------------


async def count_chunks(store: Store, class_id: str) -> int:
    return len(await store.search_chunks(class_id, "", limit=10_000))


async def test_seed_demo_creates_the_demo_class_once(store: Store) -> None:
    assert await seed_demo(store) is True

    demo = await store.get_class(DEMO_CLASS_ID)
    assert demo is not None
    assert demo.join_code == DEMO_JOIN_CODE
    assert demo.owner_id == DEMO_TEACHER_ID
    assert await store.class_role(DEMO_CLASS_ID, DEMO_TEACHER_ID) == "teacher"
    for student in DEMO_STUDENT_IDS:
        assert await store.class_role(DEMO_CLASS_ID, student) == "student"
    guest = await store.get_profile(DEMO_GUEST_ID)
    assert guest is not None
    assert guest.account_type == "guest"
    assert await store.get_sandbox(DEMO_SANDBOX_ID) == Sandbox(DEMO_SANDBOX_ID, DEMO_GUEST_ID, True)
    # The guest works in its own sandbox's copy of the demo class, never in the demo class.
    assert demo.sandbox_id is None
    assert await store.class_role(DEMO_CLASS_ID, DEMO_GUEST_ID) is None
    copy = await store.get_class(DEMO_SANDBOX_CLASS_ID)
    assert copy is not None
    assert (copy.sandbox_id, copy.owner_id, copy.join_code) == (
        DEMO_SANDBOX_ID,
        DEMO_GUEST_ID,
        "55555555",
    )
    assert await store.class_role(DEMO_SANDBOX_CLASS_ID, DEMO_GUEST_ID) == "student"
    assert await store.get_published_blueprint(DEMO_SANDBOX_CLASS_ID) == DEMO_BLUEPRINT
    copied = await store.search_chunks(DEMO_SANDBOX_CLASS_ID, "", limit=10_000)
    assert len(copied) == await count_chunks(store, DEMO_CLASS_ID)
    assert not {h.material_id for h in copied} & {m.id for m in DEMO_MATERIALS}
    chunk_count = await count_chunks(store, DEMO_CLASS_ID)
    all_hits = await store.search_chunks(DEMO_CLASS_ID, "", limit=10_000)
    assert {h.material_id for h in all_hits} == {m.id for m in DEMO_MATERIALS}

    hits = await store.search_chunks(DEMO_CLASS_ID, "Newton's second law", limit=3)
    newton = next(m for m in DEMO_MATERIALS if "Newton" in m.title)
    assert hits[0].material_id == newton.id
    assert hits[0].score > 0

    # Idempotent: a second call changes nothing.
    assert await seed_demo(store) is False
    assert await count_chunks(store, DEMO_CLASS_ID) == chunk_count
    assert await store.get_class(DEMO_CLASS_ID) == demo
    assert await store.get_class(DEMO_SANDBOX_CLASS_ID) == copy


# --- Postgres only ----------------------------------------------------------------------------


@pytest.mark.postgres
async def test_postgres_migrate_twice_applies_nothing_the_second_time() -> None:
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, min_size=1, max_size=2, kwargs=connection_kwargs(schema), open=False
    )
    await pool.open(wait=True)
    try:
        store = PostgresStore(pool)
        expected = [m.name for m in migrations("postgres")]
        assert expected, "the migrations directory must hold at least one migration"
        assert await store.migrate() == expected
        assert await store.migrate() == []
        async with store.session() as db:
            rows = await db.query("SELECT name FROM stemgraph_schema_versions ORDER BY version")
        assert [row["name"] for row in rows] == expected
        # The migrated schema is usable.
        await store.upsert_profile(new_id(), "guest", None)
    finally:
        await pool.close()
        await drop_schema(url, schema)


@pytest.mark.postgres
async def test_postgres_reopening_a_migrated_schema_applies_nothing() -> None:
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    first = await PostgresStore.open(url, schema=schema, max_size=2)
    try:
        class_id, _ = await make_class(first)
        second = await PostgresStore.open(url, schema=schema, max_size=2)
        try:
            assert await second.migrate() == []
            # Re-running the migrations kept the data written before.
            assert await second.get_class(class_id) is not None
        finally:
            await second.close()
    finally:
        await first.close()
        await drop_schema(url, schema)


@pytest.mark.postgres
async def test_postgres_concurrent_opens_on_an_existing_schema_both_migrate() -> None:
    url = postgres_url_or_skip()
    schema = fresh_schema_name()
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        results = await asyncio.gather(
            *(PostgresStore.open(url, schema=schema, max_size=2) for _ in range(3)),
            return_exceptions=True,
        )
        opened = [r for r in results if isinstance(r, PostgresStore)]
        try:
            errors = [r for r in results if isinstance(r, BaseException)]
            assert errors == []
            async with opened[0].session() as db:
                rows = await db.query("SELECT count(*) AS n FROM stemgraph_schema_versions")
            assert rows[0]["n"] == len(migrations("postgres"))
            for each in opened:
                await each.ping()
        finally:
            for each in opened:
                await each.close()
    finally:
        await drop_schema(url, schema)


@pytest.mark.postgres
async def test_postgres_concurrent_opens_on_a_fresh_schema_both_succeed() -> None:
    url = postgres_url_or_skip()
    # The race loses about half the time per round; enough rounds make the outcome certain.
    for _ in range(25):
        schema = fresh_schema_name()
        try:
            results = await asyncio.gather(
                *(PostgresStore.open(url, schema=schema, max_size=2) for _ in range(2)),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, PostgresStore):
                    await result.close()
            errors = [r for r in results if isinstance(r, BaseException)]
            assert errors == [], errors
        finally:
            await drop_schema(url, schema)
