-- The platform's blueprints and coursework (../postgres/0003_platform_coursework.sql).
-- `topics.prerequisite_topic_ids` is a JSON array of ids.

CREATE TABLE blueprints (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    version INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'approved', 'archived', 'published')),
    summary TEXT,
    created_by TEXT NOT NULL,
    approved_by TEXT,
    published_by TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    approved_at TEXT,
    published_at TEXT,
    content_json TEXT NOT NULL DEFAULT '{}',
    content_schema_version TEXT NOT NULL DEFAULT 'v2',
    sandbox_id TEXT
);
CREATE INDEX blueprints_class_id_idx ON blueprints (class_id);
CREATE INDEX blueprints_draft_rank_idx ON blueprints (class_id, version DESC, created_at DESC, id DESC)
    WHERE status = 'draft';
-- At most one draft and one published blueprint per class.
CREATE UNIQUE INDEX blueprints_one_draft_per_class ON blueprints (class_id) WHERE status = 'draft';
CREATE UNIQUE INDEX blueprints_one_published_per_class ON blueprints (class_id)
    WHERE status = 'published';

CREATE TABLE topics (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    blueprint_id TEXT NOT NULL REFERENCES blueprints (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT,
    section TEXT,
    sequence INTEGER NOT NULL DEFAULT 0,
    prerequisite_topic_ids TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT
);
CREATE INDEX topics_blueprint_id_idx ON topics (blueprint_id);

CREATE TABLE objectives (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    topic_id TEXT NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    statement TEXT NOT NULL,
    level TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT
);
CREATE INDEX objectives_topic_id_idx ON objectives (topic_id);

CREATE TABLE activities (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    blueprint_id TEXT REFERENCES blueprints (id) ON DELETE SET NULL,
    topic_id TEXT REFERENCES topics (id) ON DELETE SET NULL,
    type TEXT NOT NULL CHECK (type IN ('chat', 'quiz', 'flashcards', 'homework', 'exam_review')),
    title TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'draft',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT
);
CREATE INDEX activities_class_id_idx ON activities (class_id);
CREATE INDEX activities_topic_id_idx ON activities (topic_id);
CREATE INDEX activities_sandbox_id_idx ON activities (sandbox_id) WHERE sandbox_id IS NOT NULL;

CREATE TABLE assignments (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    class_id TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    activity_id TEXT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    assigned_by TEXT NOT NULL,
    due_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT
);
CREATE INDEX assignments_class_id_idx ON assignments (class_id);
CREATE INDEX assignments_class_created_idx ON assignments (class_id, created_at DESC);
CREATE INDEX assignments_sandbox_id_idx ON assignments (sandbox_id) WHERE sandbox_id IS NOT NULL;

CREATE TABLE assignment_recipients (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'assigned',
    assigned_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT,
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

-- `score` is 0-100; a quiz attempt's number lives in `content.attemptNumber`.
CREATE TABLE submissions (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '{}',
    score REAL CONSTRAINT submissions_score_percent CHECK (score BETWEEN 0 AND 100),
    submitted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sandbox_id TEXT
);
CREATE INDEX submissions_assignment_id_idx ON submissions (assignment_id);
CREATE INDEX submissions_student_id_idx ON submissions (student_id);
CREATE INDEX submissions_assignment_student_submitted_idx
    ON submissions (assignment_id, student_id, submitted_at);
CREATE INDEX submissions_student_assignment_idx ON submissions (student_id, assignment_id);
CREATE INDEX submissions_sandbox_id_idx ON submissions (sandbox_id) WHERE sandbox_id IS NOT NULL;
-- One row per quiz attempt number and student.
CREATE UNIQUE INDEX submissions_quiz_attempt_unique
    ON submissions (assignment_id, student_id, json_extract(content, '$.attemptNumber'))
    WHERE json_extract(content, '$.mode') = 'quiz_attempt'
        AND json_type(content, '$.attemptNumber') = 'integer'
        AND json_extract(content, '$.attemptNumber') > 0;
CREATE TRIGGER submissions_set_updated_at AFTER UPDATE ON submissions
WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE submissions SET updated_at = (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) WHERE id = NEW.id;
END;
