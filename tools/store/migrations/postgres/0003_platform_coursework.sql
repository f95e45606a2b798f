-- The platform's blueprints and coursework (platform-schema.md §1.8-1.14). Standalone only.

CREATE TABLE blueprints (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    version integer NOT NULL DEFAULT 1,
    status blueprint_status NOT NULL DEFAULT 'draft',
    summary text,
    created_by uuid NOT NULL,
    approved_by uuid,
    published_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    approved_at timestamptz,
    published_at timestamptz,
    content_json jsonb NOT NULL DEFAULT '{}'::jsonb,
    content_schema_version text NOT NULL DEFAULT 'v2',
    sandbox_id uuid
);
CREATE INDEX blueprints_class_id_idx ON blueprints (class_id);
CREATE INDEX blueprints_draft_rank_idx ON blueprints (class_id, version DESC, created_at DESC, id DESC)
    WHERE status = 'draft';
-- At most one draft and one published blueprint per class.
CREATE UNIQUE INDEX blueprints_one_draft_per_class ON blueprints (class_id) WHERE status = 'draft';
CREATE UNIQUE INDEX blueprints_one_published_per_class ON blueprints (class_id)
    WHERE status = 'published';

CREATE TABLE topics (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    blueprint_id uuid NOT NULL REFERENCES blueprints (id) ON DELETE CASCADE,
    title text NOT NULL,
    description text,
    section text,
    sequence integer NOT NULL DEFAULT 0,
    prerequisite_topic_ids uuid[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid
);
CREATE INDEX topics_blueprint_id_idx ON topics (blueprint_id);

CREATE TABLE objectives (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    topic_id uuid NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    statement text NOT NULL,
    level text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid
);
CREATE INDEX objectives_topic_id_idx ON objectives (topic_id);

CREATE TABLE activities (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    blueprint_id uuid REFERENCES blueprints (id) ON DELETE SET NULL,
    topic_id uuid REFERENCES topics (id) ON DELETE SET NULL,
    type activity_type NOT NULL,
    title text NOT NULL,
    config jsonb NOT NULL DEFAULT '{}'::jsonb,
    status text NOT NULL DEFAULT 'draft',
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid
);
CREATE INDEX activities_class_id_idx ON activities (class_id);
CREATE INDEX activities_topic_id_idx ON activities (topic_id);
CREATE INDEX activities_sandbox_id_idx ON activities (sandbox_id) WHERE sandbox_id IS NOT NULL;

CREATE TABLE assignments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    activity_id uuid NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    assigned_by uuid NOT NULL,
    due_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid
);
CREATE INDEX assignments_class_id_idx ON assignments (class_id);
CREATE INDEX assignments_class_created_idx ON assignments (class_id, created_at DESC);
CREATE INDEX assignments_sandbox_id_idx ON assignments (sandbox_id) WHERE sandbox_id IS NOT NULL;

CREATE TABLE assignment_recipients (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    assignment_id uuid NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    student_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'assigned',
    assigned_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid,
    UNIQUE (assignment_id, student_id)
);
CREATE INDEX assignment_recipients_assignment_id_idx ON assignment_recipients (assignment_id);
CREATE INDEX assignment_recipients_student_id_idx ON assignment_recipients (student_id);
CREATE INDEX assignment_recipients_assignment_assigned_idx
    ON assignment_recipients (assignment_id, assigned_at);
CREATE INDEX assignment_recipients_student_assigned_idx
    ON assignment_recipients (student_id, assigned_at DESC);
CREATE INDEX assignment_recipients_sandbox_id_idx ON assignment_recipients (sandbox_id)
    WHERE sandbox_id IS NOT NULL;

-- `score` is 0-100 (the platform states the scale; standalone also checks it); a quiz
-- attempt's number lives in `content.attemptNumber`.
CREATE TABLE submissions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    assignment_id uuid NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    student_id uuid NOT NULL,
    content jsonb NOT NULL DEFAULT '{}'::jsonb,
    score numeric CONSTRAINT submissions_score_percent CHECK (score BETWEEN 0 AND 100),
    submitted_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    sandbox_id uuid
);
CREATE INDEX submissions_assignment_id_idx ON submissions (assignment_id);
CREATE INDEX submissions_student_id_idx ON submissions (student_id);
CREATE INDEX submissions_assignment_student_submitted_idx
    ON submissions (assignment_id, student_id, submitted_at);
CREATE INDEX submissions_student_assignment_idx ON submissions (student_id, assignment_id);
CREATE INDEX submissions_sandbox_id_idx ON submissions (sandbox_id) WHERE sandbox_id IS NOT NULL;
-- One row per quiz attempt number and student.
CREATE UNIQUE INDEX submissions_quiz_attempt_unique
    ON submissions (assignment_id, student_id, ((content ->> 'attemptNumber')::integer))
    WHERE content ->> 'mode' = 'quiz_attempt'
        AND (content ->> 'attemptNumber') ~ '^[1-9][0-9]{0,8}$';
CREATE TRIGGER submissions_set_updated_at BEFORE UPDATE ON submissions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
