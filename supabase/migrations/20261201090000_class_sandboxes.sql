-- A guest's classes: the platform marks the class a guest tries the product in with the guest's
-- sandbox id (its own `classes.sandbox_id`, added in the platform's 0015), and a guest reaches
-- only the classes of its own sandbox. No foreign key, as on the platform.

ALTER TABLE classes ADD COLUMN IF NOT EXISTS sandbox_id uuid;
CREATE INDEX IF NOT EXISTS classes_sandbox_idx ON classes (sandbox_id) WHERE sandbox_id IS NOT NULL;
