-- stemgraph's own tables, applied in both modes (on the platform's database too). They hold what
-- stemgraph needs beyond the platform's tables; the platform's tables never get a column from
-- stemgraph. Checkpoints live in LangGraph's own saver tables, not here.

-- A chat send's lease on its session: one send at a time per session, across processes.
CREATE TABLE IF NOT EXISTS stemgraph_session_leases (
    session_id uuid PRIMARY KEY REFERENCES class_chat_sessions (id) ON DELETE CASCADE,
    busy_until timestamptz NOT NULL
);

-- Every quiz, flashcard and blueprint payload stemgraph generated (a guest's can be claimed).
CREATE TABLE IF NOT EXISTS stemgraph_generations (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('quiz', 'flashcards', 'blueprint')),
    class_id uuid,
    user_id uuid,
    sandbox_id uuid,
    payload jsonb NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS stemgraph_generations_owner_idx
    ON stemgraph_generations (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS stemgraph_generations_sandbox_idx
    ON stemgraph_generations (sandbox_id) WHERE sandbox_id IS NOT NULL;

-- stemgraph's worker's hold on a `material_processing_jobs` row: which worker, when the job may
-- run again (retry backoff) and how many attempts it gets. The job row keeps the platform's
-- status, stage, attempts, last_error and locked_at.
CREATE TABLE IF NOT EXISTS stemgraph_job_leases (
    job_id uuid PRIMARY KEY REFERENCES material_processing_jobs (id) ON DELETE CASCADE,
    locked_by text,
    run_after timestamptz NOT NULL DEFAULT now(),
    max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1)
);

-- Anonymous (guest) accounts. The platform knows them from `auth.users.is_anonymous`; its
-- `profiles` row says `student`. `upgraded_at` is set when the guest signs up in place.
CREATE TABLE IF NOT EXISTS stemgraph_guest_accounts (
    user_id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    upgraded_at timestamptz
);

-- A guest sandbox handed over to an account (`guests/claim`); the platform's sandbox statuses
-- have no such state.
CREATE TABLE IF NOT EXISTS stemgraph_sandbox_claims (
    sandbox_id uuid PRIMARY KEY REFERENCES guest_sandboxes (id) ON DELETE CASCADE,
    claimed_by uuid NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);
