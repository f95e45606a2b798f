-- Retrieval in SQL (tools/store/retrieval.py). Applied in both modes.
--
-- stemgraph_chunk_search: each chunk's full-text document, stored because ranking needs it and
-- computing it per query costs ~0.4 ms a chunk; stemgraph's own table, so the platform's
-- `material_chunks` gets no column. Filled by the chunk writer (`index_chunks`) and, for rows
-- others wrote, by `index_missing_chunks` at start-up. Same DDL as `SEARCH_TABLE_DDL`.
CREATE TABLE IF NOT EXISTS stemgraph_chunk_search (
    chunk_id uuid PRIMARY KEY REFERENCES material_chunks (id) ON DELETE CASCADE,
    class_id uuid NOT NULL,
    document tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS stemgraph_chunk_search_document_idx
    ON stemgraph_chunk_search USING gin (document);
CREATE INDEX IF NOT EXISTS stemgraph_chunk_search_class_idx ON stemgraph_chunk_search (class_id);

-- The dense index, standalone only (the platform's own table keeps the platform's ivfflat
-- index; the runner says which mode through `stemgraph.platform_database`) and only where the
-- column is pgvector's `vector`: HNSW, which needs no training on existing rows, in place of
-- the ivfflat index 0002 builds on an empty table (same as `VECTOR_INDEX_DDL`).
DO $$
DECLARE
    vector_schema text;
    table_schema text;
BEGIN
    IF coalesce(current_setting('stemgraph.platform_database', true), '') = 'true' THEN
        RETURN;
    END IF;
    SELECT tn.nspname INTO vector_schema
    FROM pg_attribute a
    JOIN pg_type t ON t.oid = a.atttypid
    JOIN pg_namespace tn ON tn.oid = t.typnamespace
    WHERE a.attrelid = to_regclass('material_chunks') AND a.attname = 'embedding'
        AND NOT a.attisdropped AND t.typname = 'vector';
    IF vector_schema IS NULL THEN
        RETURN;
    END IF;
    SELECT relnamespace::regnamespace::text INTO table_schema
    FROM pg_class WHERE oid = to_regclass('material_chunks');
    EXECUTE format('DROP INDEX IF EXISTS %s.material_chunks_embedding_idx', table_schema);
    EXECUTE format('CREATE INDEX IF NOT EXISTS material_chunks_embedding_hnsw_idx'
                   ' ON material_chunks USING hnsw (embedding %I.vector_cosine_ops)',
                   vector_schema);
END;
$$;

-- Uploads are never kept in the database (files live in the file store).
DROP TABLE IF EXISTS stemgraph_material_uploads;
