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
    suspended_at INTEGER,               -- paused by a command or disabled by the bridge: not delivered to
    suspended_reason TEXT,
    failing_since INTEGER,              -- first failed attempt since the last success
    UNIQUE (room_id, name)
  );
  -- Standard Webhooks signing secrets; during a rotation the old one signs until it expires.
  CREATE TABLE signing_keys (
    hook_id TEXT NOT NULL REFERENCES outbound_hooks(id) ON DELETE CASCADE,
    secret_enc BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER                  -- null: the current key
  );
  CREATE INDEX signing_keys_hook ON signing_keys (hook_id);
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
  -- One row per (event, hook) for as long as it is kept, so a re-sent event never makes a second job.
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,                -- msg_ hash(event_id, hook_id), also the webhook-id receivers see
    event_id TEXT NOT NULL REFERENCES messages(event_id),
    hook_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', -- pending | done | dead | dropped
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    reason TEXT                         -- why a job is dead or dropped
  );
  CREATE INDEX jobs_pending ON jobs (due_at, created_at) WHERE state = 'pending';
  -- Per hook: pending jobs in order (strict ordering, cancel), dead letters (replay, status).
  CREATE INDEX jobs_hook_pending ON jobs (hook_id, created_at) WHERE state = 'pending';
  CREATE INDEX jobs_hook_dead ON jobs (hook_id) WHERE state = 'dead';
  -- Pruning keeps an event body while any job still needs it.
  CREATE INDEX jobs_event ON jobs (event_id);
  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    hook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,              -- success | retry | failed | dropped
    status INTEGER,                     -- HTTP status, null when no answer
    error TEXT,
    duration_ms INTEGER NOT NULL,
    response_body TEXT,
    at INTEGER NOT NULL
  );
  CREATE INDEX attempts_hook ON attempts (hook_id, at);
  `,
  // 2: inbound hooks. The URL secret is kept only as a keyed hash: it is shown once and never needed again.
  `
  CREATE TABLE inbound_hooks (
    id TEXT PRIMARY KEY,                -- ih_… stable id; the hook's ghost user is @webhook_<id>
    room_id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash BLOB NOT NULL UNIQUE,   -- HMAC-SHA256(store key, URL secret)
    github_secret_enc BLOB,             -- AES-256-GCM sealed; null: GitHub signatures are not required
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (room_id, name)
  );
  `,
  // 3: inbound requests already posted, by the sender's delivery id (X-GitHub-Delivery, Idempotency-Key).
  `
  CREATE TABLE inbound_deliveries (
    hook_id TEXT NOT NULL,
    delivery_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (hook_id, delivery_key)
  );
  CREATE INDEX inbound_deliveries_at ON inbound_deliveries (at);
  `,
  // 4: the delivery queue keyed by integers. Text hash keys put every insert on a random index
  // page, and committing those pages was most of the cost of a delivery. Job ids only grow
  // (AUTOINCREMENT): the queue loads each hook's pending jobs in id order and must never see an
  // old id reused. A re-sent event is recognised by its event id (messages), not by its job id.
  `
  CREATE TABLE messages_v4 (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    body TEXT NOT NULL,                 -- the event as JSON, rendered per hook at send time
    created_at INTEGER NOT NULL
  );
  INSERT INTO messages_v4 (event_id, room_id, body, created_at) SELECT event_id, room_id, body, created_at FROM messages ORDER BY created_at, rowid;
  -- One row per (event, hook) for as long as it is kept. Receivers see msg_hash(event_id, hook_id) as the webhook-id.
  CREATE TABLE jobs_v4 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages_v4(id),
    hook_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', -- pending | done | dead | dropped
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    reason TEXT                         -- why a job is dead or dropped
  );
  INSERT INTO jobs_v4 (message_id, hook_id, state, attempts, due_at, created_at, finished_at, reason)
    SELECT m.id, j.hook_id, j.state, j.attempts, j.due_at, j.created_at, j.finished_at, j.reason
    FROM jobs j JOIN messages_v4 m ON m.event_id = j.event_id ORDER BY j.created_at, j.rowid;
  CREATE TABLE attempts_v4 (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL,
    hook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,              -- success | retry | failed | dropped
    status INTEGER,                     -- HTTP status, null when no answer
    error TEXT,
    duration_ms INTEGER NOT NULL,
    response_body TEXT,
    at INTEGER NOT NULL
  );
  INSERT INTO attempts_v4 (job_id, hook_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at)
    SELECT j.id, a.hook_id, a.event_id, a.attempt, a.outcome, a.status, a.error, a.duration_ms, a.response_body, a.at
    FROM attempts a JOIN messages_v4 m ON m.event_id = a.event_id JOIN jobs_v4 j ON j.message_id = m.id AND j.hook_id = a.hook_id ORDER BY a.id;
  DROP TABLE attempts;
  DROP TABLE jobs;
  DROP TABLE messages;
  ALTER TABLE messages_v4 RENAME TO messages;
  ALTER TABLE jobs_v4 RENAME TO jobs;
  ALTER TABLE attempts_v4 RENAME TO attempts;
  -- Per hook, pending jobs in id order: the queue loads them from here (and cancels, counts).
  CREATE INDEX jobs_hook_pending ON jobs (hook_id, id) WHERE state = 'pending';
  CREATE INDEX jobs_hook_dead ON jobs (hook_id) WHERE state = 'dead';
  -- A re-sent event's jobs; pruning keeps an event body while any job still needs it.
  CREATE INDEX jobs_message ON jobs (message_id);
  CREATE INDEX attempts_hook ON attempts (hook_id, id);
  `,
  // 5: two of the store's costliest writes per delivery made cheap.
  // - Attempts recorded in batches: a row and an index entry per attempt was a fifth of the work;
  //   the queue writer now stores each batch of outcomes as one row per hook, its attempts as a
  //   JSON array (oldest first). The view `attempts` still shows one row per attempt (json_extract,
  //   not ->>, so that sqlite3 tools older than 3.38 can still open the file).
  // - A re-sent event is recognised by (origin_server_ts, event_id) instead of event_id alone.
  //   Event ids are hashes: an index over them alone put every new event on a random page, which
  //   made each commit write ~one page per event. Timestamps grow, so new keys land together.
  `
  CREATE TABLE messages_v5 (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    origin_ts INTEGER NOT NULL,         -- the event's origin_server_ts (0 when it had none)
    room_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (origin_ts, event_id)
  );
  INSERT INTO messages_v5 (id, event_id, origin_ts, room_id, body, created_at)
    SELECT id, event_id,
      CASE WHEN json_valid(body) AND json_type(body, '$.origin_server_ts') = 'integer' THEN json_extract(body, '$.origin_server_ts') ELSE 0 END,
      room_id, body, created_at
    FROM messages ORDER BY id;
  DROP TABLE messages;
  ALTER TABLE messages_v5 RENAME TO messages;

  CREATE TABLE attempt_batches (
    id INTEGER PRIMARY KEY,
    hook_id TEXT NOT NULL,
    at INTEGER NOT NULL,                -- the newest attempt's time (pruning goes by it)
    successes INTEGER NOT NULL,
    attempts TEXT NOT NULL              -- [[job_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at], ...]
  );
  INSERT INTO attempt_batches (hook_id, at, successes, attempts)
    SELECT hook_id, at, outcome = 'success', json_array(json_array(job_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at))
    FROM attempts ORDER BY id;
  DROP TABLE attempts;
  CREATE INDEX attempt_batches_hook ON attempt_batches (hook_id, id);
  CREATE VIEW attempts AS
    SELECT b.id AS batch_id, e.key AS seq, b.hook_id,
      json_extract(e.value, '$[0]') AS job_id, json_extract(e.value, '$[1]') AS event_id, json_extract(e.value, '$[2]') AS attempt,
      json_extract(e.value, '$[3]') AS outcome, json_extract(e.value, '$[4]') AS status, json_extract(e.value, '$[5]') AS error,
      json_extract(e.value, '$[6]') AS duration_ms, json_extract(e.value, '$[7]') AS response_body, json_extract(e.value, '$[8]') AS at
    FROM attempt_batches b, json_each(b.attempts) e;
  `,
  // 6: Work an event asks for after the homeserver's 200 — a bot command, the bot's own invite or
  //    removal, encryption turned on, a redaction (of a hook's state, perhaps) — is stored in the
  //    commit that acknowledges the transaction and removed once done, so a crash in between no
  //    longer loses it (it runs at the next start).
  `
  CREATE TABLE follow_ups (
    txn_id TEXT NOT NULL,
    seq INTEGER NOT NULL,               -- its place among the transaction's follow-ups
    event TEXT NOT NULL,                -- the event, as JSON
    created_at INTEGER NOT NULL,
    PRIMARY KEY (txn_id, seq)
  );
  `,
  // 7: A re-used transaction id is not always a re-send: Synapse numbers transactions from 1 again
  //    after a restart (on SQLite), Dendrite re-batches a retry under its first event's id. So each
  //    handled id keeps its events' ids, and a repeated id has the events not seen under it handled.
  //    Follow-ups are named by their event, and kept (done_at) for the retention period once done, so
  //    that an event coming again, under any transaction id, never runs its command twice.
  `
  ALTER TABLE handled_transactions ADD COLUMN event_ids TEXT; -- JSON array; null: handled before this column (its events count as unseen)
  CREATE TABLE follow_ups_v7 (
    id INTEGER PRIMARY KEY,             -- the order they run in
    event_id TEXT NOT NULL UNIQUE,
    txn_id TEXT NOT NULL,               -- the transaction that brought it first
    event TEXT NOT NULL,                -- the event, as JSON
    created_at INTEGER NOT NULL,
    done_at INTEGER                     -- null: not run yet
  );
  INSERT OR IGNORE INTO follow_ups_v7 (event_id, txn_id, event, created_at)
    SELECT CASE WHEN json_valid(event) AND json_type(event, '$.event_id') = 'text' THEN json_extract(event, '$.event_id') ELSE txn_id || '#' || seq END,
      txn_id, event, created_at
    FROM follow_ups ORDER BY rowid;
  DROP TABLE follow_ups;
  ALTER TABLE follow_ups_v7 RENAME TO follow_ups;
  CREATE INDEX follow_ups_pending ON follow_ups (id) WHERE done_at IS NULL;
  `,
  // 8: A hook's failure episode (failed attempts since its last success, and whether the room was
  //    told), so that a restart during an outage does not notice again and a recovery after one is
  //    still told.
  `
  ALTER TABLE outbound_hooks ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0; -- failed attempts since the last success
  ALTER TABLE outbound_hooks ADD COLUMN failed_deliveries INTEGER NOT NULL DEFAULT 0;    -- deliveries among them
  ALTER TABLE outbound_hooks ADD COLUMN failure_notice_at INTEGER;                       -- when the room was told; null: not told
  `,
  // 9: a chat hook's reply, stored before it is posted, named by
  //    the delivery it answers: a retried delivery, or a bridge killed before posting, posts it once.
  `
  CREATE TABLE replies (
    id INTEGER PRIMARY KEY,             -- the order they are posted in
    job_id TEXT NOT NULL UNIQUE,        -- msg_… of the delivery (its webhook-id); transaction ids derive from it
    hook_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,             -- the event that triggered the delivery
    parts TEXT NOT NULL,                -- JSON array of m.room.message contents, ready to send
    posted INTEGER NOT NULL DEFAULT 0,  -- how many parts are in the room
    created_at INTEGER NOT NULL,
    done_at INTEGER,                    -- null: parts still to post
    error TEXT                          -- why posting stopped, when it did
  );
  CREATE INDEX replies_pending ON replies (id) WHERE done_at IS NULL;
  `,
  // 10: webhook bots are outbound hooks of another kind: a bot and a hook of one room may share a
  //     name. The table is rebuilt (SQLite cannot change a UNIQUE constraint); signing_keys points
  //     at it by name, so it points at the new table once renamed.
  `
  CREATE TABLE outbound_hooks_v10 (
    id TEXT PRIMARY KEY,                -- ep_… (hooks) or bt_… (bots) stable id, used in job ids
    room_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'hook',  -- hook | bot
    name TEXT NOT NULL,
    token_enc BLOB NOT NULL,            -- AES-256-GCM sealed token
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    suspended_at INTEGER,               -- paused by a command or disabled by the bridge: not delivered to
    suspended_reason TEXT,
    failing_since INTEGER,              -- first failed attempt since the last success
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failed_deliveries INTEGER NOT NULL DEFAULT 0,
    failure_notice_at INTEGER,
    UNIQUE (room_id, kind, name)
  );
  INSERT INTO outbound_hooks_v10 (id, room_id, kind, name, token_enc, created_by, created_at, suspended_at, suspended_reason, failing_since,
      consecutive_failures, failed_deliveries, failure_notice_at)
    SELECT id, room_id, 'hook', name, token_enc, created_by, created_at, suspended_at, suspended_reason, failing_since,
      consecutive_failures, failed_deliveries, failure_notice_at
    FROM outbound_hooks ORDER BY rowid;
  DROP TABLE outbound_hooks;
  ALTER TABLE outbound_hooks_v10 RENAME TO outbound_hooks;
  `,
  // 11: TLS material uploaded by "!hooks outbound tls": per hook a CA bundle, a client
  //     certificate and its key, each sealed like the hook's other secrets.
  `
  CREATE TABLE hook_tls (
    hook_id TEXT NOT NULL REFERENCES outbound_hooks(id) ON DELETE CASCADE,
    part TEXT NOT NULL,                 -- ca | cert | key
    pem_enc BLOB NOT NULL,              -- AES-256-GCM sealed PEM
    set_by TEXT NOT NULL,
    set_at INTEGER NOT NULL,
    PRIMARY KEY (hook_id, part)
  );
  `,
  // 12: inbound posts, stored before the sender is answered and posted in order per hook (held
  //     while the homeserver is down). The delivery ids of inbound_deliveries move here (that table
  //     stays for DirectSubmitter); a redelivery finds its post, queued or posted, by them.
  `
  CREATE TABLE inbound_posts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, -- the order a hook's posts are posted in; never reused
    id TEXT NOT NULL UNIQUE,            -- ip_… the post's public id (the 202 answer); transaction ids derive from it
    hook_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    delivery_key TEXT,                  -- the sender's delivery id (Idempotency-Key, X-GitHub-Delivery)
    parts TEXT NOT NULL,                -- JSON array of m.room.message contents; emptied once done
    posted INTEGER NOT NULL DEFAULT 0,  -- how many parts are in the room
    event_ids TEXT NOT NULL DEFAULT '[]', -- JSON array, one per posted part
    state TEXT NOT NULL DEFAULT 'queued', -- queued | posted | refused | dropped | expired
    error TEXT,                         -- why it was not posted
    error_kind TEXT,                    -- the InboundError kind of a refusal
    created_at INTEGER NOT NULL,
    done_at INTEGER                     -- null: parts still to post
  );
  CREATE UNIQUE INDEX inbound_posts_delivery ON inbound_posts (hook_id, delivery_key) WHERE delivery_key IS NOT NULL;
  CREATE INDEX inbound_posts_pending ON inbound_posts (hook_id, seq) WHERE done_at IS NULL;
  CREATE INDEX inbound_posts_done ON inbound_posts (done_at) WHERE done_at IS NOT NULL;
  INSERT INTO inbound_posts (id, hook_id, room_id, delivery_key, parts, posted, event_ids, state, created_at, done_at)
    SELECT 'ip_legacy' || rowid, hook_id, '', delivery_key, '[]', 1, json_array(event_id), 'posted', at, at FROM inbound_deliveries ORDER BY at;
  `,
  // 13: the hook-relevant state of each joined room, as last applied: the next start serves the
  //     rooms from it at once (the homeserver re-sends every event after the last acknowledged
  //     transaction) and checks each room against the homeserver in the background.
  `
  CREATE TABLE room_snapshots (
    room_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,                -- JSON array of state events (types in room-snapshot.ts)
    saved_at INTEGER NOT NULL
  );
  `,
  // 14: end-to-end encryption (encryption.enabled): the device each bridge user encrypts with,
  //     and each room's encryption settings as last read. The keys themselves are in the crypto
  //     store (encryption.storagePath), sealed with a passphrase derived from the store key.
  `
  CREATE TABLE crypto_devices (
    user_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE crypto_rooms (
    room_id TEXT PRIMARY KEY,
    settings TEXT NOT NULL              -- JSON: m.room.encryption content and history visibility
  );
  CREATE TABLE undecrypted_events (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    session_id TEXT NOT NULL,           -- the Megolm session whose key is awaited ('' if unknown)
    event TEXT NOT NULL,                -- the encrypted event as the homeserver sent it (JSON)
    reason TEXT NOT NULL,
    received_at INTEGER NOT NULL
  );
  CREATE INDEX undecrypted_events_session ON undecrypted_events (session_id);
  CREATE INDEX undecrypted_events_received ON undecrypted_events (received_at);
  `,
  // 15: the hook state events this bridge accepted (hooks, bots, inbound hooks), as accepted: the
  //     processes that do not receive the rooms' events (bridge.role worker, inbound) and the
  //     other appservice processes build their hooks from these rows, never by judging the room's
  //     state again. `version` grows with every change of a room's rows.
  `
  CREATE TABLE accepted_hook_state (
    room_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    event_id TEXT,
    content TEXT NOT NULL,              -- JSON: the state event's content as accepted
    PRIMARY KEY (room_id, event_type, state_key)
  );
  CREATE TABLE accepted_rooms (
    room_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL
  );
  `,
];
