-- The platform's accounts and classes in SQLite's dialect: the same tables and columns as
-- ../postgres/0001_platform_classes.sql. uuid, timestamptz and jsonb are TEXT (ISO-8601 UTC
-- timestamps, JSON text), booleans INTEGER, enums TEXT with a CHECK. Ids default to a random
-- UUID v4 and timestamps to now, as Postgres' defaults do.

CREATE TABLE profiles (
    id TEXT PRIMARY KEY,
    display_name TEXT,
    avatar_url TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    account_type TEXT NOT NULL CHECK (account_type IN ('teacher', 'student'))
);
CREATE TRIGGER profiles_account_type_immutable BEFORE UPDATE OF account_type ON profiles
WHEN NEW.account_type IS NOT OLD.account_type
BEGIN
    SELECT RAISE(ABORT, 'account_type cannot be changed');
END;

CREATE TABLE classes (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    owner_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    subject TEXT,
    level TEXT,
    join_code TEXT NOT NULL UNIQUE,
    ai_provider TEXT NOT NULL DEFAULT 'openrouter',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    archived INTEGER NOT NULL DEFAULT 0,
    sandbox_id TEXT
);
CREATE INDEX classes_owner_id_idx ON classes (owner_id);
CREATE INDEX classes_join_code_idx ON classes (join_code);
CREATE INDEX classes_sandbox_id_idx ON classes (sandbox_id) WHERE sandbox_id IS NOT NULL;
CREATE TRIGGER classes_set_updated_at AFTER UPDATE ON classes
WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE classes SET updated_at = (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) WHERE id = NEW.id;
END;

CREATE TABLE enrollments (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'student' CHECK (role IN ('teacher', 'student', 'ta')),
    joined_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT,
    UNIQUE (class_id, user_id)
);
CREATE INDEX enrollments_class_id_idx ON enrollments (class_id);
CREATE INDEX enrollments_user_id_idx ON enrollments (user_id);
CREATE INDEX enrollments_user_class_role_idx ON enrollments (user_id, class_id, role);
CREATE INDEX enrollments_sandbox_id_idx ON enrollments (sandbox_id) WHERE sandbox_id IS NOT NULL;

-- Teacher accounts teach (teacher or ta), student accounts learn; every member has a profile.
CREATE TRIGGER enrollments_role_by_account_type BEFORE INSERT ON enrollments
BEGIN
    SELECT RAISE(ABORT, 'enrollment requires a profile')
    WHERE NOT EXISTS (SELECT 1 FROM profiles WHERE id = NEW.user_id);
    SELECT RAISE(ABORT, 'teacher accounts can only hold teacher or ta roles')
    WHERE (SELECT account_type FROM profiles WHERE id = NEW.user_id) = 'teacher'
        AND NEW.role NOT IN ('teacher', 'ta');
    SELECT RAISE(ABORT, 'student accounts can only hold the student role')
    WHERE (SELECT account_type FROM profiles WHERE id = NEW.user_id) = 'student'
        AND NEW.role <> 'student';
END;
CREATE TRIGGER enrollments_role_by_account_type_update
BEFORE UPDATE OF user_id, role ON enrollments
BEGIN
    SELECT RAISE(ABORT, 'enrollment requires a profile')
    WHERE NOT EXISTS (SELECT 1 FROM profiles WHERE id = NEW.user_id);
    SELECT RAISE(ABORT, 'teacher accounts can only hold teacher or ta roles')
    WHERE (SELECT account_type FROM profiles WHERE id = NEW.user_id) = 'teacher'
        AND NEW.role NOT IN ('teacher', 'ta');
    SELECT RAISE(ABORT, 'student accounts can only hold the student role')
    WHERE (SELECT account_type FROM profiles WHERE id = NEW.user_id) = 'student'
        AND NEW.role <> 'student';
END;
