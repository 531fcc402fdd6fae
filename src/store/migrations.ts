/** Numbered schema migrations: entry n brings user_version n to n+1. Never edit a shipped entry. */
export const MIGRATIONS: readonly string[] = [
  // 1: hooks' secrets, handled transactions, DM rooms, the delivery queue.
  `
  CREATE TABLE outbound_hooks (
    id TEXT PRIMARY KEY,                -- ep_… stable id, used in job ids
    room_id TEXT NOT NULL,
    name TEXT NOT NULL,
    token_enc BLOB NOT NULL,            -- AES-256-GCM sealed token
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (room_id, name)
  );
  CREATE TABLE handled_transactions (
    txn_id TEXT PRIMARY KEY,
    handled_at INTEGER NOT NULL
  );
  CREATE TABLE dm_rooms (
    user_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL
  );
  CREATE TABLE messages (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    body TEXT NOT NULL,                 -- the event as JSON, rendered per hook at send time
    created_at INTEGER NOT NULL
  );
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,                -- msg_ hash(event_id, hook_id): a re-send never makes a second job
    event_id TEXT NOT NULL REFERENCES messages(event_id),
    hook_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX jobs_due ON jobs (due_at);
  CREATE INDEX jobs_hook ON jobs (hook_id);
  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    hook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,              -- success | retry | failed
    status INTEGER,                     -- HTTP status, null when no answer
    error TEXT,
    duration_ms INTEGER NOT NULL,
    response_body TEXT,
    at INTEGER NOT NULL
  );
  CREATE INDEX attempts_hook ON attempts (hook_id, at);
  CREATE TABLE dead_letters (
    job_id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    hook_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    at INTEGER NOT NULL
  );
  `,
];
