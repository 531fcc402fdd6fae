// Nothing acknowledged is lost, whatever the store: the bridge is killed with SIGKILL while more
// than 10,000 deliveries are queued or in flight, restarted, and every event still arrives, each
// copy with the same webhook-id. Shared by the SQLite (durability.spec.ts) and PostgreSQL
// (postgres-store.spec.ts) runs.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { expect, inject } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../../src/connections/outbound-hook-state.js";
import { loadRegistration } from "../../src/matrix/registration.js";
import { spawnBridge, type BridgeProcess } from "./bridge-process.js";
import type { Receiver } from "./receiver.js";
import { botNotice, roomWithBot } from "./rooms.js";
import { registerUser, uniqueName } from "./users.js";

const EVENTS = 11_000;
const PER_TRANSACTION = 500;

/**
 * Runs the kill-and-restart scenario with the bridge configured by `configPath` (whose
 * delivery.concurrency is `concurrency`). `running` is told of each bridge process, so that the
 * caller's afterAll can kill one a failed assertion left behind.
 */
export async function killMidBurstAndRestart(opts: { configPath: string; dir: string; receiver: Receiver; concurrency: number; label: string; running: (bridge: BridgeProcess | undefined) => void }): Promise<void> {
  const { configPath, dir, receiver, label } = opts;
  const CONCURRENCY = opts.concurrency;
  let bridge: BridgeProcess;
  const { registrationPath, bridgePort } = inject("synapse");
  const registration = await loadRegistration(registrationPath);
  const start = () => spawnBridge({ configPath, registrationPath, port: bridgePort, logPath: join(dir, "bridge.log") });
  bridge = await start();
  opts.running(bridge);

  const admin = (await registerUser(uniqueName("admin"))).client;
  const roomId = await roomWithBot(admin, `@${registration.senderLocalpart}:${inject("synapse").serverName}`);
  await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "sink", { name: "sink", url: `${receiver.url}/sink` });
  await botNotice(admin, roomId, `@${registration.senderLocalpart}:${inject("synapse").serverName}`, /Outbound hook "sink" active/);

  // A slow receiver, so the queue is deep when the bridge dies.
  receiver.respondWith(() => ({ status: 200, delayMs: 25 }));
  const eventIds: string[] = [];
  for (let t = 0; t < EVENTS / PER_TRANSACTION; t++) {
    const events = Array.from({ length: PER_TRANSACTION }, (_, i) => {
      const eventId = `$${label}-kill-${t}-${i}-${randomBytes(4).toString("hex")}`;
      eventIds.push(eventId);
      return { event_id: eventId, room_id: roomId, sender: admin.userId, type: "m.room.message", origin_server_ts: Date.now(), content: { msgtype: "m.text", body: `event ${t}/${i}` } };
    });
    const res = await fetch(`${bridge.url}/_matrix/app/v1/transactions/${label}-kill-${t}-${randomBytes(4).toString("hex")}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${registration.hsToken}`, "content-type": "application/json" },
      body: JSON.stringify({ events }),
    });
    expect(res.status).toBe(200);
  }
  const ours = (r: { headers: Record<string, unknown> }) => String(r.headers["x-matrix-hookshot-eventid"]).startsWith(`$${label}-kill-`);
  await receiver.waitFor(ours, 100, 30_000);
  await bridge.kill("SIGKILL");
  const receivedBeforeKill = receiver.requests.filter(ours).length;
  // At least 10,000 deliveries were queued or in flight when the process died.
  expect(EVENTS - receivedBeforeKill).toBeGreaterThanOrEqual(10_000);

  receiver.respondWith(() => ({ status: 200 }));
  bridge = await start();
  opts.running(bridge);
  const seen = new Map<string, Set<string>>();
  const deadline = Date.now() + 120_000;
  for (;;) {
    seen.clear();
    for (const r of receiver.requests.filter(ours)) {
      const id = String(r.headers["x-matrix-hookshot-eventid"]);
      if (!seen.has(id)) seen.set(id, new Set());
      seen.get(id)!.add(String(r.headers["webhook-id"]));
    }
    if (seen.size >= EVENTS || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const missing = eventIds.filter((id) => !seen.has(id));
  expect(missing).toEqual([]);
  const total = receiver.requests.filter(ours).length;
  const duplicates = total - EVENTS;
  console.log(`[durability, ${label}] ${EVENTS} events; ${receivedBeforeKill} delivered before SIGKILL, ${EVENTS - receivedBeforeKill} queued or in flight; ${duplicates} delivered twice after the restart`);
  // Only what was in flight at the kill can arrive twice; at most one hook's share of the slots.
  expect(duplicates).toBeGreaterThanOrEqual(0);
  expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
  // Every copy of an event carried the same webhook-id.
  expect([...seen.values()].every((ids) => ids.size === 1)).toBe(true);
  await bridge.kill("SIGTERM");
  expect(await bridge.exited).toBe(0);
  opts.running(undefined);
}
