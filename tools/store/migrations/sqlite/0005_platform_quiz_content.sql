-- The platform's quiz questions and flashcards (../postgres/0005_platform_quiz_content.sql).
-- `choices` is JSON text.

CREATE TABLE quiz_questions (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    activity_id TEXT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    choices TEXT,
    answer TEXT,
    explanation TEXT,
    order_index INTEGER NOT NULL DEFAULT 0,
    sandbox_id TEXT,
    UNIQUE (activity_id, order_index)
);

CREATE TABLE flashcards (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    activity_id TEXT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    front TEXT NOT NULL,
    back TEXT NOT NULL,
    order_index INTEGER NOT NULL DEFAULT 0,
    sandbox_id TEXT
);
