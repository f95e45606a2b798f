-- Retrieval on SQLite stays in Python over the FTS5 index (0100); Postgres's full-text table
-- and dense index (../postgres/0110_stemgraph_search.sql) have no equivalent here.

-- Uploads are never kept in the database (files live in the file store).
DROP TABLE IF EXISTS stemgraph_material_uploads;
