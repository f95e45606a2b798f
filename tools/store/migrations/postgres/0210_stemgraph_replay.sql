-- Resumable streams and background runs (server/protocol/replay.py, queue.py). Times are Unix
-- milliseconds written by the server processes, identical on SQLite.

-- A resumable run's events, numbered from 1 per run; `__end__` marks the run's end.
CREATE TABLE IF NOT EXISTS stemgraph_run_events (
    run_id text NOT NULL,
    seq bigint NOT NULL,
    event text NOT NULL,
    data bytea NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS stemgraph_run_events_expiry ON stemgraph_run_events (expires_at);

-- Each run's last event number: its row lock orders concurrent appenders.
CREATE TABLE IF NOT EXISTS stemgraph_run_streams (
    run_id text PRIMARY KEY,
    last_seq bigint NOT NULL,
    expires_at bigint NOT NULL
);

-- Background runs waiting for, or leased by, a server process.
CREATE TABLE IF NOT EXISTS stemgraph_run_queue (
    run_id text PRIMARY KEY,
    thread_id text,
    payload text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'success', 'error', 'timeout', 'interrupted')),
    resumes integer NOT NULL DEFAULT 0,
    attempts integer NOT NULL DEFAULT 0,
    worker_id text,
    lease_expires_at bigint,
    cancel_action text CHECK (cancel_action IN ('interrupt', 'rollback')),
    error text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
-- Runs of one thread go one at a time, whichever processes claim them.
CREATE UNIQUE INDEX IF NOT EXISTS stemgraph_run_queue_one_running_per_thread
    ON stemgraph_run_queue (thread_id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS stemgraph_run_queue_ready ON stemgraph_run_queue (status, created_at);
