-- A guest's classes carry the guest's sandbox id; a guest reaches only its own sandbox's classes
-- (supabase/migrations/20261201090000_class_sandboxes.sql).

ALTER TABLE classes ADD COLUMN sandbox_id TEXT;
CREATE INDEX IF NOT EXISTS classes_sandbox_idx ON classes (sandbox_id) WHERE sandbox_id IS NOT NULL;
