-- stemgraph's own tables (../postgres/0100_stemgraph_core.sql), plus SQLite's full-text index
-- over `material_chunks` (Postgres searches with to_tsvector instead).

CREATE TABLE IF NOT EXISTS stemgraph_session_leases (
    session_id TEXT PRIMARY KEY REFERENCES class_chat_sessions (id) ON DELETE CASCADE,
    busy_until TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS stemgraph_generations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('quiz', 'flashcards', 'blueprint')),
    class_id TEXT,
    user_id TEXT,
    sandbox_id TEXT,
    payload TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS stemgraph_generations_owner_idx
    ON stemgraph_generations (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS stemgraph_generations_sandbox_idx
    ON stemgraph_generations (sandbox_id) WHERE sandbox_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS stemgraph_job_leases (
    job_id TEXT PRIMARY KEY REFERENCES material_processing_jobs (id) ON DELETE CASCADE,
    locked_by TEXT,
    run_after TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1)
);

CREATE TABLE IF NOT EXISTS stemgraph_guest_accounts (
    user_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    upgraded_at TEXT
);

CREATE TABLE IF NOT EXISTS stemgraph_sandbox_claims (
    sandbox_id TEXT PRIMARY KEY REFERENCES guest_sandboxes (id) ON DELETE CASCADE,
    claimed_by TEXT NOT NULL,
    claimed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Full-text index over chunks (external content, kept in step by triggers; rowid is the
-- chunk row's implicit rowid).
CREATE VIRTUAL TABLE IF NOT EXISTS material_chunks_fts USING fts5 (
    section_title, text, content = 'material_chunks', content_rowid = 'rowid',
    tokenize = 'porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS material_chunks_fts_insert AFTER INSERT ON material_chunks BEGIN
    INSERT INTO material_chunks_fts (rowid, section_title, text)
    VALUES (new.rowid, coalesce(new.section_title, ''), new.text);
END;
CREATE TRIGGER IF NOT EXISTS material_chunks_fts_delete AFTER DELETE ON material_chunks BEGIN
    INSERT INTO material_chunks_fts (material_chunks_fts, rowid, section_title, text)
    VALUES ('delete', old.rowid, coalesce(old.section_title, ''), old.text);
END;
CREATE TRIGGER IF NOT EXISTS material_chunks_fts_update AFTER UPDATE OF section_title, text
ON material_chunks BEGIN
    INSERT INTO material_chunks_fts (material_chunks_fts, rowid, section_title, text)
    VALUES ('delete', old.rowid, coalesce(old.section_title, ''), old.text);
    INSERT INTO material_chunks_fts (rowid, section_title, text)
    VALUES (new.rowid, coalesce(new.section_title, ''), new.text);
END;
