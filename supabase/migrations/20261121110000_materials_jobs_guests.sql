-- Materials ingest (raw uploads, a durable job queue, stored embeddings), generated content and
-- guest hand-over.

ALTER TABLE materials ADD COLUMN IF NOT EXISTS file_name text;
ALTER TABLE materials ADD COLUMN IF NOT EXISTS mime_type text;
ALTER TABLE materials ADD COLUMN IF NOT EXISTS content bytea;
ALTER TABLE materials ADD COLUMN IF NOT EXISTS created_by uuid;
ALTER TABLE materials ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();

-- float32 little-endian vectors; pgvector is optional (Supabase has it, plain Postgres may not).
ALTER TABLE material_chunks ADD COLUMN IF NOT EXISTS embedding bytea;
ALTER TABLE material_chunks ADD COLUMN IF NOT EXISTS embedding_model text;

CREATE TABLE IF NOT EXISTS material_jobs (
    id uuid PRIMARY KEY,
    material_id uuid NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
    class_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 3,
    run_after timestamptz NOT NULL,
    locked_at timestamptz,
    locked_by text,
    last_error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- One in-flight job per material: dispatching again reuses it.
CREATE UNIQUE INDEX IF NOT EXISTS material_jobs_in_flight
    ON material_jobs (material_id) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS material_jobs_ready ON material_jobs (status, run_after);

CREATE TABLE IF NOT EXISTS generations (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('quiz', 'flashcards', 'blueprint')),
    class_id uuid,
    user_id uuid,
    sandbox_id uuid,
    payload jsonb NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS generations_owner ON generations (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS generations_sandbox ON generations (sandbox_id) WHERE sandbox_id IS NOT NULL;

ALTER TABLE guest_sandboxes DROP CONSTRAINT IF EXISTS guest_sandboxes_status_check;
ALTER TABLE guest_sandboxes ADD CONSTRAINT guest_sandboxes_status_check
    CHECK (status IN ('active', 'expired', 'claimed'));
ALTER TABLE guest_sandboxes ADD COLUMN IF NOT EXISTS claimed_by uuid;

ALTER TABLE material_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE generations ENABLE ROW LEVEL SECURITY;
