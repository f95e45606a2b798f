-- The platform's materials pipeline tables (platform-schema.md §1.5-1.7). Standalone only.

CREATE TABLE materials (
    id uuid PRIMARY KEY,
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    uploaded_by uuid,
    title text NOT NULL,
    storage_path text NOT NULL,
    mime_type text,
    size_bytes bigint,
    status text NOT NULL DEFAULT 'pending',
    extracted_text text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid
);
CREATE INDEX materials_class_id_idx ON materials (class_id);
CREATE INDEX materials_sandbox_id_idx ON materials (sandbox_id) WHERE sandbox_id IS NOT NULL;

CREATE TABLE material_processing_jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    material_id uuid NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'pending',
    stage text NOT NULL DEFAULT 'queued',
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    locked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX material_processing_jobs_status_idx ON material_processing_jobs (status, created_at);
CREATE TRIGGER material_processing_jobs_set_updated_at BEFORE UPDATE ON material_processing_jobs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE material_chunks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    material_id uuid NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    source_type text NOT NULL,
    source_index integer NOT NULL,
    section_title text,
    text text NOT NULL,
    token_count integer NOT NULL,
    embedding_provider text,
    embedding_model text,
    extraction_method text,
    quality_score real,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid
);
CREATE INDEX material_chunks_class_id_idx ON material_chunks (class_id);
CREATE INDEX material_chunks_material_id_idx ON material_chunks (material_id);
CREATE INDEX material_chunks_sandbox_id_idx ON material_chunks (sandbox_id)
    WHERE sandbox_id IS NOT NULL;

-- The platform's column is `vector(1536)` (pgvector) with an ivfflat cosine index. A Postgres
-- without pgvector gets `real[]` under the same name: the same numbers, read back through
-- `embedding::real[]` either way, and dense scoring is left to the runtime.
DO $$
DECLARE
    vector_schema text;
BEGIN
    SELECT n.nspname INTO vector_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'vector';
    IF vector_schema IS NULL
        AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS vector;
            SELECT n.nspname INTO vector_schema
            FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'vector';
        EXCEPTION WHEN insufficient_privilege THEN
            vector_schema := NULL;
        END;
    END IF;
    IF vector_schema IS NULL THEN
        ALTER TABLE material_chunks ADD COLUMN embedding real[];
    ELSE
        EXECUTE format('ALTER TABLE material_chunks ADD COLUMN embedding %I.vector(1536)',
                       vector_schema);
        EXECUTE format('CREATE INDEX material_chunks_embedding_idx ON material_chunks'
                       ' USING ivfflat (embedding %I.vector_cosine_ops) WITH (lists = 100)',
                       vector_schema);
    END IF;
END;
$$;
