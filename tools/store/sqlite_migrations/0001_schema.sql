-- The embedded default's schema: the same tables as supabase/migrations, in SQLite's dialect.

CREATE TABLE IF NOT EXISTS profiles (
    id TEXT PRIMARY KEY,
    account_type TEXT NOT NULL CHECK (account_type IN ('teacher', 'student', 'guest')),
    display_name TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS classes (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES profiles (id),
    title TEXT NOT NULL,
    subject TEXT,
    level TEXT,
    description TEXT,
    join_code TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX IF NOT EXISTS classes_join_code_key ON classes (lower(join_code));

CREATE TABLE IF NOT EXISTS enrollments (
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('teacher', 'student')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (class_id, user_id)
);
CREATE INDEX IF NOT EXISTS enrollments_user_idx ON enrollments (user_id);

CREATE TABLE IF NOT EXISTS materials (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    source_type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    error TEXT,
    file_name TEXT,
    mime_type TEXT,
    content BLOB,
    created_by TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS materials_class_idx ON materials (class_id);

CREATE TABLE IF NOT EXISTS material_chunks (
    id INTEGER PRIMARY KEY,
    material_id TEXT NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
    class_id TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    section TEXT,
    content TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    embedding BLOB,
    embedding_model TEXT,
    UNIQUE (material_id, chunk_index)
);
CREATE INDEX IF NOT EXISTS material_chunks_class_idx ON material_chunks (class_id);

-- Full-text index over chunks, kept in step by triggers (external-content FTS5).
CREATE VIRTUAL TABLE IF NOT EXISTS material_chunks_fts USING fts5 (
    section, content, content = 'material_chunks', content_rowid = 'id',
    tokenize = 'porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS material_chunks_ai AFTER INSERT ON material_chunks BEGIN
    INSERT INTO material_chunks_fts (rowid, section, content)
    VALUES (new.id, coalesce(new.section, ''), new.content);
END;
CREATE TRIGGER IF NOT EXISTS material_chunks_ad AFTER DELETE ON material_chunks BEGIN
    INSERT INTO material_chunks_fts (material_chunks_fts, rowid, section, content)
    VALUES ('delete', old.id, coalesce(old.section, ''), old.content);
END;

CREATE TABLE IF NOT EXISTS guest_sandboxes (
    id TEXT PRIMARY KEY,
    owner_user_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired', 'claimed')),
    claimed_by TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS guest_sandboxes_owner_idx ON guest_sandboxes (owner_user_id);

CREATE TABLE IF NOT EXISTS class_blueprints (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    published_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS class_blueprints_one_published
    ON class_blueprints (class_id) WHERE status = 'published';

CREATE TABLE IF NOT EXISTS chat_sessions (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    owner_user_id TEXT NOT NULL,
    sandbox_id TEXT,
    title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    is_pinned INTEGER NOT NULL DEFAULT 0,
    archived_at TEXT,
    last_message_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    busy_until TEXT
);
CREATE INDEX IF NOT EXISTS chat_sessions_listing
    ON chat_sessions (class_id, owner_user_id, is_pinned DESC, last_message_at DESC)
    WHERE archived_at IS NULL;

CREATE TABLE IF NOT EXISTS chat_messages (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    class_id TEXT NOT NULL,
    author_user_id TEXT,
    author_kind TEXT NOT NULL CHECK (author_kind IN ('student', 'teacher', 'assistant')),
    content TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT '[]',
    safety TEXT CHECK (safety IN ('ok', 'refusal')),
    provider TEXT,
    model TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    latency_ms INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_messages_page
    ON chat_messages (session_id, created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS material_jobs (
    id TEXT PRIMARY KEY,
    material_id TEXT NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
    class_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    run_after TEXT NOT NULL,
    locked_at TEXT,
    locked_by TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS material_jobs_in_flight
    ON material_jobs (material_id) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS material_jobs_ready ON material_jobs (status, run_after);

CREATE TABLE IF NOT EXISTS generations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('quiz', 'flashcards', 'blueprint')),
    class_id TEXT,
    user_id TEXT,
    sandbox_id TEXT,
    payload TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS generations_owner ON generations (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS generations_sandbox ON generations (sandbox_id);

CREATE TABLE IF NOT EXISTS activities (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    activity_type TEXT NOT NULL CHECK (activity_type IN ('quiz', 'flashcards', 'chat', 'discussion')),
    topic_id TEXT,
    bloom_level TEXT CHECK (bloom_level IN
        ('remember', 'understand', 'apply', 'analyze', 'evaluate', 'create')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS activities_class ON activities (class_id);

CREATE TABLE IF NOT EXISTS assignments (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    activity_id TEXT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    due_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS assignments_class ON assignments (class_id);

CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    class_id TEXT NOT NULL,
    student_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('in_progress', 'submitted')),
    score REAL CHECK (score IS NULL OR (score >= 0 AND score <= 1)),
    attempt INTEGER NOT NULL DEFAULT 1,
    submitted_at TEXT
);
CREATE INDEX IF NOT EXISTS submissions_class_student ON submissions (class_id, student_id);
CREATE INDEX IF NOT EXISTS submissions_assignment ON submissions (assignment_id);

CREATE TABLE IF NOT EXISTS class_insight_snapshots (
    class_id TEXT PRIMARY KEY REFERENCES classes (id) ON DELETE CASCADE,
    payload TEXT NOT NULL,
    generated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS teaching_brief_snapshots (
    class_id TEXT PRIMARY KEY REFERENCES classes (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('ready', 'generating', 'no_data', 'error')),
    payload TEXT,
    generated_at TEXT,
    has_evidence INTEGER NOT NULL DEFAULT 0,
    error_message TEXT,
    refresh_started_at TEXT,
    updated_at TEXT NOT NULL
);
