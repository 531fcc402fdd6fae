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
  -- Attempts are stored a batch at a time, one row per hook per write of outcomes (as on SQLite):
  -- a row per attempt cost as much as the job's own change. The view shows one row per attempt.
  CREATE TABLE attempt_batches (
    id BIGSERIAL PRIMARY KEY,
    hook_id TEXT NOT NULL,
    at BIGINT NOT NULL,                     -- the newest attempt's time (pruning goes by it)
    successes INTEGER NOT NULL,
    job_ids BIGINT[] NOT NULL,              -- then one element per attempt, in the order they were made
    event_ids TEXT[] NOT NULL,
    attempt_nos INTEGER[] NOT NULL,
    outcomes TEXT[] NOT NULL,
    statuses INTEGER[] NOT NULL,
    errors TEXT[] NOT NULL,
    durations_ms INTEGER[] NOT NULL,
    response_bodies TEXT[] NOT NULL,
    ats BIGINT[] NOT NULL
  );
  CREATE INDEX attempt_batches_hook ON attempt_batches (hook_id, id);
  CREATE INDEX attempt_batches_at ON attempt_batches (at);
  CREATE VIEW attempts AS
    SELECT b.id AS batch_id, a.seq, b.hook_id, a.job_id, a.event_id, a.attempt, a.outcome, a.status, a.error, a.duration_ms, a.response_body, a.at
    FROM attempt_batches b CROSS JOIN LATERAL
      unnest(b.job_ids, b.event_ids, b.attempt_nos, b.outcomes, b.statuses, b.errors, b.durations_ms, b.response_bodies, b.ats)
      WITH ORDINALITY AS a(job_id, event_id, attempt, outcome, status, error, duration_ms, response_body, at, seq);
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
  // 2: the hot paths as functions, each one round trip (a round trip costs more than the
  // statements in it). Each pins index access (no sequential or bitmap scans): right after the
  // tables are created, or while a burst grows them faster than autovacuum analyzes, the planner
  // thinks they are tiny and would read a hook's whole backlog to find its first jobs.
  `
  ALTER TABLE jobs SET (fillfactor = 70); -- room on the page: a lease update stays a HOT update

  -- A homeserver transaction: its messages, jobs, follow-ups and handled id, and a NOTIFY of the
  -- hooks with new jobs. Returns the new jobs, then the new follow-ups' event ids.
  CREATE FUNCTION mwb_store_transaction(
    p_txn TEXT, p_now BIGINT, p_event_ids TEXT,
    m_event TEXT[], m_ts BIGINT[], m_room TEXT[], m_body TEXT[],
    j_event TEXT[], j_ts BIGINT[], j_hook TEXT[],
    f_event TEXT[], f_json TEXT[]
  ) RETURNS TABLE (o_job BIGINT, o_event TEXT, o_ts BIGINT, o_hook TEXT, o_follow_up TEXT)
  LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
  DECLARE
    v_ids BIGINT[];
    v_events TEXT[];
    v_ts BIGINT[];
    v_hooks TEXT[];
    v_announce TEXT;
  BEGIN
    -- Two processes given the same transaction store it one after the other.
    PERFORM pg_advisory_xact_lock(hashtextextended(p_txn, 0));
    -- An event stored before is locked (a no-op update), so that pruning cannot delete it
    -- between here and its jobs' insert; an event twice in the transaction is stored once.
    INSERT INTO messages AS msg (event_id, origin_ts, room_id, body, created_at)
      SELECT DISTINCT ON (t, e) e, t, r, b, p_now FROM unnest(m_event, m_ts, m_room, m_body) AS m(e, t, r, b)
      ON CONFLICT ON CONSTRAINT messages_origin_ts_event_id_key DO UPDATE SET event_id = msg.event_id;
    -- A job per event and hook that has none yet (a re-sent event gets none again).
    WITH wanted AS (
      SELECT (SELECT msg.id FROM messages msg WHERE msg.origin_ts = w.t AND msg.event_id = w.e) AS message_id, w.e, w.t, w.h, w.n
      FROM (SELECT DISTINCT ON (u.t, u.e, u.h) u.* FROM unnest(j_event, j_ts, j_hook) WITH ORDINALITY AS u(e, t, h, n) ORDER BY u.t, u.e, u.h, u.n) AS w),
    ins AS (
      INSERT INTO jobs AS jb (message_id, hook_id, due_at, created_at)
        SELECT wanted.message_id, wanted.h, p_now, p_now FROM wanted WHERE wanted.message_id IS NOT NULL ORDER BY wanted.n
        ON CONFLICT (message_id, hook_id) WHERE state <> 'replayed' DO NOTHING
        RETURNING jb.id AS new_id, jb.message_id AS new_message, jb.hook_id AS new_hook)
    SELECT array_agg(ins.new_id ORDER BY ins.new_id), array_agg(wanted.e ORDER BY ins.new_id), array_agg(wanted.t ORDER BY ins.new_id), array_agg(ins.new_hook ORDER BY ins.new_id)
      INTO v_ids, v_events, v_ts, v_hooks
      FROM ins JOIN wanted ON wanted.message_id = ins.new_message AND wanted.h = ins.new_hook;
    RETURN QUERY SELECT u.i, u.e, u.t, u.h, NULL::TEXT FROM unnest(v_ids, v_events, v_ts, v_hooks) AS u(i, e, t, h);
    RETURN QUERY WITH f AS (
      INSERT INTO follow_ups AS fu (event_id, txn_id, event, created_at)
        SELECT e, p_txn, j, p_now FROM unnest(f_event, f_json) AS f(e, j)
        ON CONFLICT (event_id) DO NOTHING RETURNING fu.event_id AS new_event)
      SELECT NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::TEXT, f.new_event FROM f;
    -- A re-used id keeps its first handled_at (retention counts from then).
    INSERT INTO handled_transactions AS ht (txn_id, handled_at, event_ids) VALUES (p_txn, p_now, p_event_ids)
      ON CONFLICT (txn_id) DO UPDATE SET event_ids = excluded.event_ids;
    SELECT string_agg(DISTINCT u.h, E'\\n') INTO v_announce FROM unnest(v_hooks) AS u(h);
    IF v_announce IS NOT NULL THEN
      PERFORM pg_notify('mwb_jobs', CASE WHEN length(v_announce) <= 7000 THEN v_announce ELSE '' END);
    END IF;
  END
  $fn$;

  -- A claim for hooks that neither batch nor keep strict order: each hook's first due, unleased
  -- jobs (up to its want, at most p_limit in all), locked without waiting, leased and returned.
  CREATE FUNCTION mwb_claim_plain(p_hooks TEXT[], p_wants INT[], p_now BIGINT, p_limit INT, p_until BIGINT, p_token TEXT)
  RETURNS TABLE (o_id BIGINT, o_hook TEXT, o_attempts INT, o_due BIGINT, o_event TEXT, o_room TEXT, o_body TEXT)
  LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
  BEGIN
    RETURN QUERY WITH picked AS (
      SELECT c.id FROM unnest(p_hooks, p_wants) WITH ORDINALITY AS h(hook_id, want, ord)
      CROSS JOIN LATERAL (
        SELECT j.id FROM jobs j
        -- (due_at + 0: the hook's pending jobs in key order are the way in, never the index of
        -- due times, which the planner took for a fresh table and read thousands of entries per job.)
        WHERE j.hook_id = h.hook_id AND j.state = 'pending' AND j.due_at + 0 <= p_now AND (j.lease_until IS NULL OR j.lease_until <= p_now)
        ORDER BY j.id LIMIT h.want
        FOR UPDATE SKIP LOCKED
      ) c
      LIMIT p_limit),
    leased AS (
      -- A job sent in a batch before, whose hook no longer batches, goes alone and leaves the batch.
      UPDATE jobs SET lease_until = p_until, lease_token = p_token, batch_id = NULL, batch_size = NULL FROM picked WHERE jobs.id = picked.id
      RETURNING jobs.id, jobs.hook_id, jobs.attempts, jobs.due_at, jobs.message_id)
    SELECT l.id, l.hook_id, l.attempts, l.due_at, m.event_id, m.room_id, m.body FROM leased l JOIN messages m ON m.id = l.message_id ORDER BY l.id;
  END
  $fn$;

  -- Attempt outcomes, in key order (the order a hook's removal locks jobs in: the two never
  -- deadlock), p_seq giving the order they were made in: each job's change (only by the claim
  -- that holds it: a token of a lease that ran out matches nothing), the attempts, and a NOTIFY of
  -- hooks with retries (workers elsewhere may sleep until the lease's end, later than the retry).
  CREATE FUNCTION mwb_record_outcomes(
    p_ids BIGINT[], p_tokens TEXT[], p_states TEXT[], p_reasons TEXT[], p_due BIGINT[], p_at BIGINT[],
    p_hooks TEXT[], p_events TEXT[], p_attempts INT[], p_outcomes TEXT[], p_status INT[], p_errors TEXT[], p_durations INT[], p_bodies TEXT[],
    p_seq INT[], p_announce TEXT
  ) RETURNS VOID
  LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
  BEGIN
    UPDATE jobs SET state = o.state, reason = o.reason, attempts = jobs.attempts + 1,
           due_at = COALESCE(o.due_at, jobs.due_at), finished_at = CASE WHEN o.state = 'pending' THEN NULL ELSE o.at END,
           lease_until = NULL, lease_token = NULL
      FROM unnest(p_ids, p_tokens, p_states, p_reasons, p_due, p_at) AS o(id, token, state, reason, due_at, at)
      WHERE jobs.id = o.id AND jobs.lease_token = o.token AND jobs.state = 'pending';
    INSERT INTO attempt_batches (hook_id, at, successes, job_ids, event_ids, attempt_nos, outcomes, statuses, errors, durations_ms, response_bodies, ats)
      SELECT a.hook, max(a.at), count(*) FILTER (WHERE a.outcome = 'success'),
             array_agg(a.job ORDER BY a.seq), array_agg(a.ev ORDER BY a.seq), array_agg(a.no ORDER BY a.seq), array_agg(a.outcome ORDER BY a.seq),
             array_agg(a.status ORDER BY a.seq), array_agg(a.err ORDER BY a.seq), array_agg(a.dur ORDER BY a.seq), array_agg(a.body ORDER BY a.seq), array_agg(a.at ORDER BY a.seq)
      FROM unnest(p_ids, p_hooks, p_events, p_attempts, p_outcomes, p_status, p_errors, p_durations, p_bodies, p_at, p_seq)
        AS a(job, hook, ev, no, outcome, status, err, dur, body, at, seq)
      GROUP BY a.hook;
    IF p_announce <> '' THEN
      PERFORM pg_notify('mwb_jobs', CASE WHEN length(p_announce) <= 7000 THEN p_announce ELSE '' END);
    END IF;
  END
  $fn$;
  `,
  // 3: each follow-up names the process run that stored it (the session setting mwb.run of its
  // connection; NULL when unset: a process alone on the database). Another appservice process
  // takes over one whose run died (its session lock is gone), so that no command is lost, and
  // none that a live process runs is run twice.
  `
  -- Two statements: a default given with ADD COLUMN would fill the rows already there with the
  -- migrating session's run, and a worker that migrates would own follow-ups it never runs.
  ALTER TABLE follow_ups ADD COLUMN owner TEXT;
  ALTER TABLE follow_ups ALTER COLUMN owner SET DEFAULT current_setting('mwb.run', true);
  `,
  // 4: pending retries by due time, for an idle worker's "when to look again". Only jobs that
  // failed before are in it (new and replayed jobs are due at once), so storing and delivering
  // never touch it, and a claim, which never states attempts > 0, cannot read it. Several workers
  // on the same hooks ask after nearly every delivery; without it each answer scanned every
  // pending job.
  `
  CREATE INDEX jobs_retry_due ON jobs (due_at) WHERE state = 'pending' AND attempts > 0;
  `,
  // 5: the tables the inbound side and the chat replies keep, moved from the SQLite file so
  // that processes on other hosts share them: inbound hooks (their URL secrets' hashes and sealed
  // GitHub secrets), inbound posts and the delivery ids already posted, chat replies waiting to be
  // posted, and the bot's DM room per user. The SQLite file's rows are copied in once, at the
  // first start with this schema (sqlite-import.ts), and the copy is recorded in imported_tables.
  `
  CREATE TABLE imported_tables (
    table_name TEXT PRIMARY KEY,
    row_count BIGINT NOT NULL,
    imported_at BIGINT NOT NULL
  );
  CREATE TABLE dm_rooms (
    user_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL
  );
  CREATE TABLE inbound_hooks (
    id TEXT PRIMARY KEY,                    -- ih_… stable id; the hook's ghost user is @webhook_<id>
    room_id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash BYTEA NOT NULL UNIQUE,      -- HMAC-SHA256(store key, URL secret)
    github_secret_enc BYTEA,                -- AES-256-GCM sealed; null: GitHub signatures are not required
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (room_id, name)
  );
  CREATE TABLE inbound_deliveries (
    hook_id TEXT NOT NULL,
    delivery_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (hook_id, delivery_key)
  );
  CREATE INDEX inbound_deliveries_at ON inbound_deliveries (at);
  CREATE TABLE inbound_posts (
    seq BIGSERIAL PRIMARY KEY,              -- the order a hook's posts are posted in; never reused
    id TEXT NOT NULL UNIQUE,                -- ip_… the post's public id; transaction ids derive from it
    hook_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    delivery_key TEXT,
    parts TEXT NOT NULL,                    -- JSON array of m.room.message contents; emptied once done
    posted INTEGER NOT NULL DEFAULT 0,
    event_ids TEXT NOT NULL DEFAULT '[]',   -- JSON array, one per posted part
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'posted', 'refused', 'dropped', 'expired')),
    error TEXT,
    error_kind TEXT,
    created_at BIGINT NOT NULL,
    done_at BIGINT
  );
  CREATE UNIQUE INDEX inbound_posts_delivery ON inbound_posts (hook_id, delivery_key) WHERE delivery_key IS NOT NULL;
  CREATE INDEX inbound_posts_pending ON inbound_posts (hook_id, seq) WHERE done_at IS NULL;
  CREATE INDEX inbound_posts_done ON inbound_posts (done_at) WHERE done_at IS NOT NULL;
  CREATE TABLE replies (
    id BIGSERIAL PRIMARY KEY,               -- the order they are posted in
    job_id TEXT NOT NULL UNIQUE,            -- msg_… of the delivery (its webhook-id)
    hook_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    parts TEXT NOT NULL,                    -- JSON array of m.room.message contents, ready to send
    posted INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    done_at BIGINT,
    error TEXT
  );
  CREATE INDEX replies_pending ON replies (id) WHERE done_at IS NULL;
  CREATE INDEX replies_done ON replies (done_at) WHERE done_at IS NOT NULL;
  `,
  // 6: the rooms' accepted hook state (with a version per room) and saved room state, moved from
  // the SQLite file so that processes on other hosts share them; copied in once as in 5. JSON is
  // kept as TEXT, as in the file: rows are copied verbatim, and one that is not JSON (dropped
  // when read) must not fail the copy.
  `
  CREATE TABLE accepted_hook_state (
    room_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    event_id TEXT,
    content TEXT NOT NULL,                  -- JSON: the state event's content as accepted
    PRIMARY KEY (room_id, event_type, state_key)
  );
  CREATE TABLE accepted_rooms (
    room_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL                 -- grows with every change of the room's rows
  );
  CREATE TABLE room_snapshots (
    room_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,                    -- JSON array of state events (types in room-snapshot.ts)
    saved_at BIGINT NOT NULL
  );
  `,
  // 7: outbound hooks and webhook bots (their sealed tokens, suspensions, failure episodes),
  // their signing keys and their uploaded TLS material, moved from the SQLite file so that
  // workers on other hosts send with the same secrets; copied in once, as migration 5's tables.
  `
  CREATE TABLE outbound_hooks (
    id TEXT PRIMARY KEY,                    -- ep_… (hooks) or bt_… (bots) stable id, used in job ids
    room_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'hook' CHECK (kind IN ('hook', 'bot')),
    name TEXT NOT NULL,
    token_enc BYTEA NOT NULL,               -- AES-256-GCM sealed token
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    suspended_at BIGINT,                    -- paused by a command or disabled by the bridge: not delivered to
    suspended_reason TEXT,
    failing_since BIGINT,                   -- first failed attempt since the last success
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failed_deliveries INTEGER NOT NULL DEFAULT 0,
    failure_notice_at BIGINT,               -- when the room was told; null: not told
    UNIQUE (room_id, kind, name)
  );
  CREATE TABLE signing_keys (
    id BIGSERIAL PRIMARY KEY,               -- the order they were made in (SQLite's rowid)
    hook_id TEXT NOT NULL REFERENCES outbound_hooks(id) ON DELETE CASCADE,
    secret_enc BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT                       -- null: the current key
  );
  CREATE INDEX signing_keys_hook ON signing_keys (hook_id);
  CREATE TABLE hook_tls (
    hook_id TEXT NOT NULL REFERENCES outbound_hooks(id) ON DELETE CASCADE,
    part TEXT NOT NULL,                     -- ca | cert | key
    pem_enc BYTEA NOT NULL,                 -- AES-256-GCM sealed PEM
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (hook_id, part)
  );
  `,
  // 8: a transaction's jobs may be leased as they are stored (j_lease, p_until, p_token), by a
  // process that also delivers: it sends them from memory, and neither claims them (a round trip,
  // a row lock and a row version each) nor reads their events back. Otherwise as migration 2.
  `
  DROP FUNCTION mwb_store_transaction(TEXT, BIGINT, TEXT, TEXT[], BIGINT[], TEXT[], TEXT[], TEXT[], BIGINT[], TEXT[], TEXT[], TEXT[]);
  CREATE FUNCTION mwb_store_transaction(
    p_txn TEXT, p_now BIGINT, p_event_ids TEXT,
    m_event TEXT[], m_ts BIGINT[], m_room TEXT[], m_body TEXT[],
    j_event TEXT[], j_ts BIGINT[], j_hook TEXT[], j_lease BOOLEAN[], p_until BIGINT, p_token TEXT,
    f_event TEXT[], f_json TEXT[]
  ) RETURNS TABLE (o_job BIGINT, o_event TEXT, o_ts BIGINT, o_hook TEXT, o_follow_up TEXT)
  LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
  DECLARE
    v_ids BIGINT[];
    v_events TEXT[];
    v_ts BIGINT[];
    v_hooks TEXT[];
    v_announce TEXT;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_txn, 0));
    INSERT INTO messages AS msg (event_id, origin_ts, room_id, body, created_at)
      SELECT DISTINCT ON (t, e) e, t, r, b, p_now FROM unnest(m_event, m_ts, m_room, m_body) AS m(e, t, r, b)
      ON CONFLICT ON CONSTRAINT messages_origin_ts_event_id_key DO UPDATE SET event_id = msg.event_id;
    WITH wanted AS (
      SELECT (SELECT msg.id FROM messages msg WHERE msg.origin_ts = w.t AND msg.event_id = w.e) AS message_id, w.e, w.t, w.h, w.l, w.n
      FROM (SELECT DISTINCT ON (u.t, u.e, u.h) u.* FROM unnest(j_event, j_ts, j_hook, j_lease) WITH ORDINALITY AS u(e, t, h, l, n) ORDER BY u.t, u.e, u.h, u.n) AS w),
    ins AS (
      INSERT INTO jobs AS jb (message_id, hook_id, due_at, created_at, lease_until, lease_token)
        SELECT wanted.message_id, wanted.h, p_now, p_now, CASE WHEN wanted.l THEN p_until END, CASE WHEN wanted.l THEN p_token END
        FROM wanted WHERE wanted.message_id IS NOT NULL ORDER BY wanted.n
        ON CONFLICT (message_id, hook_id) WHERE state <> 'replayed' DO NOTHING
        RETURNING jb.id AS new_id, jb.message_id AS new_message, jb.hook_id AS new_hook, jb.lease_token IS NULL AS unleased)
    SELECT array_agg(ins.new_id ORDER BY ins.new_id), array_agg(wanted.e ORDER BY ins.new_id), array_agg(wanted.t ORDER BY ins.new_id), array_agg(ins.new_hook ORDER BY ins.new_id),
           string_agg(DISTINCT ins.new_hook, E'\\n') FILTER (WHERE ins.unleased)
      INTO v_ids, v_events, v_ts, v_hooks, v_announce
      FROM ins JOIN wanted ON wanted.message_id = ins.new_message AND wanted.h = ins.new_hook;
    RETURN QUERY SELECT u.i, u.e, u.t, u.h, NULL::TEXT FROM unnest(v_ids, v_events, v_ts, v_hooks) AS u(i, e, t, h);
    RETURN QUERY WITH f AS (
      INSERT INTO follow_ups AS fu (event_id, txn_id, event, created_at)
        SELECT e, p_txn, j, p_now FROM unnest(f_event, f_json) AS f(e, j)
        ON CONFLICT (event_id) DO NOTHING RETURNING fu.event_id AS new_event)
      SELECT NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::TEXT, f.new_event FROM f;
    INSERT INTO handled_transactions AS ht (txn_id, handled_at, event_ids) VALUES (p_txn, p_now, p_event_ids)
      ON CONFLICT (txn_id) DO UPDATE SET event_ids = excluded.event_ids;
    -- Only hooks with jobs left for a claim are announced: the leased ones are being sent.
    IF v_announce IS NOT NULL THEN
      PERFORM pg_notify('mwb_jobs', CASE WHEN length(v_announce) <= 7000 THEN v_announce ELSE '' END);
    END IF;
  END
  $fn$;
  `,
  // 9: outcomes are written by key whatever the statistics say. Analyzed while no job was
  // pending (between bursts), the partial index of pending jobs looks like one row, and the
  // planner took it for the way in: each write read every pending job and, for each, every
  // outcome of the call (30–40 s per statement at 10,000 pending, whose old snapshot slowed every
  // other statement). The state test is now one no index matches (|| '', as due_at + 0 in
  // mwb_claim_plain), and each call is planned for its own arrays and the table as it is
  // (force_custom_plan: a plan kept from a nearly empty table would scan the table instead).
  // And outcomes no longer wait for the disk (see the function): each write's flush had held up
  // the transactions being stored behind it, and cost the server 5-10% of its CPU per delivery.
  `
  CREATE OR REPLACE FUNCTION mwb_record_outcomes(
    p_ids BIGINT[], p_tokens TEXT[], p_states TEXT[], p_reasons TEXT[], p_due BIGINT[], p_at BIGINT[],
    p_hooks TEXT[], p_events TEXT[], p_attempts INT[], p_outcomes TEXT[], p_status INT[], p_errors TEXT[], p_durations INT[], p_bodies TEXT[],
    p_seq INT[], p_announce TEXT
  ) RETURNS VOID
  LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off SET plan_cache_mode = force_custom_plan AS $fn$
  BEGIN
    -- Committed without waiting for the disk (this transaction only; the function sets nothing
    -- else of the kind, so it holds until the commit): lost in a crash of the server, an outcome
    -- leaves its job leased, and the delivery is made again after the lease, with its webhook-id,
    -- as after a crash of the bridge. The disk is flushed in order, so what is lost is the last
    -- ones only (a strict hook's order holds); transactions are stored with a flush, as before.
    PERFORM set_config('synchronous_commit', 'off', true);
    UPDATE jobs SET state = o.state, reason = o.reason, attempts = jobs.attempts + 1,
           due_at = COALESCE(o.due_at, jobs.due_at), finished_at = CASE WHEN o.state = 'pending' THEN NULL ELSE o.at END,
           lease_until = NULL, lease_token = NULL
      FROM unnest(p_ids, p_tokens, p_states, p_reasons, p_due, p_at) AS o(id, token, state, reason, due_at, at)
      WHERE jobs.id = o.id AND jobs.lease_token = o.token AND jobs.state || '' = 'pending';
    INSERT INTO attempt_batches (hook_id, at, successes, job_ids, event_ids, attempt_nos, outcomes, statuses, errors, durations_ms, response_bodies, ats)
      SELECT a.hook, max(a.at), count(*) FILTER (WHERE a.outcome = 'success'),
             array_agg(a.job ORDER BY a.seq), array_agg(a.ev ORDER BY a.seq), array_agg(a.no ORDER BY a.seq), array_agg(a.outcome ORDER BY a.seq),
             array_agg(a.status ORDER BY a.seq), array_agg(a.err ORDER BY a.seq), array_agg(a.dur ORDER BY a.seq), array_agg(a.body ORDER BY a.seq), array_agg(a.at ORDER BY a.seq)
      FROM unnest(p_ids, p_hooks, p_events, p_attempts, p_outcomes, p_status, p_errors, p_durations, p_bodies, p_at, p_seq)
        AS a(job, hook, ev, no, outcome, status, err, dur, body, at, seq)
      GROUP BY a.hook;
    IF p_announce <> '' THEN
      PERFORM pg_notify('mwb_jobs', CASE WHEN length(p_announce) <= 7000 THEN p_announce ELSE '' END);
    END IF;
  END
  $fn$;
  `,
  // 10: a transaction stored only if its id is new, in the round trip that stores it: the id's
  // check and the store under the same lock (mwb_store_transaction takes it again, which is
  // allowed). A seen id stores nothing and returns its handled events' ids (o_seen), so that the
  // caller handles it as before: reads them, and handles only the events new to it.
  `
  CREATE FUNCTION mwb_store_new_transaction(
    p_txn TEXT, p_now BIGINT, p_event_ids TEXT,
    m_event TEXT[], m_ts BIGINT[], m_room TEXT[], m_body TEXT[],
    j_event TEXT[], j_ts BIGINT[], j_hook TEXT[], j_lease BOOLEAN[], p_until BIGINT, p_token TEXT,
    f_event TEXT[], f_json TEXT[]
  ) RETURNS TABLE (o_job BIGINT, o_event TEXT, o_ts BIGINT, o_hook TEXT, o_follow_up TEXT, o_seen TEXT)
  LANGUAGE plpgsql AS $fn$
  DECLARE
    v_seen TEXT;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_txn, 0));
    SELECT ht.event_ids INTO v_seen FROM handled_transactions ht WHERE ht.txn_id = p_txn;
    IF FOUND THEN
      RETURN QUERY SELECT NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::TEXT, NULL::TEXT, COALESCE(v_seen, '[]');
      RETURN;
    END IF;
    RETURN QUERY SELECT s.o_job, s.o_event, s.o_ts, s.o_hook, s.o_follow_up, NULL::TEXT
      FROM mwb_store_transaction(p_txn, p_now, p_event_ids, m_event, m_ts, m_room, m_body, j_event, j_ts, j_hook, j_lease, p_until, p_token, f_event, f_json) AS s;
  END
  $fn$;
  `,
  // 11: no foreign key from jobs to messages. Its check ran per job (a trigger, a query and a
  // row lock on the message: 4-5 µs of the server's CPU each, a fifth of a transaction's store).
  // The reference holds without it: a job is only inserted beside its message's row, which the
  // inserting transaction holds locked (it inserted it, or the upsert updated it), and pruning
  // deletes a message only when it is older than the retention and no job refers to it, skipping
  // locked rows. An event stored again (under another transaction id) makes its message young
  // again (created_at), so a prune whose snapshot is older than that store finds, rechecking the
  // updated row, a message too young to delete; before, the foreign key failed its delete.
  `
  ALTER TABLE jobs DROP CONSTRAINT jobs_message_id_fkey;
  CREATE OR REPLACE FUNCTION mwb_store_transaction(
    p_txn TEXT, p_now BIGINT, p_event_ids TEXT,
    m_event TEXT[], m_ts BIGINT[], m_room TEXT[], m_body TEXT[],
    j_event TEXT[], j_ts BIGINT[], j_hook TEXT[], j_lease BOOLEAN[], p_until BIGINT, p_token TEXT,
    f_event TEXT[], f_json TEXT[]
  ) RETURNS TABLE (o_job BIGINT, o_event TEXT, o_ts BIGINT, o_hook TEXT, o_follow_up TEXT)
  LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $fn$
  DECLARE
    v_ids BIGINT[];
    v_events TEXT[];
    v_ts BIGINT[];
    v_hooks TEXT[];
    v_announce TEXT;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_txn, 0));
    INSERT INTO messages AS msg (event_id, origin_ts, room_id, body, created_at)
      SELECT DISTINCT ON (t, e) e, t, r, b, p_now FROM unnest(m_event, m_ts, m_room, m_body) AS m(e, t, r, b)
      ON CONFLICT ON CONSTRAINT messages_origin_ts_event_id_key DO UPDATE SET created_at = GREATEST(msg.created_at, excluded.created_at);
    WITH wanted AS (
      SELECT (SELECT msg.id FROM messages msg WHERE msg.origin_ts = w.t AND msg.event_id = w.e) AS message_id, w.e, w.t, w.h, w.l, w.n
      FROM (SELECT DISTINCT ON (u.t, u.e, u.h) u.* FROM unnest(j_event, j_ts, j_hook, j_lease) WITH ORDINALITY AS u(e, t, h, l, n) ORDER BY u.t, u.e, u.h, u.n) AS w),
    ins AS (
      INSERT INTO jobs AS jb (message_id, hook_id, due_at, created_at, lease_until, lease_token)
        SELECT wanted.message_id, wanted.h, p_now, p_now, CASE WHEN wanted.l THEN p_until END, CASE WHEN wanted.l THEN p_token END
        FROM wanted WHERE wanted.message_id IS NOT NULL ORDER BY wanted.n
        ON CONFLICT (message_id, hook_id) WHERE state <> 'replayed' DO NOTHING
        RETURNING jb.id AS new_id, jb.message_id AS new_message, jb.hook_id AS new_hook, jb.lease_token IS NULL AS unleased)
    SELECT array_agg(ins.new_id ORDER BY ins.new_id), array_agg(wanted.e ORDER BY ins.new_id), array_agg(wanted.t ORDER BY ins.new_id), array_agg(ins.new_hook ORDER BY ins.new_id),
           string_agg(DISTINCT ins.new_hook, E'\\n') FILTER (WHERE ins.unleased)
      INTO v_ids, v_events, v_ts, v_hooks, v_announce
      FROM ins JOIN wanted ON wanted.message_id = ins.new_message AND wanted.h = ins.new_hook;
    RETURN QUERY SELECT u.i, u.e, u.t, u.h, NULL::TEXT FROM unnest(v_ids, v_events, v_ts, v_hooks) AS u(i, e, t, h);
    RETURN QUERY WITH f AS (
      INSERT INTO follow_ups AS fu (event_id, txn_id, event, created_at)
        SELECT e, p_txn, j, p_now FROM unnest(f_event, f_json) AS f(e, j)
        ON CONFLICT (event_id) DO NOTHING RETURNING fu.event_id AS new_event)
      SELECT NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::TEXT, f.new_event FROM f;
    INSERT INTO handled_transactions AS ht (txn_id, handled_at, event_ids) VALUES (p_txn, p_now, p_event_ids)
      ON CONFLICT (txn_id) DO UPDATE SET event_ids = excluded.event_ids;
    -- Only hooks with jobs left for a claim are announced: the leased ones are being sent.
    IF v_announce IS NOT NULL THEN
      PERFORM pg_notify('mwb_jobs', CASE WHEN length(v_announce) <= 7000 THEN v_announce ELSE '' END);
    END IF;
  END
  $fn$;
  `,
  // 12: a transaction stored only if its id is new and its rooms' hooks are as the storing
  // process last read them: r_room, r_version, its versions of the accepted rows (0: none), as
  // RoomFollower keeps them. A room whose accepted_rooms version differs (another process changed
  // its hooks) is returned (o_stale) and nothing is stored: the caller reads that room's hooks
  // again and routes the transaction again. An appservice process beside others thus routes and
  // stores a transaction in one round trip, where it read the versions in one before. Migration
  // 10's function stays, for processes of the version before this one.
  `
  CREATE FUNCTION mwb_store_new_transaction(
    p_txn TEXT, p_now BIGINT, p_event_ids TEXT,
    m_event TEXT[], m_ts BIGINT[], m_room TEXT[], m_body TEXT[],
    j_event TEXT[], j_ts BIGINT[], j_hook TEXT[], j_lease BOOLEAN[], p_until BIGINT, p_token TEXT,
    f_event TEXT[], f_json TEXT[], r_room TEXT[], r_version BIGINT[]
  ) RETURNS TABLE (o_job BIGINT, o_event TEXT, o_ts BIGINT, o_hook TEXT, o_follow_up TEXT, o_seen TEXT, o_stale TEXT)
  LANGUAGE plpgsql AS $fn$
  DECLARE
    v_seen TEXT;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_txn, 0));
    SELECT ht.event_ids INTO v_seen FROM handled_transactions ht WHERE ht.txn_id = p_txn;
    IF FOUND THEN
      RETURN QUERY SELECT NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::TEXT, NULL::TEXT, COALESCE(v_seen, '[]'), NULL::TEXT;
      RETURN;
    END IF;
    RETURN QUERY SELECT NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::TEXT, r.room
      FROM unnest(r_room, r_version) AS r(room, version) LEFT JOIN accepted_rooms a ON a.room_id = r.room
      WHERE COALESCE(a.version, 0) <> r.version;
    IF FOUND THEN
      RETURN;
    END IF;
    RETURN QUERY SELECT s.o_job, s.o_event, s.o_ts, s.o_hook, s.o_follow_up, NULL::TEXT, NULL::TEXT
      FROM mwb_store_transaction(p_txn, p_now, p_event_ids, m_event, m_ts, m_room, m_body, j_event, j_ts, j_hook, j_lease, p_until, p_token, f_event, f_json) AS s;
  END
  $fn$;
  `,
];
