// The start from saved room state: the saved rooms are read a page at a time (one store query
// per 200 rooms, not one per room), and only rooms without a usable saved state are read from the
// homeserver. Real SQLite store; the hooks' side only records what it is given.
import { describe, expect, it } from "vitest";
import type { InboundHooks } from "../connections/inbound-hooks.js";
import type { OutboundHooks } from "../connections/outbound-hooks.js";
import type { DeliveryQueue } from "../delivery/queue/queue.js";
import type { MatrixPort, StateEvent } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { openDatabase } from "../store/database.js";
import { RoomSnapshotsTable, type RoomSnapshotsStore } from "../store/room-snapshots-table.js";
import { EventRouter } from "./event-router.js";
import { RoomSnapshots } from "./room-snapshots.js";

const create = (roomId: string): StateEvent => ({ type: "m.room.create", state_key: "", sender: "@admin:x", content: {}, event_id: `$create${roomId}` });

describe("EventRouter.loadJoinedRooms from saved state", () => {
  it("reads the saved rooms in pages, the others (and a malformed one) from the homeserver, and forgets rooms the bot left", async () => {
    const db = openDatabase(":memory:");
    const table = new RoomSnapshotsTable(db);
    const joined = Array.from({ length: 450 }, (_, i) => `!r${i}:x`);
    for (const roomId of joined.slice(0, 400)) await table.save(roomId, [create(roomId)]);
    await table.save("!left:x", [create("!left:x")]);
    db.prepare("UPDATE room_snapshots SET state = '[null]' WHERE room_id = ?").run("!r7:x");
    // The real table, with its reads counted.
    const reads = { get: 0, getMany: 0 };
    const counted = new Proxy(table, {
      get: (target, name: string) => {
        const member = (target as unknown as Record<string, unknown>)[name];
        if (name === "get" || name === "getMany") reads[name]++;
        return typeof member === "function" ? (member as (...a: unknown[]) => unknown).bind(target) : member;
      },
    }) as RoomSnapshotsStore;
    const snapshots = new RoomSnapshots(counted, createLogger("silent"));
    const fromHomeserver: string[] = [];
    const loaded = new Map<string, StateEvent[]>();
    // Once every room is loaded, the background check against the homeserver starts: its reads never answer here.
    const checking = () => loaded.size === joined.length;
    const matrix = {
      botUserId: "@bot:x",
      isBridgeUser: () => false,
      joinedRooms: async () => joined,
      roomState: (roomId: string) => (checking() ? new Promise(() => undefined) : (fromHomeserver.push(roomId), Promise.resolve([create(roomId)]))),
    } as unknown as MatrixPort;
    const outbound = { loadRoom: async (roomId: string, state: StateEvent[]) => void loaded.set(roomId, state) } as unknown as OutboundHooks;
    const inbound = { loadRoom: async () => undefined, waitForRooms: () => undefined } as unknown as InboundHooks;
    const router = new EventRouter({ matrix, outbound, inbound, queue: {} as DeliveryQueue, inviteAllowList: [], commandPrefix: "!hooks", log: createLogger("silent"), snapshots });

    expect(await router.loadJoinedRooms(8)).toBe(450);
    snapshots.stop();
    expect(loaded.size).toBe(450);
    expect(reads).toEqual({ get: 0, getMany: 2 }); // 400 saved rooms: 2 pages of 200
    expect(fromHomeserver.sort()).toEqual([...joined.slice(400), "!r7:x"].sort());
    expect(await table.get("!left:x")).toBeNull();
    expect((await table.get("!r7:x"))).toEqual([create("!r7:x")]); // saved again as read
    db.close();
  });
});
