-- The platform's quiz questions and flashcards (platform-schema.md §1.15-1.16): written by the web
-- app when a teacher saves a generated quiz or deck; stemgraph's demo class writes them the same
-- way. Standalone only.

CREATE TABLE quiz_questions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    activity_id uuid NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    question text NOT NULL,
    choices jsonb,
    answer text,
    explanation text,
    order_index integer NOT NULL DEFAULT 0,
    sandbox_id uuid,
    UNIQUE (activity_id, order_index)
);

CREATE TABLE flashcards (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    activity_id uuid NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    front text NOT NULL,
    back text NOT NULL,
    order_index integer NOT NULL DEFAULT 0,
    sandbox_id uuid
);
