-- The platform's chat workspace, analytics snapshots and guest sandboxes
-- (platform-schema.md §1.19-1.24). Standalone only.

CREATE TABLE class_chat_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    owner_user_id uuid NOT NULL,
    title text NOT NULL DEFAULT 'New chat',
    is_pinned boolean NOT NULL DEFAULT false,
    archived_at timestamptz,
    last_message_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid
);
CREATE INDEX class_chat_sessions_listing_idx
    ON class_chat_sessions (class_id, owner_user_id, last_message_at DESC);
CREATE INDEX class_chat_sessions_sandbox_id_idx ON class_chat_sessions (sandbox_id)
    WHERE sandbox_id IS NOT NULL;
CREATE TRIGGER class_chat_sessions_set_updated_at BEFORE UPDATE ON class_chat_sessions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE class_chat_messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id uuid NOT NULL REFERENCES class_chat_sessions (id) ON DELETE CASCADE,
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    author_user_id uuid,
    author_kind text NOT NULL CHECK (author_kind IN ('student', 'teacher', 'assistant')),
    content text NOT NULL,
    citations jsonb NOT NULL DEFAULT '[]'::jsonb,
    safety text,
    provider text,
    model text,
    prompt_tokens integer,
    completion_tokens integer,
    total_tokens integer,
    latency_ms integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid
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
    session_id uuid PRIMARY KEY REFERENCES class_chat_sessions (id) ON DELETE CASCADE,
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    owner_user_id uuid NOT NULL,
    summary_text text NOT NULL DEFAULT '',
    summary_json jsonb NOT NULL DEFAULT '{}'::jsonb,
    compacted_through_created_at timestamptz,
    compacted_through_message_id uuid,
    compacted_turn_count integer NOT NULL DEFAULT 0,
    last_compacted_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid
);
CREATE INDEX class_chat_session_compactions_owner_idx
    ON class_chat_session_compactions (class_id, owner_user_id, last_compacted_at DESC);
CREATE TRIGGER class_chat_session_compactions_set_updated_at
    BEFORE UPDATE ON class_chat_session_compactions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE class_insights_snapshots (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    class_id uuid NOT NULL UNIQUE REFERENCES classes (id) ON DELETE CASCADE,
    generated_at timestamptz NOT NULL DEFAULT now(),
    payload jsonb NOT NULL,
    sandbox_id uuid
);

CREATE TABLE class_teaching_brief_snapshots (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    class_id uuid NOT NULL UNIQUE REFERENCES classes (id) ON DELETE CASCADE,
    generated_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'ready'
        CHECK (status IN ('empty', 'ready', 'generating', 'error', 'no_data')),
    payload jsonb,
    error_message text,
    sandbox_id uuid
);

CREATE TABLE guest_sandboxes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    class_id uuid REFERENCES classes (id) ON DELETE SET NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired', 'discarded')),
    guest_role account_type NOT NULL DEFAULT 'teacher',
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL DEFAULT now() + interval '8 hours',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    chat_messages_used integer NOT NULL DEFAULT 0 CHECK (chat_messages_used >= 0),
    quiz_generations_used integer NOT NULL DEFAULT 0 CHECK (quiz_generations_used >= 0),
    flashcard_generations_used integer NOT NULL DEFAULT 0
        CHECK (flashcard_generations_used >= 0),
    blueprint_regenerations_used integer NOT NULL DEFAULT 0
        CHECK (blueprint_regenerations_used >= 0),
    embedding_operations_used integer NOT NULL DEFAULT 0 CHECK (embedding_operations_used >= 0),
    active_ai_requests integer NOT NULL DEFAULT 0 CHECK (active_ai_requests >= 0)
);
CREATE UNIQUE INDEX guest_sandboxes_one_active_per_user ON guest_sandboxes (user_id)
    WHERE status = 'active';
CREATE INDEX guest_sandboxes_status_expiry_idx
    ON guest_sandboxes (status, expires_at, last_seen_at);
CREATE TRIGGER guest_sandboxes_set_updated_at BEFORE UPDATE ON guest_sandboxes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
