-- The platform's accounts and classes, as the platform's Supabase project defines them
-- (../shared/platform-schema.md §1.1-1.3). Applied only in standalone mode: on the platform's
-- database these tables already exist and stemgraph never creates or alters them.
-- Standalone has no `auth.users`: user ids reference nothing but `profiles`' own rows.

CREATE TYPE enrollment_role AS ENUM ('teacher', 'student', 'ta');
CREATE TYPE blueprint_status AS ENUM ('draft', 'approved', 'archived', 'published');
CREATE TYPE activity_type AS ENUM ('chat', 'quiz', 'flashcards', 'homework', 'exam_review');
CREATE TYPE account_type AS ENUM ('teacher', 'student');

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE profiles (
    id uuid PRIMARY KEY,
    display_name text,
    avatar_url text,
    created_at timestamptz NOT NULL DEFAULT now(),
    account_type account_type NOT NULL
);

CREATE FUNCTION prevent_profile_account_type_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.account_type IS DISTINCT FROM OLD.account_type THEN
        RAISE EXCEPTION 'account_type cannot be changed';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER profiles_account_type_immutable BEFORE UPDATE ON profiles
    FOR EACH ROW EXECUTE FUNCTION prevent_profile_account_type_change();

CREATE TABLE classes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id uuid NOT NULL,
    title text NOT NULL,
    description text,
    subject text,
    level text,
    join_code text NOT NULL UNIQUE,
    ai_provider text NOT NULL DEFAULT 'openrouter',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived boolean NOT NULL DEFAULT false,
    sandbox_id uuid
);
CREATE INDEX classes_owner_id_idx ON classes (owner_id);
CREATE INDEX classes_join_code_idx ON classes (join_code);
CREATE INDEX classes_sandbox_id_idx ON classes (sandbox_id) WHERE sandbox_id IS NOT NULL;
CREATE TRIGGER classes_set_updated_at BEFORE UPDATE ON classes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE enrollments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    role enrollment_role NOT NULL DEFAULT 'student',
    joined_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid,
    UNIQUE (class_id, user_id)
);
CREATE INDEX enrollments_class_id_idx ON enrollments (class_id);
CREATE INDEX enrollments_user_id_idx ON enrollments (user_id);
CREATE INDEX enrollments_user_class_role_idx ON enrollments (user_id, class_id, role);
CREATE INDEX enrollments_sandbox_id_idx ON enrollments (sandbox_id) WHERE sandbox_id IS NOT NULL;

-- Teacher accounts teach (teacher or ta), student accounts learn; every member has a profile.
CREATE FUNCTION enforce_enrollment_role_matches_account_type() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kind account_type;
BEGIN
    SELECT account_type INTO kind FROM profiles WHERE id = NEW.user_id;
    IF kind IS NULL THEN
        RAISE EXCEPTION 'enrollment requires a profile';
    END IF;
    IF kind = 'teacher' AND NEW.role NOT IN ('teacher', 'ta') THEN
        RAISE EXCEPTION 'teacher accounts can only hold teacher or ta roles';
    END IF;
    IF kind = 'student' AND NEW.role <> 'student' THEN
        RAISE EXCEPTION 'student accounts can only hold the student role';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER enrollments_role_by_account_type BEFORE INSERT OR UPDATE ON enrollments
    FOR EACH ROW EXECUTE FUNCTION enforce_enrollment_role_matches_account_type();
