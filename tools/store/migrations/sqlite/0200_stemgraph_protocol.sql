-- LangGraph Server's threads and runs (server/protocol/records.py): stemgraph's own tables,
-- applied in both modes. Ids, JSON and timestamps (ISO 8601 UTC) are text on both backends,
-- written by the server, so both behave the same. A thread's state lives in the checkpointer.

CREATE TABLE IF NOT EXISTS stemgraph_threads (
    thread_id text PRIMARY KEY,
    owner_user_id text,
    graph_id text,
    status text NOT NULL DEFAULT 'idle',
    metadata text NOT NULL DEFAULT '{}',
    state_values text,
    interrupts text NOT NULL DEFAULT '{}',
    created_at text NOT NULL,
    updated_at text NOT NULL
);
CREATE INDEX IF NOT EXISTS stemgraph_threads_owner_idx
    ON stemgraph_threads (owner_user_id, updated_at DESC);

CREATE TABLE IF NOT EXISTS stemgraph_runs (
    run_id text PRIMARY KEY,
    thread_id text NOT NULL REFERENCES stemgraph_threads (thread_id) ON DELETE CASCADE,
    assistant_id text NOT NULL,
    graph_id text NOT NULL,
    owner_user_id text,
    status text NOT NULL DEFAULT 'pending',
    metadata text NOT NULL DEFAULT '{}',
    kwargs text NOT NULL DEFAULT '{}',
    multitask_strategy text NOT NULL DEFAULT 'reject',
    created_at text NOT NULL,
    updated_at text NOT NULL
);
CREATE INDEX IF NOT EXISTS stemgraph_runs_thread_idx ON stemgraph_runs (thread_id, created_at);
-- At most one running run per thread, across processes: starting a run is the update that
-- moves it to `running`, and a second one conflicts here.
CREATE UNIQUE INDEX IF NOT EXISTS stemgraph_runs_one_running
    ON stemgraph_runs (thread_id) WHERE status = 'running';
