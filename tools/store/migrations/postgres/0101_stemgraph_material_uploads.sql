-- Uploaded material files kept in the database until the Storage-backed file store replaces
-- them (the platform keeps files in Storage under `materials.storage_path`).

CREATE TABLE IF NOT EXISTS stemgraph_material_uploads (
    material_id uuid PRIMARY KEY REFERENCES materials (id) ON DELETE CASCADE,
    file_name text,
    content bytea NOT NULL
);
