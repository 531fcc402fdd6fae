import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../store/database.js";
import { MIN_HELD_PER_LANE, SqliteDeliveryQueue } from "./sqlite-queue.js";
import { closeQueueOnFile, fail, ok, openQueueOnFile, TS } from "./queue-test-fixtures.js";


describe("SqliteDeliveryQueue (real SQLite file)", () => {
  let dir: string;
  let db: Db;
  let queue: SqliteDeliveryQueue;

  beforeEach(() => void ({ dir, db, queue } = openQueueOnFile("mwb-queue-")));
  afterEach(() => closeQueueOnFile({ dir, db, queue }));

  const message = (eventId: string, hookIds = ["ep_a", "ep_b"]) => ({ eventId, originTs: TS, roomId: "!r:x", body: `{"event_id":"${eventId}"}`, hookIds });

  it("stores one job per (event, hook) and marks the transaction handled", async () => {
    expect((await queue.handledEvents("t1")) !== null).toBe(false);
    expect(await queue.enqueue("t1", [message("$e1")])).toBe(2);
    expect((await queue.handledEvents("t1")) !== null).toBe(true);
    // The same events again (a homeserver re-send under a new id) create nothing new.
    expect(await queue.enqueue("t2", [message("$e1")])).toBe(0);
    expect(await queue.depth()).toBe(2);
  });

  it("survives reopening the file", async () => {
    await queue.enqueue("t1", [message("$e1")]);
    await queue.close();
    db.close();
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    expect((await queue.handledEvents("t1")) !== null).toBe(true);
    expect(await queue.claimDue(10, { now: Date.now(), leaseMs: 1000 })).toHaveLength(2);
  });

  it("stores a transaction's follow-ups in its commit and keeps them across a restart until each is done", async () => {
    const command = { eventId: "$c1", event: JSON.stringify({ event_id: "$c1", type: "m.room.message", content: { body: "!hooks help" } }) };
    const invite = { eventId: "$m1", event: JSON.stringify({ event_id: "$m1", type: "m.room.member", state_key: "@bot:x", content: { membership: "invite" } }) };
    const first = await queue.storeTransaction({ txnId: "t1", eventIds: ["$e1", "$c1", "$m1"], messages: [message("$e1")], followUps: [command, invite] });
    expect(first).toEqual({ jobs: 2, newFollowUps: [true, true] });
    // The same event under another transaction id is stored (and run) once.
    const again = await queue.storeTransaction({ txnId: "t2", eventIds: ["$m1"], messages: [], followUps: [invite] });
    expect(again).toEqual({ jobs: 0, newFollowUps: [false] });
    await queue.close();
    db.close();
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    expect(await queue.pendingFollowUps()).toEqual([
      { txnId: "t1", ...command },
      { txnId: "t1", ...invite },
    ]);
    await queue.followUpDone("$c1");
    expect(await queue.pendingFollowUps()).toEqual([{ txnId: "t1", ...invite }]);
    // Done, it is still known: stored again, it is not new.
    expect((await queue.storeTransaction({ txnId: "t3", eventIds: ["$c1"], messages: [], followUps: [command] })).newFollowUps).toEqual([false]);
  });

  it("keeps each handled transaction's event ids: a re-used id with one more event stores only that one's jobs", async () => {
    expect(await queue.handledEvents("t1")).toBeNull();
    await queue.storeTransaction({ txnId: "t1", eventIds: ["$e1"], messages: [message("$e1")], followUps: [] });
    expect(await queue.handledEvents("t1")).toEqual(new Set(["$e1"]));
    // The router hands the queue only the events new to the id, and every id handled under it.
    await queue.storeTransaction({ txnId: "t1", eventIds: ["$e1", "$e2"], messages: [message("$e2")], followUps: [] });
    expect(await queue.handledEvents("t1")).toEqual(new Set(["$e1", "$e2"]));
    expect(await queue.depth()).toBe(4);
    // An id handled before event ids were kept: its events count as unseen (jobs are unique per event anyway).
    db.prepare("INSERT INTO handled_transactions (txn_id, handled_at) VALUES ('old', 1)").run();
    expect(await queue.handledEvents("old")).toEqual(new Set());
  });

  it("prunes done follow-ups after the retention period, never pending ones", async () => {
    const followUp = (id: string) => ({ eventId: id, event: JSON.stringify({ event_id: id }) });
    await queue.storeTransaction({ txnId: "t1", eventIds: ["$done", "$pending"], messages: [], followUps: [followUp("$done"), followUp("$pending")] });
    await queue.followUpDone("$done");
    expect(await queue.prune(Date.now() + 60_000)).toBe(2); // the done follow-up and the transaction id
    expect(db.prepare("SELECT event_id FROM follow_ups").pluck().all()).toEqual(["$pending"]);
  });

  it("when a transaction's write fails without an answer, finds jobs it may have committed at the next claim", async () => {
    // As if the writer had committed this job and its thread had died before answering.
    const messageId = Number(db.prepare("INSERT INTO messages (event_id, origin_ts, room_id, body, created_at) VALUES ('$lost', ?, '!r:x', '{}', ?)").run(TS, Date.now()).lastInsertRowid);
    db.prepare("INSERT INTO jobs (message_id, hook_id, due_at, created_at) VALUES (?, 'ep_a', 0, 0)").run(messageId);
    await queue.close(); // the writer no longer answers
    await expect(queue.enqueue("t1", [message("$lost", ["ep_a"])])).rejects.toThrow(/writer/);
    const claimed = await queue.claimDue(10, { now: Date.now(), leaseMs: 1000 });
    expect(claimed.map((j) => [j.eventId, j.hookId])).toEqual([["$lost", "ep_a"]]);
  });

  it("leases claimed jobs and gives them out again after the lease", async () => {
    await queue.enqueue("t1", [message("$e1", ["ep_a"])]);
    const now = Date.now();
    expect(await queue.claimDue(10, { now, leaseMs: 1000 })).toHaveLength(1);
    expect(await queue.claimDue(10, { now: now + 500, leaseMs: 1000 })).toHaveLength(0);
    const again = await queue.claimDue(10, { now: now + 1001, leaseMs: 1000 });
    expect(again).toHaveLength(1);
    expect(again[0]!.body).toBe('{"event_id":"$e1"}');
  });

  it("hands out a killed process's in-flight jobs again at once after a restart", async () => {
    await queue.enqueue("t1", [message("$e1", ["ep_a"])]);
    const now = Date.now();
    const [first] = await queue.claimDue(10, { now, leaseMs: 60_000 });
    await queue.close();
    db.close();
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    const again = await queue.claimDue(10, { now, leaseMs: 60_000 });
    expect(again.map((j) => [j.eventId, j.id])).toEqual([["$e1", first!.id]]);
  });

  it("ignores the late report of an attempt whose lease ran out", async () => {
    await queue.enqueue("t1", [message("$e1", ["ep_a"])]);
    const now = Date.now();
    const [stale] = await queue.claimDue(10, { now, leaseMs: 1000 });
    const [current] = await queue.claimDue(10, { now: now + 1500, leaseMs: 1000 });
    expect(current!.key).toBe(stale!.key);
    queue.complete(stale!, ok);
    expect(await queue.depth()).toBe(1);
    queue.complete(current!, ok);
    expect(await queue.depth()).toBe(0);
    await queue.flush();
    expect(db.prepare("SELECT state FROM jobs").all()).toEqual([{ state: "done" }]);
  });

  it("holds at most laneCapacity jobs of a hook in memory and delivers the rest from the file, in order", async () => {
    await queue.close();
    queue = new SqliteDeliveryQueue(db, { laneCapacity: 4 });
    for (let t = 0; t < 5; t++) await queue.enqueue(`t${t}`, Array.from({ length: 5 }, (_, i) => message(`$m${t * 5 + i}`, ["ep_a"])));
    const seen: string[] = [];
    const now = Date.now();
    for (let round = 0; round < 50 && seen.length < 25; round++) {
      const jobs = await queue.claimDue(3, { now, leaseMs: 60_000 });
      for (const job of jobs) {
        seen.push(job.eventId);
        queue.complete(job, ok);
      }
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `$m${i}`));
    expect(await queue.depth()).toBe(0);
  });

  it("holds about heldTotal jobs of all hooks together while their receivers are down, and a healthy hook still gets all of its own", async () => {
    await queue.close();
    queue = new SqliteDeliveryQueue(db, { laneCapacity: 100, heldTotal: 20 });
    const down = Array.from({ length: 10 }, (_, h) => `ep_d${h}`);
    for (let t = 0; t < 5; t++) await queue.enqueue(`down${t}`, Array.from({ length: 10 }, (_, i) => message(`$d${t}_${i}`, down)));
    const now = Date.now();
    const later = now + 3_600_000;
    const held = new Set<number>();
    for (let round = 0; round < 50; round++) {
      const jobs = await queue.claimDue(1000, { now, leaseMs: 60_000 });
      if (jobs.length === 0) break;
      for (const job of jobs) {
        held.add(job.key);
        queue.retryAt(job, later, fail);
      }
    }
    // 500 jobs pending; in memory at most the global bound plus each hook's minimum.
    expect(held.size).toBeGreaterThanOrEqual(20);
    expect(held.size).toBeLessThanOrEqual(20 + MIN_HELD_PER_LANE * down.length);
    // Nothing to do until the retries are due: no busy loop of refills that cannot load.
    expect(await queue.nextDueAt()).toBe(later);

    await queue.enqueue("healthy", Array.from({ length: 30 }, (_, i) => message(`$h${i}`, ["ep_ok"])));
    const delivered: string[] = [];
    for (let round = 0; round < 100 && delivered.length < 30; round++) {
      for (const job of (await queue.claimDue(1000, { now: Date.now(), leaseMs: 60_000 }))) {
        if (job.hookId === "ep_ok") {
          delivered.push(job.eventId);
          queue.complete(job, ok);
        } else queue.retryAt(job, later, fail);
      }
    }
    expect(delivered).toEqual(Array.from({ length: 30 }, (_, i) => `$h${i}`));
    // Once the receivers answer, every held-back job comes out of the file too.
    const rest = new Set<string>();
    for (let round = 0; round < 500 && rest.size < 500; round++) {
      for (const job of (await queue.claimDue(1000, { now: later, leaseMs: 60_000 }))) {
        rest.add(`${job.hookId}/${job.eventId}`);
        queue.complete(job, ok);
      }
    }
    expect(rest.size).toBe(500);
    expect(await queue.depth()).toBe(0);
  });

  it("holds about heldBytes of event JSON while receivers are down, loads the rest in order as jobs finish, and reports no work it cannot load", async () => {
    await queue.close();
    queue = new SqliteDeliveryQueue(db, { laneCapacity: 1000, heldTotal: 100_000, heldBytes: 20_000 });
    const big = (eventId: string, hookIds: string[]) => ({ ...message(eventId, hookIds), body: JSON.stringify({ event_id: eventId, pad: "x".repeat(1000) }) });
    const down = ["ep_big1", "ep_big2"];
    await queue.enqueue("big", Array.from({ length: 100 }, (_, i) => big(`$b${String(i).padStart(3, "0")}`, down)));
    const later = Date.now() + 3_600_000;
    const held = new Set<number>();
    for (let round = 0; round < 50; round++) {
      const jobs = await queue.claimDue(1000, { now: Date.now(), leaseMs: 60_000 });
      if (jobs.length === 0) break;
      for (const job of jobs) {
        held.add(job.key);
        queue.retryAt(job, later, fail);
      }
    }
    // 200 jobs of ~1 KB pending: memory holds ~20 KB of them (plus each hook's minimum), not 200.
    expect(held.size).toBeGreaterThanOrEqual(MIN_HELD_PER_LANE * down.length);
    expect(held.size).toBeLessThanOrEqual(20 + MIN_HELD_PER_LANE * down.length);
    expect(await queue.nextDueAt()).toBe(later);
    // Once the receivers answer, everything comes out of the file, each job once.
    const order = new Map<string, number[]>(down.map((h) => [h, []]));
    for (let round = 0; round < 500 && [...order.values()].flat().length < 200; round++) {
      for (const job of (await queue.claimDue(1000, { now: later, leaseMs: 60_000 }))) {
        order.get(job.hookId)!.push(job.key);
        queue.complete(job, ok);
      }
    }
    for (const keys of order.values()) expect(new Set(keys).size).toBe(100);
    expect(await queue.depth()).toBe(0);
  });

  it("past the byte bound holds one job per hook, not eight: many hooks of large events stay bounded and all keep going", async () => {
    await queue.close();
    queue = new SqliteDeliveryQueue(db, { laneCapacity: 1000, heldBytes: 10_000 });
    const hooks = Array.from({ length: 50 }, (_, h) => `ep_many${h}`);
    const big = (eventId: string) => ({ ...message(eventId, hooks), body: JSON.stringify({ event_id: eventId, pad: "x".repeat(1000) }) });
    await queue.enqueue("many", Array.from({ length: 5 }, (_, i) => big(`$m${i}`)));
    const claimed = await queue.claimDue(10_000, { now: Date.now(), leaseMs: 60_000 });
    expect(claimed.length).toBeLessThanOrEqual(10 + hooks.length);
    expect(new Set(claimed.map((j) => j.hookId)).size).toBe(hooks.length);
  });

  it("gives the bytes of a removed hook's held jobs back to the others", async () => {
    await queue.close();
    queue = new SqliteDeliveryQueue(db, { laneCapacity: 1000, heldBytes: 12_000 });
    const big = (eventId: string, hookIds: string[]) => ({ ...message(eventId, hookIds), body: JSON.stringify({ event_id: eventId, pad: "x".repeat(1000) }) });
    await queue.enqueue("a", Array.from({ length: 30 }, (_, i) => big(`$a${i}`, ["ep_gone"])));
    await queue.enqueue("b", Array.from({ length: 30 }, (_, i) => big(`$b${i}`, ["ep_next"])));
    const firstClaim = await queue.claimDue(1000, { now: Date.now(), leaseMs: 60_000 });
    // ep_gone took the bytes; ep_next got only the one job a hook holds past the bound.
    expect(firstClaim.filter((j) => j.hookId === "ep_next")).toHaveLength(1);
    for (const job of firstClaim) if (job.hookId === "ep_next") queue.complete(job, ok);
    expect(await queue.cancelHook("ep_gone")).toBe(30);
    const next = await queue.claimDue(1000, { now: Date.now(), leaseMs: 60_000 });
    expect(next.length).toBeGreaterThan(1);
    expect(next.every((j) => j.hookId === "ep_next")).toBe(true);
  });

  it("lets a hook's retries hold back its backlog (bounded memory), and replays dead letters older than what it holds", async () => {
    await queue.close();
    queue = new SqliteDeliveryQueue(db, { laneCapacity: 2 });
    await queue.enqueue("t1", Array.from({ length: 6 }, (_, i) => message(`$r${i}`, ["ep_a"])));
    const now = Date.now();
    const [first, second] = await queue.claimDue(2, { now, leaseMs: 60_000 });
    queue.deadLetter(first!, "HTTP 400", { ...fail, outcome: "failed", status: 400 });
    queue.retryAt(second!, now + 1000, fail);
    // Half the lane is a waiting retry: nothing more is loaded until it is due.
    expect(await queue.claimDue(10, { now, leaseMs: 60_000 })).toEqual([]);
    expect(await queue.nextDueAt()).toBe(now + 1000);
    const rest: string[] = [];
    for (let round = 0; round < 20; round++) {
      const jobs = await queue.claimDue(10, { now: now + 1000, leaseMs: 60_000 });
      for (const job of jobs) {
        rest.push(`${job.eventId}/${job.attempts}`);
        queue.complete(job, ok);
      }
    }
    expect(rest).toEqual(["$r1/1", "$r2/0", "$r3/0", "$r4/0", "$r5/0"]);
    expect(await queue.replay("ep_a", { dead: true })).toBe(1);
    expect((await queue.claimDue(10, { now: now + 1000, leaseMs: 60_000 })).map((j) => [j.eventId, j.attempts])).toEqual([["$r0", 0]]);
  });

  it("completes, reschedules and dead-letters with one attempt row each", async () => {
    await queue.enqueue("t1", [message("$e1", ["ep_a"]), message("$e2", ["ep_a"])]);
    const now = Date.now();
    const [first, second] = await queue.claimDue(10, { now, leaseMs: 1000 });
    queue.retryAt(first!, now + 5000, fail);
    expect(await queue.nextDueAt()).toBeLessThanOrEqual(now + 5000);
    queue.deadLetter(second!, "HTTP 404", { ...fail, outcome: "failed", status: 404 });
    const retried = await queue.claimDue(10, { now: now + 5000, leaseMs: 1000 });
    expect(retried.map((j) => [j.eventId, j.attempts])).toEqual([["$e1", 1]]);
    queue.complete(retried[0]!, ok);
    expect(await queue.depth()).toBe(0);
    await queue.flush();
    expect(db.prepare("SELECT outcome, attempt FROM attempts ORDER BY batch_id, seq").all()).toEqual([
      { outcome: "retry", attempt: 1 },
      { outcome: "failed", attempt: 1 },
      { outcome: "success", attempt: 2 },
    ]);
    await queue.flush();
    expect(db.prepare("SELECT m.event_id, j.state, j.reason FROM jobs j JOIN messages m ON m.id = j.message_id ORDER BY m.event_id").all()).toEqual([
      { event_id: "$e1", state: "done", reason: null },
      { event_id: "$e2", state: "dead", reason: "HTTP 404" },
    ]);
    // A finished job is remembered: the same event is not queued again.
    expect(await queue.enqueue("t9", [message("$e1", ["ep_a"])])).toBe(0);
  });

  it("keeps one busy hook from taking every slot", async () => {
    const events = Array.from({ length: 10 }, (_, i) => message(`$slow${i}`, ["ep_slow"]));
    await queue.enqueue("t1", [...events, message("$fast", ["ep_fast"])]);
    const claimed = await queue.claimDue(4, { now: Date.now(), leaseMs: 1000, perHookLimit: 2 });
    expect(claimed.map((j) => j.hookId).sort()).toEqual(["ep_fast", "ep_slow", "ep_slow"]);
    const skipBusy = await queue.claimDue(4, { now: Date.now(), leaseMs: 1000, skipHooks: new Set(["ep_slow"]) });
    expect(skipBusy).toHaveLength(0);
  });

  it("does not let a skipped hook's backlog hide other hooks' due jobs", async () => {
    const backlog = Array.from({ length: 50 }, (_, i) => message(`$b${i}`, ["ep_stuck"]));
    await queue.enqueue("t1", backlog);
    await queue.enqueue("t2", [message("$other", ["ep_other"])]);
    const claimed = await queue.claimDue(2, { now: Date.now() + 1, leaseMs: 1000, skipHooks: new Set(["ep_stuck"]) });
    expect(claimed.map((j) => j.eventId)).toEqual(["$other"]);
  });

  it("gives a strict hook only its oldest pending job, one at a time", async () => {
    await queue.enqueue("t1", [message("$s1", ["ep_strict"]), message("$s2", ["ep_strict"])]);
    const now = Date.now();
    const strict = new Set(["ep_strict"]);
    const [first] = await queue.claimDue(10, { now, leaseMs: 1000, strictHooks: strict });
    expect(first!.eventId).toBe("$s1");
    expect(await queue.claimDue(10, { now, leaseMs: 1000, strictHooks: strict })).toHaveLength(0);
    // A retry scheduled later holds back the next event too.
    queue.retryAt(first!, now + 5000, fail);
    expect(await queue.claimDue(10, { now: now + 10, leaseMs: 1000, strictHooks: strict })).toHaveLength(0);
    const again = await queue.claimDue(10, { now: now + 5000, leaseMs: 1000, strictHooks: strict });
    expect(again.map((j) => j.eventId)).toEqual(["$s1"]);
    queue.complete(again[0]!, ok);
    expect((await queue.claimDue(10, { now: now + 5000, leaseMs: 1000, strictHooks: strict })).map((j) => j.eventId)).toEqual(["$s2"]);
  });

  it("replays one event or every dead letter, and reports status", async () => {
    await queue.enqueue("t1", [message("$d1", ["ep_a"]), message("$d2", ["ep_a"]), message("$ok", ["ep_a"])]);
    const now = Date.now();
    const jobs = await queue.claimDue(10, { now, leaseMs: 1000 });
    for (const job of jobs) {
      if (job.eventId === "$ok") queue.complete(job, ok);
      else queue.deadLetter(job, "HTTP 400", { ...fail, outcome: "failed", status: 400 });
    }
    expect(await queue.hookStatus("ep_a", 10)).toMatchObject({ pending: 0, dead: 2, delivered: 1 });
    expect((await queue.hookStatus("ep_a", 2)).recent).toHaveLength(2);
    // Without a timestamp (the homeserver no longer shows the event) only dead letters are found.
    expect(await queue.replay("ep_a", { eventId: "$ok", originTs: null })).toBe(0);
    expect(await queue.replay("ep_a", { eventId: "$ok", originTs: TS + 1 })).toBe(0);
    expect(await queue.replay("ep_a", { eventId: "$ok", originTs: TS })).toBe(1);
    expect(await queue.replay("ep_a", { eventId: "$d1", originTs: null })).toBe(1);
    expect(await queue.replay("ep_a", { dead: true })).toBe(1);
    expect(await queue.replay("ep_a", { eventId: "$unknown", originTs: TS })).toBe(0);
    const replayed = await queue.claimDue(10, { now: Date.now() + 1000, leaseMs: 1000 });
    expect(replayed.map((j) => [j.eventId, j.attempts]).sort()).toEqual([["$d1", 0], ["$d2", 0], ["$ok", 0]]);
  });

  it("shows a hook's newest attempts first across stored batches, and counts its deliveries", async () => {
    await queue.enqueue("t1", ["$1", "$2", "$3", "$4"].map((e) => message(e, ["ep_a", "ep_b"])));
    const now = Date.now();
    const jobs = await queue.claimDue(8, { now, leaseMs: 60_000 });
    const ofA = jobs.filter((j) => j.hookId === "ep_a");
    // Three outcome batches: every flush stores one attempt_batches row per hook.
    queue.complete(ofA[0]!, ok);
    queue.retryAt(ofA[1]!, now, { ...fail, status: 503 });
    await queue.flush();
    queue.complete(ofA[2]!, ok);
    for (const job of jobs.filter((j) => j.hookId === "ep_b")) queue.complete(job, ok);
    await queue.flush();
    queue.deadLetter(ofA[3]!, "HTTP 404", { ...fail, outcome: "failed", status: 404 });
    await queue.flush();
    expect(db.prepare("SELECT hook_id, successes, json_array_length(attempts) AS n FROM attempt_batches ORDER BY id").all()).toEqual([
      { hook_id: "ep_a", successes: 1, n: 2 },
      { hook_id: "ep_a", successes: 1, n: 1 },
      { hook_id: "ep_b", successes: 4, n: 4 },
      { hook_id: "ep_a", successes: 0, n: 1 },
    ]);
    const status = await queue.hookStatus("ep_a", 3);
    expect(status.recent.map((a) => [a.eventId, a.outcome, a.status])).toEqual([
      ["$4", "failed", 404],
      ["$3", "success", 200],
      ["$2", "retry", 503],
    ]);
    expect(status).toMatchObject({ pending: 1, dead: 1, delivered: 2 });
    expect((await queue.hookStatus("ep_b", 10)).delivered).toBe(4);
    expect(await queue.hookStatus("ep_c", 10)).toMatchObject({ delivered: 0, recent: [] });
  });

  it("after close, leaves an outcome unstored (its job stays pending) instead of retrying a stopped writer", async () => {
    const errors: unknown[] = [];
    const own = new SqliteDeliveryQueue(db, { onWriteError: (err) => errors.push(err) });
    await own.enqueue("t-close", [message("$late", ["ep_a"])]);
    const [job] = await own.claimDue(1, { now: Date.now(), leaseMs: 60_000 });
    await own.close();
    own.complete(job!, ok); // a delivery that finished during shutdown
    await new Promise((r) => setTimeout(r, 150));
    expect(errors).toEqual([]);
    expect(db.prepare("SELECT j.state FROM jobs j JOIN messages m ON m.id = j.message_id WHERE m.event_id = '$late'").pluck().get()).toBe("pending");
  });

    it("wakes listeners on enqueue and cancels a removed hook's jobs", async () => {
    let woken = 0;
    queue.onEnqueue(() => woken++);
    await queue.enqueue("t1", [message("$e1")]);
    await queue.enqueue("t2", []);
    expect(woken).toBe(1);
    expect(await queue.cancelHook("ep_a")).toBe(1);
    expect(await queue.depth()).toBe(1);
  });

  it("cancels a removed hook's pending jobs without counting those just delivered (outcome not yet written) twice", async () => {
    await queue.enqueue("t1", [message("$c1", ["ep_x"]), message("$c2", ["ep_x"]), message("$c3", ["ep_x"])]);
    const jobs = await queue.claimDue(10, { now: Date.now(), leaseMs: 60_000 });
    expect(jobs).toHaveLength(3);
    queue.complete(jobs[0]!, ok);
    queue.complete(jobs[1]!, ok);
    // Two outcomes are in memory only; the third job is in flight, pending in the file.
    expect(await queue.cancelHook("ep_x")).toBe(1);
    expect(await queue.depth()).toBe(0);
  });

  it("prunes in small chunks past rows it must keep, and finds everything old", async () => {
    const events = Array.from({ length: 25 }, (_, i) => message(`$p${i}`, ["ep_a"]));
    await queue.enqueue("t-old", events);
    const now = Date.now();
    const jobs = await queue.claimDue(25, { now, leaseMs: 60_000 });
    // Every fifth stays pending (in flight): its job and its event must survive.
    jobs.forEach((job, i) => (i % 5 === 4 ? undefined : queue.complete(job, ok)));
    await queue.flush();
    const deleted = await queue.prune(now + 60_000, { window: 3, budgetMs: 0 }); // one window per step
    expect(db.prepare("SELECT COUNT(*) FROM jobs").pluck().get()).toBe(5);
    expect(db.prepare("SELECT state FROM jobs").pluck().all()).toEqual(Array(5).fill("pending"));
    expect(db.prepare("SELECT event_id FROM messages ORDER BY id").pluck().all()).toEqual(["$p4", "$p9", "$p14", "$p19", "$p24"]);
    expect(db.prepare("SELECT COUNT(*) FROM attempt_batches").pluck().get()).toBe(0);
    expect(deleted).toBe(20 + 20 + 1 + 1);
    // Nothing left to prune: a second run deletes nothing.
    expect(await queue.prune(now + 60_000, { window: 3, budgetMs: 0 })).toBe(0);
  });

  it("keeps everything younger than the cutoff, and skips the keys already pruned", async () => {
    const round = async (tag: string) => {
      await queue.enqueue(`t-${tag}`, [message(`$${tag}1`, ["ep_a"]), message(`$${tag}2`, ["ep_a"])]);
      for (const job of (await queue.claimDue(10, { now: Date.now(), leaseMs: 60_000 }))) queue.complete(job, ok);
      await queue.flush();
    };
    await round("old");
    // An old attempt batch far above the others (as after years of batches pruned): the walk jumps
    // to it instead of stepping through two billion empty keys ten at a time.
    db.prepare("INSERT INTO attempt_batches (id, hook_id, at, successes, attempts) VALUES (2000000000, 'ep_a', 1, 0, '[]')").run();
    await new Promise((r) => setTimeout(r, 20));
    const cutoff = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await round("new");
    expect(await queue.prune(cutoff)).toBe(2 + 2 + 1 + 1 + 1); // old jobs, their events, their batch, t-old, the far batch
    expect(db.prepare("SELECT m.event_id FROM jobs j JOIN messages m ON m.id = j.message_id ORDER BY j.id").pluck().all()).toEqual(["$new1", "$new2"]);
    expect(db.prepare("SELECT event_id FROM messages ORDER BY id").pluck().all()).toEqual(["$new1", "$new2"]);
    expect(db.prepare("SELECT event_id FROM attempts ORDER BY batch_id, seq").pluck().all()).toEqual(["$new1", "$new2"]);
    expect(((await queue.handledEvents("t-new")) !== null)).toBe(true);
    expect(((await queue.handledEvents("t-old")) !== null)).toBe(false);
  });

  it("prunes finished jobs and what only they needed", async () => {
    await queue.enqueue("t1", [message("$e1", ["ep_a"]), message("$e2", ["ep_a"])]);
    const now = Date.now();
    const [first] = await queue.claimDue(1, { now, leaseMs: 1000 });
    queue.complete(first!, ok);
    await queue.flush();
    expect(await queue.prune(now + 60_000)).toBe(4); // the job, its event, its attempt batch, the transaction id
    expect(db.prepare("SELECT m.event_id FROM jobs j JOIN messages m ON m.id = j.message_id").all()).toEqual([{ event_id: "$e2" }]);
    await queue.flush();
    expect(db.prepare("SELECT event_id FROM messages").all()).toEqual([{ event_id: "$e2" }]);
    await queue.flush();
    expect(db.prepare("SELECT COUNT(*) AS n FROM attempts").get()).toEqual({ n: 0 });
    expect((await queue.handledEvents("t1")) !== null).toBe(false);
  });

  it("keeps a strict hook in order across loads from the file", async () => {
    await queue.close();
    queue = new SqliteDeliveryQueue(db, { laneCapacity: 2 });
    await queue.enqueue("t1", Array.from({ length: 5 }, (_, i) => message(`$o${i}`, ["ep_strict"])));
    const strictHooks = new Set(["ep_strict"]);
    const order: string[] = [];
    const now = Date.now();
    for (let round = 0; round < 20 && order.length < 5; round++) {
      const jobs = await queue.claimDue(10, { now, leaseMs: 60_000, strictHooks });
      expect(jobs.length).toBeLessThanOrEqual(1);
      for (const job of jobs) {
        order.push(job.eventId);
        queue.complete(job, ok);
      }
    }
    expect(order).toEqual(["$o0", "$o1", "$o2", "$o3", "$o4"]);
  });

  it("after a restart, waits for a retry's due time before handing it out", async () => {
    await queue.enqueue("t1", [message("$later", ["ep_a"])]);
    const now = Date.now();
    const [job] = await queue.claimDue(10, { now, leaseMs: 60_000 });
    queue.retryAt(job!, now + 60_000, fail);
    await queue.close();
    db.close();
    db = openDatabase(join(dir, "bridge.db"));
    queue = new SqliteDeliveryQueue(db);
    expect(await queue.depth()).toBe(1);
    expect(await queue.claimDue(10, { now: now + 1000, leaseMs: 60_000 })).toEqual([]);
    expect(await queue.nextDueAt()).toBe(now + 60_000);
    expect((await queue.claimDue(10, { now: now + 60_000, leaseMs: 60_000 })).map((j) => [j.eventId, j.attempts])).toEqual([["$later", 1]]);
  });

  it("does not count the report of an attempt whose hook was removed meanwhile", async () => {
    await queue.enqueue("t1", [message("$x", ["ep_gone"]), message("$y", ["ep_gone"])]);
    const [inFlight] = await queue.claimDue(1, { now: Date.now(), leaseMs: 60_000 });
    expect(await queue.cancelHook("ep_gone")).toBe(2);
    expect(await queue.depth()).toBe(0);
    queue.complete(inFlight!, ok);
    expect(await queue.depth()).toBe(0);
    await queue.flush();
    expect(db.prepare("SELECT DISTINCT state FROM jobs").pluck().all()).toEqual(["dropped"]);
    expect(await queue.claimDue(10, { now: Date.now(), leaseMs: 60_000 })).toEqual([]);
  });

  it("does not queue a dead letter twice when it is replayed again before it was sent", async () => {
    await queue.enqueue("t1", [message("$d", ["ep_a"])]);
    const [job] = await queue.claimDue(1, { now: Date.now(), leaseMs: 60_000 });
    queue.deadLetter(job!, "HTTP 400", { ...fail, outcome: "failed", status: 400 });
    expect(await queue.replay("ep_a", { dead: true })).toBe(1);
    expect(await queue.replay("ep_a", { dead: true })).toBe(0);
    expect(await queue.replay("ep_a", { eventId: "$d", originTs: TS })).toBe(0);
    const again = await queue.claimDue(10, { now: Date.now(), leaseMs: 60_000 });
    expect(again.map((j) => [j.eventId, j.id])).toEqual([["$d", job!.id]]);
    expect(await queue.hookStatus("ep_a", 5)).toMatchObject({ pending: 1, dead: 0 });
  });
});
