-- Tutor chat: published blueprints (chat grounds on them), workspace sessions and their messages.

CREATE TABLE IF NOT EXISTS class_blueprints (
    id uuid PRIMARY KEY,
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    status text NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
-- At most one published blueprint per class; publishing swaps rows inside one transaction.
CREATE UNIQUE INDEX IF NOT EXISTS class_blueprints_one_published
    ON class_blueprints (class_id) WHERE status = 'published';

CREATE TABLE IF NOT EXISTS chat_sessions (
    id uuid PRIMARY KEY,
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    owner_user_id uuid NOT NULL,
    sandbox_id uuid,
    title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 120),
    is_pinned boolean NOT NULL DEFAULT false,
    archived_at timestamptz,
    last_message_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    -- A send holds the session until this moment, so two sends never interleave.
    busy_until timestamptz
);
CREATE INDEX IF NOT EXISTS chat_sessions_listing
    ON chat_sessions (class_id, owner_user_id, is_pinned DESC, last_message_at DESC)
    WHERE archived_at IS NULL;

CREATE TABLE IF NOT EXISTS chat_messages (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    class_id uuid NOT NULL,
    author_user_id uuid,
    author_kind text NOT NULL CHECK (author_kind IN ('student', 'teacher', 'assistant')),
    content text NOT NULL,
    citations jsonb NOT NULL DEFAULT '[]'::jsonb,
    safety text CHECK (safety IN ('ok', 'refusal')),
    provider text,
    model text,
    prompt_tokens integer,
    completion_tokens integer,
    total_tokens integer,
    latency_ms integer,
    created_at timestamptz NOT NULL
);
-- Keyset paging: newest first within a session, ties broken by id.
CREATE INDEX IF NOT EXISTS chat_messages_page
    ON chat_messages (session_id, created_at DESC, id DESC);

ALTER TABLE class_blueprints ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_messages ENABLE ROW LEVEL SECURITY;
