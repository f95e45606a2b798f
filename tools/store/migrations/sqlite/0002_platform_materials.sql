-- The platform's materials pipeline tables (../postgres/0002_platform_materials.sql).
-- `material_chunks.embedding` is a BLOB of float32 little-endian numbers.

CREATE TABLE materials (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    uploaded_by TEXT,
    title TEXT NOT NULL,
    storage_path TEXT NOT NULL,
    mime_type TEXT,
    size_bytes INTEGER,
    status TEXT NOT NULL DEFAULT 'pending',
    extracted_text TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT
);
CREATE INDEX materials_class_id_idx ON materials (class_id);
CREATE INDEX materials_sandbox_id_idx ON materials (sandbox_id) WHERE sandbox_id IS NOT NULL;

CREATE TABLE material_processing_jobs (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    material_id TEXT NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'pending',
    stage TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    locked_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX material_processing_jobs_status_idx ON material_processing_jobs (status, created_at);
CREATE TRIGGER material_processing_jobs_set_updated_at AFTER UPDATE ON material_processing_jobs
WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE material_processing_jobs SET updated_at = (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) WHERE id = NEW.id;
END;

CREATE TABLE material_chunks (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    material_id TEXT NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    source_type TEXT NOT NULL,
    source_index INTEGER NOT NULL,
    section_title TEXT,
    text TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    embedding_provider TEXT,
    embedding_model TEXT,
    extraction_method TEXT,
    quality_score REAL,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT,
    embedding BLOB
);
CREATE INDEX material_chunks_class_id_idx ON material_chunks (class_id);
CREATE INDEX material_chunks_material_id_idx ON material_chunks (material_id);
CREATE INDEX material_chunks_sandbox_id_idx ON material_chunks (sandbox_id)
    WHERE sandbox_id IS NOT NULL;
