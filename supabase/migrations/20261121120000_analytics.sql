-- Class analytics: activities, their assignments, student submissions (quiz attempts with a
-- score), and the snapshots the insights and the teaching brief are served from.

CREATE TABLE IF NOT EXISTS activities (
    id uuid PRIMARY KEY,
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    title text NOT NULL,
    activity_type text NOT NULL CHECK (activity_type IN ('quiz', 'flashcards', 'chat', 'discussion')),
    topic_id text,              -- the published blueprint's topic key
    bloom_level text CHECK (bloom_level IN
        ('remember', 'understand', 'apply', 'analyze', 'evaluate', 'create')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS activities_class ON activities (class_id);

CREATE TABLE IF NOT EXISTS assignments (
    id uuid PRIMARY KEY,
    class_id uuid NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    activity_id uuid NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    title text NOT NULL,
    due_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS assignments_class ON assignments (class_id);

CREATE TABLE IF NOT EXISTS submissions (
    id uuid PRIMARY KEY,
    assignment_id uuid NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    class_id uuid NOT NULL,
    student_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('in_progress', 'submitted')),
    score double precision CHECK (score IS NULL OR (score >= 0 AND score <= 1)),
    attempt integer NOT NULL DEFAULT 1,
    submitted_at timestamptz
);
CREATE INDEX IF NOT EXISTS submissions_class_student ON submissions (class_id, student_id);
CREATE INDEX IF NOT EXISTS submissions_assignment ON submissions (assignment_id);

CREATE TABLE IF NOT EXISTS class_insight_snapshots (
    class_id uuid PRIMARY KEY REFERENCES classes (id) ON DELETE CASCADE,
    payload jsonb NOT NULL,
    generated_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS teaching_brief_snapshots (
    class_id uuid PRIMARY KEY REFERENCES classes (id) ON DELETE CASCADE,
    status text NOT NULL CHECK (status IN ('ready', 'generating', 'no_data', 'error')),
    payload jsonb,
    generated_at timestamptz,
    has_evidence boolean NOT NULL DEFAULT false,
    error_message text,
    refresh_started_at timestamptz,
    updated_at timestamptz NOT NULL
);

ALTER TABLE activities ENABLE ROW LEVEL SECURITY;
ALTER TABLE assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE submissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE class_insight_snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE teaching_brief_snapshots ENABLE ROW LEVEL SECURITY;
