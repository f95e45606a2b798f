-- The platform's chat workspace, analytics snapshots and guest sandboxes
-- (../postgres/0004_platform_chat_analytics_guests.sql).

CREATE TABLE class_chat_sessions (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    owner_user_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT 'New chat',
    is_pinned INTEGER NOT NULL DEFAULT 0,
    archived_at TEXT,
    last_message_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT
);
CREATE INDEX class_chat_sessions_listing_idx
    ON class_chat_sessions (class_id, owner_user_id, last_message_at DESC);
CREATE INDEX class_chat_sessions_sandbox_id_idx ON class_chat_sessions (sandbox_id)
    WHERE sandbox_id IS NOT NULL;
CREATE TRIGGER class_chat_sessions_set_updated_at AFTER UPDATE ON class_chat_sessions
WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE class_chat_sessions SET updated_at = (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) WHERE id = NEW.id;
END;

CREATE TABLE class_chat_messages (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    session_id TEXT NOT NULL REFERENCES class_chat_sessions (id) ON DELETE CASCADE,
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    author_user_id TEXT,
    author_kind TEXT NOT NULL CHECK (author_kind IN ('student', 'teacher', 'assistant')),
    content TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT '[]',
    safety TEXT,
    provider TEXT,
    model TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    latency_ms INTEGER,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT
);
CREATE INDEX class_chat_messages_session_created_idx
    ON class_chat_messages (session_id, created_at);
CREATE INDEX class_chat_messages_class_created_idx
    ON class_chat_messages (class_id, created_at DESC);
CREATE INDEX class_chat_messages_page_idx
    ON class_chat_messages (session_id, created_at DESC, id DESC);
CREATE INDEX class_chat_messages_sandbox_id_idx ON class_chat_messages (sandbox_id)
    WHERE sandbox_id IS NOT NULL;

CREATE TABLE class_chat_session_compactions (
    session_id TEXT PRIMARY KEY REFERENCES class_chat_sessions (id) ON DELETE CASCADE,
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    owner_user_id TEXT NOT NULL,
    summary_text TEXT NOT NULL DEFAULT '',
    summary_json TEXT NOT NULL DEFAULT '{}',
    compacted_through_created_at TEXT,
    compacted_through_message_id TEXT,
    compacted_turn_count INTEGER NOT NULL DEFAULT 0,
    last_compacted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT
);
CREATE INDEX class_chat_session_compactions_owner_idx
    ON class_chat_session_compactions (class_id, owner_user_id, last_compacted_at DESC);
CREATE TRIGGER class_chat_session_compactions_set_updated_at
AFTER UPDATE ON class_chat_session_compactions
WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE class_chat_session_compactions SET updated_at = (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    WHERE session_id = NEW.session_id;
END;

CREATE TABLE class_insights_snapshots (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    class_id TEXT NOT NULL UNIQUE REFERENCES classes (id) ON DELETE CASCADE,
    generated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    payload TEXT NOT NULL,
    sandbox_id TEXT
);

CREATE TABLE class_teaching_brief_snapshots (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    class_id TEXT NOT NULL UNIQUE REFERENCES classes (id) ON DELETE CASCADE,
    generated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    status TEXT NOT NULL DEFAULT 'ready'
        CHECK (status IN ('empty', 'ready', 'generating', 'error', 'no_data')),
    payload TEXT,
    error_message TEXT,
    sandbox_id TEXT
);

CREATE TABLE guest_sandboxes (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    user_id TEXT NOT NULL,
    class_id TEXT REFERENCES classes (id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired', 'discarded')),
    guest_role TEXT NOT NULL DEFAULT 'teacher' CHECK (guest_role IN ('teacher', 'student')),
    last_seen_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+8 hours')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    chat_messages_used INTEGER NOT NULL DEFAULT 0 CHECK (chat_messages_used >= 0),
    quiz_generations_used INTEGER NOT NULL DEFAULT 0 CHECK (quiz_generations_used >= 0),
    flashcard_generations_used INTEGER NOT NULL DEFAULT 0
        CHECK (flashcard_generations_used >= 0),
    blueprint_regenerations_used INTEGER NOT NULL DEFAULT 0
        CHECK (blueprint_regenerations_used >= 0),
    embedding_operations_used INTEGER NOT NULL DEFAULT 0 CHECK (embedding_operations_used >= 0),
    active_ai_requests INTEGER NOT NULL DEFAULT 0 CHECK (active_ai_requests >= 0)
);
CREATE UNIQUE INDEX guest_sandboxes_one_active_per_user ON guest_sandboxes (user_id)
    WHERE status = 'active';
CREATE INDEX guest_sandboxes_status_expiry_idx
    ON guest_sandboxes (status, expires_at, last_seen_at);
CREATE TRIGGER guest_sandboxes_set_updated_at AFTER UPDATE ON guest_sandboxes
WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE guest_sandboxes SET updated_at = (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) WHERE id = NEW.id;
END;
