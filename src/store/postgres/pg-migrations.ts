/**
 * PostgreSQL's schema history for the delivery queue, its own numbering (the SQLite file's is in
 * ../migrations.ts): entry n brings schema_version n to n+1. Never edit a shipped entry. Times are
 * ms since the epoch (BIGINT), as in the SQLite file, so the same code reads both.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: the delivery queue — messages, jobs with leases, attempts, follow-ups, handled transactions.
  `
  CREATE TABLE handled_transactions (
    txn_id TEXT PRIMARY KEY,
    handled_at BIGINT NOT NULL,
    event_ids TEXT                          -- JSON array of every event handled under the id
  );
  CREATE INDEX handled_transactions_at ON handled_transactions (handled_at);
  CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL,
    origin_ts BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    body TEXT NOT NULL,                     -- the event as JSON, as receivers get it
    created_at BIGINT NOT NULL,
    UNIQUE (origin_ts, event_id)
  );
  CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages(id),
    hook_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead', 'dropped', 'replayed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    reason TEXT,
    lease_until BIGINT,                     -- claimed by a worker until then (null: not claimed)
    lease_token TEXT,                       -- the claim's token: a report of an older claim changes nothing
    batch_id TEXT,                          -- the batch it was sent in (a retry sends the same members)
    batch_size INTEGER
  );
  -- One job per event and hook, but a replayed one may be queued again.
  CREATE UNIQUE INDEX jobs_once ON jobs (message_id, hook_id) WHERE state <> 'replayed';
  CREATE INDEX jobs_hook_pending ON jobs (hook_id, id) WHERE state = 'pending';
  CREATE INDEX jobs_hook_dead ON jobs (hook_id) WHERE state = 'dead';
  CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state <> 'pending';
  CREATE TABLE attempts (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL,
    hook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    response_body TEXT,
    at BIGINT NOT NULL
  );
  CREATE INDEX attempts_hook ON attempts (hook_id, id);
  CREATE INDEX attempts_at ON attempts (at);
  CREATE TABLE follow_ups (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    txn_id TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    done_at BIGINT
  );
  CREATE INDEX follow_ups_pending ON follow_ups (id) WHERE done_at IS NULL;
  `,
];
