-- stemgraph foundation: profiles, classes, enrollments, materials, material chunks, guest sandboxes.
-- Unqualified names so the same file applies to Supabase's `public` schema and to a test schema.

CREATE TABLE IF NOT EXISTS profiles (
    id uuid PRIMARY KEY,
    account_type text NOT NULL CHECK (account_type IN ('teacher', 'student', 'guest')),
    display_name text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS classes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id uuid NOT NULL REFERENCES profiles (id),
    title text NOT NULL,
    subject text,
    level text,
    description text,
    join_code text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS classes_join_code_key ON classes (lower(join_code));

CREATE TABLE IF NOT EXISTS enrollments (
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('teacher', 'student')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (class_id, user_id)
);
CREATE INDEX IF NOT EXISTS enrollments_user_idx ON enrollments (user_id);

CREATE TABLE IF NOT EXISTS materials (
    id uuid PRIMARY KEY,
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    title text NOT NULL,
    source_type text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    error text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS materials_class_idx ON materials (class_id);

CREATE TABLE IF NOT EXISTS material_chunks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    material_id uuid NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
    class_id uuid NOT NULL,
    chunk_index integer NOT NULL,
    section text,
    content text NOT NULL,
    token_count integer NOT NULL,
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(section, '')), 'A')
        || setweight(to_tsvector('english', content), 'B')
    ) STORED,
    UNIQUE (material_id, chunk_index)
);
CREATE INDEX IF NOT EXISTS material_chunks_class_idx ON material_chunks (class_id);
CREATE INDEX IF NOT EXISTS material_chunks_search_idx ON material_chunks USING gin (search);

CREATE TABLE IF NOT EXISTS guest_sandboxes (
    id uuid PRIMARY KEY,
    owner_user_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS guest_sandboxes_owner_idx ON guest_sandboxes (owner_user_id);

-- The runtime connects with the service role; nothing here is exposed to anon/authenticated clients.
ALTER TABLE material_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE guest_sandboxes ENABLE ROW LEVEL SECURITY;
