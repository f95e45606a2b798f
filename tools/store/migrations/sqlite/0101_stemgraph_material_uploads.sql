-- Uploaded material files kept in the database until the file store replaces them
-- (../postgres/0101_stemgraph_material_uploads.sql).

CREATE TABLE IF NOT EXISTS stemgraph_material_uploads (
    material_id TEXT PRIMARY KEY REFERENCES materials (id) ON DELETE CASCADE,
    file_name TEXT,
    content BLOB NOT NULL
);
