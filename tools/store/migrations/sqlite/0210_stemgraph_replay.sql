-- Resumable streams and background runs (../postgres/0210_stemgraph_replay.sql): the same
-- tables; times are Unix milliseconds written by the server processes.

-- A resumable run's events, numbered from 1 per run; `__end__` marks the run's end.
CREATE TABLE IF NOT EXISTS stemgraph_run_events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    data BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS stemgraph_run_events_expiry ON stemgraph_run_events (expires_at);

-- Each run's last event number: its row lock orders concurrent appenders.
CREATE TABLE IF NOT EXISTS stemgraph_run_streams (
    run_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Background runs waiting for, or leased by, a server process.
CREATE TABLE IF NOT EXISTS stemgraph_run_queue (
    run_id TEXT PRIMARY KEY,
    thread_id TEXT,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'success', 'error', 'timeout', 'interrupted')),
    resumes INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker_id TEXT,
    lease_expires_at INTEGER,
    cancel_action TEXT CHECK (cancel_action IN ('interrupt', 'rollback')),
    error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- Runs of one thread go one at a time, whichever processes claim them.
CREATE UNIQUE INDEX IF NOT EXISTS stemgraph_run_queue_one_running_per_thread
    ON stemgraph_run_queue (thread_id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS stemgraph_run_queue_ready ON stemgraph_run_queue (status, created_at);
