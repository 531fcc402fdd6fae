// What every engine's room tables must do (accepted hook state, saved room state), run against
// SQLite (unit project) and PostgreSQL (postgres project). Each test opens fresh storage through
// the factory; `other` is a second instance on the same storage, as another process would have
// (PostgreSQL: its own pool).
import { describe, expect, it } from "vitest";
import type { StateEvent } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { RoomSnapshots } from "../router/room-snapshots.js";
import type { AcceptedHooksStore, AcceptedRoomChanged } from "./accepted-hooks-table.js";
import type { RoomSnapshotsStore } from "./room-snapshots-table.js";

export interface AcceptedFixture {
  table: AcceptedHooksStore;
  /** Another instance on the same storage; `changed` hears its changes. */
  other(changed?: AcceptedRoomChanged): Promise<AcceptedHooksStore>;
  /** Stores a row with this content text as it is (a row written by something else, or damaged). */
  writeRawContent(roomId: string, eventType: string, stateKey: string, content: string): Promise<void>;
}

export interface SnapshotsFixture {
  table: RoomSnapshotsStore;
  other(): Promise<RoomSnapshotsStore>;
  /** Stores a room's state text as it is. */
  writeRawState(roomId: string, state: string): Promise<void>;
}

const TYPE = "uk.half-shot.matrix-hookshot.outbound-hook";
const INBOUND = "uk.half-shot.matrix-hookshot.inbound-hook";

export function acceptedHooksContract(engine: string, open: (changed?: AcceptedRoomChanged) => Promise<AcceptedFixture>): void {
  describe(`AcceptedHooksStore on ${engine}`, () => {
    it("records accepted state that a second instance reads, and says so after the write committed, with the new version", async () => {
      const told: Array<[string, number, number]> = [];
      let reader: AcceptedHooksStore | null = null;
      const pending: Array<Promise<void>> = [];
      const { table, other } = await open((roomId, version) => {
        // What the other instance reads when told: the change is there already.
        pending.push(reader!.version(roomId).then((read) => void told.push([roomId, version, read])));
      });
      reader = await other();
      await table.accept("!r:x", TYPE, "ci", "$1", { name: "ci", url: "https://example.org" });
      await Promise.all(pending);
      await table.accept("!r:x", INBOUND, "in", null, { name: "in" });
      await Promise.all(pending);
      expect(told).toEqual([["!r:x", 1, 1], ["!r:x", 2, 2]]);
      expect(await reader.version("!r:x")).toBe(2);
      expect((await reader.forRoom("!r:x")).sort((a, b) => a.stateKey.localeCompare(b.stateKey))).toEqual([
        { eventType: TYPE, stateKey: "ci", eventId: "$1", content: { name: "ci", url: "https://example.org" } },
        { eventType: INBOUND, stateKey: "in", eventId: null, content: { name: "in" } },
      ]);
      expect(await reader.rooms()).toEqual(["!r:x"]);
      expect(await reader.forRoom("!none:x")).toEqual([]);
      expect(await reader.version("!none:x")).toBe(0);
      await table.accept("!s:x", TYPE, "ci", "$2", { name: "ci" });
      expect(await reader.versions(["!r:x", "!s:x", "!none:x"])).toEqual(new Map([["!r:x", 2], ["!s:x", 1]]));
      expect(await reader.versions([])).toEqual(new Map());
    });

    it("grows the version with every change and keeps it when nothing changed", async () => {
      const told: number[] = [];
      const { table } = await open((_roomId, version) => void told.push(version));
      await table.accept("!r:x", TYPE, "ci", "$1", { name: "ci" });
      await table.accept("!r:x", TYPE, "ci", "$1", { name: "ci" }); // the same: no change
      expect(await table.version("!r:x")).toBe(1);
      await table.accept("!r:x", TYPE, "ci", "$2", { name: "ci" }); // another event, same content
      await table.accept("!r:x", TYPE, "ci", "$2", { name: "ci", url: "https://example.org" }); // same event id, other content
      expect(await table.version("!r:x")).toBe(3);
      await table.forget("!r:x", TYPE, "none");
      await table.forgetRoom("!empty:x");
      expect(await table.version("!r:x")).toBe(3);
      expect(await table.version("!empty:x")).toBe(0);
      await table.accept("!r:x", TYPE, "cd", "$3", { name: "cd" });
      await table.forget("!r:x", TYPE, "ci");
      expect(await table.version("!r:x")).toBe(5);
      expect((await table.forRoom("!r:x")).map((row) => row.stateKey)).toEqual(["cd"]);
      await table.forgetRoom("!r:x");
      // The version goes on (a follower compares it); the room has no rows and is not listed.
      expect(await table.version("!r:x")).toBe(6);
      expect(await table.forRoom("!r:x")).toEqual([]);
      expect(await table.rooms()).toEqual([]);
      await table.forgetRoom("!r:x");
      expect(await table.version("!r:x")).toBe(6);
      expect(told).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it("leaves out a row whose content is not a JSON object", async () => {
      const { table, writeRawContent } = await open();
      await table.accept("!r:x", TYPE, "good", "$1", { name: "good" });
      for (const [key, text] of [["text", "not json"], ["list", "[1, 2]"], ["null", "null"], ["string", '"s"'], ["number", "1"]] as const) {
        await writeRawContent("!r:x", TYPE, key, text);
      }
      expect((await table.forRoom("!r:x")).map((row) => row.stateKey)).toEqual(["good"]);
    });

    it("two instances changing one room at once: both changes kept, each counted in the version", async () => {
      const { table, other } = await open();
      const b = await other();
      const names = Array.from({ length: 10 }, (_, i) => `hook-${i}`);
      await Promise.all(names.flatMap((name) => [table.accept("!r:x", TYPE, `a-${name}`, "$a", { name }), b.accept("!r:x", TYPE, `b-${name}`, "$b", { name })]));
      expect(await table.forRoom("!r:x")).toHaveLength(20);
      expect(await b.version("!r:x")).toBe(20);
    });
  });
}

const event = (type: string, stateKey: string, content: Record<string, unknown>, id: string): StateEvent => ({ type, state_key: stateKey, sender: "@a:x", content, event_id: id });
const CREATE = event("m.room.create", "", {}, "$create");

export function roomSnapshotsContract(engine: string, open: () => Promise<SnapshotsFixture>): void {
  describe(`RoomSnapshotsStore on ${engine}`, () => {
    it("saves, replaces, lists and forgets a room's state, as a second instance sees it", async () => {
      const { table, other } = await open();
      const b = await other();
      await table.save("!a:x", [CREATE]);
      await table.save("!b:x", []);
      await table.save("!b:x", [CREATE, CREATE]);
      expect(await b.get("!b:x")).toEqual([CREATE, CREATE]);
      expect([...(await b.roomIds())].sort()).toEqual(["!a:x", "!b:x"]);
      expect(await b.getMany(["!a:x", "!b:x", "!none:x"])).toEqual(new Map<string, unknown>([["!a:x", [CREATE]], ["!b:x", [CREATE, CREATE]]]));
      expect(await b.getMany([])).toEqual(new Map());
      await b.remove("!b:x");
      expect(await table.get("!b:x")).toBeNull();
      expect(await table.get("!none:x")).toBeNull();
    });

    it("drops a row that is not JSON, whether read alone or with others", async () => {
      const { table, writeRawState } = await open();
      await table.save("!good:x", [CREATE]);
      await writeRawState("!a:x", "not json");
      await writeRawState("!b:x", "{also not");
      expect(await table.get("!a:x")).toBeNull();
      expect(await table.getMany(["!good:x", "!b:x"])).toEqual(new Map([["!good:x", [CREATE]]]));
      expect([...(await table.roomIds())]).toEqual(["!good:x"]);
    });

    it("update reads, changes and writes a room's state; null leaves none, and a room with none stays without", async () => {
      const { table, writeRawState } = await open();
      await table.save("!a:x", [CREATE]);
      const seen: unknown[] = [];
      await table.update("!a:x", (saved) => (seen.push(saved), [...(saved as StateEvent[]), CREATE]));
      expect(await table.get("!a:x")).toEqual([CREATE, CREATE]);
      await table.update("!none:x", (saved) => (seen.push(saved), null));
      expect(await table.roomIds()).toEqual(new Set(["!a:x"]));
      await writeRawState("!bad:x", "not json");
      await table.update("!bad:x", (saved) => (seen.push(saved), null));
      expect(await table.roomIds()).toEqual(new Set(["!a:x"]));
      await table.update("!a:x", () => null);
      expect(await table.get("!a:x")).toBeNull();
      expect(seen).toEqual([[CREATE], null, null]);
    });

    it("two instances applying live state to one room at once: every change is kept", async () => {
      const { table, other } = await open();
      const log = createLogger("silent");
      const [a, b] = [new RoomSnapshots(table, log), new RoomSnapshots(await other(), log)];
      await a.save("!r:x", [CREATE]);
      const hooks = Array.from({ length: 12 }, (_, i) => event(TYPE, `h${i}`, { name: `h${i}` }, `$h${i}`));
      await Promise.all(hooks.map((hook, i) => (i % 2 === 0 ? a : b).noteLive("!r:x", hook)));
      const saved = await b.saved("!r:x");
      expect(saved?.map((e) => e.state_key).sort()).toEqual(["", ...hooks.map((h) => h.state_key)].sort());
    });

    it("the check after a start does not save over a live change another instance saved while it applied", async () => {
      const { table, other } = await open();
      const log = createLogger("silent");
      const [a, b] = [new RoomSnapshots(table, log), new RoomSnapshots(await other(), log)];
      const hook = (url: string) => event(TYPE, "ci", { name: "ci", url }, `$${url}`);
      await a.save("!r:x", [hook("https://saved")]);
      const differed = await a.check(["!r:x"], async () => [hook("https://homeserver")], async () => b.noteLive("!r:x", hook("https://live")));
      expect(differed).toBe(1);
      expect(await a.saved("!r:x")).toEqual([hook("https://live")]);
      // With nothing in between, what the homeserver shows is saved.
      await a.check(["!r:x"], async () => [hook("https://homeserver")], async () => undefined);
      expect(await a.saved("!r:x")).toEqual([hook("https://homeserver")]);
    });

    it("a saved row that is not a list of state events is dropped, alone or read a page at a time at start", async () => {
      const { table, writeRawState } = await open();
      const snapshots = new RoomSnapshots(table, createLogger("silent"));
      await snapshots.save("!good:x", [CREATE]);
      await writeRawState("!a:x", "[null]");
      await writeRawState("!b:x", JSON.stringify([{ type: "m.room.create" }]));
      await writeRawState("!c:x", "{}");
      expect(await snapshots.saved("!a:x")).toBeNull();
      // A live event finds no usable state to add to: the room stays without.
      await snapshots.noteLive("!c:x", CREATE);
      expect(await table.get("!c:x")).toBeNull();
      await writeRawState("!a:x", "[null]");
      const pages = snapshots.pages(["!a:x", "!good:x", "!b:x", "!none:x"]);
      expect(await Promise.all(["!good:x", "!a:x", "!b:x", "!none:x"].map((roomId) => pages.saved(roomId)))).toEqual([[CREATE], null, null, null]);
      expect([...(await snapshots.savedRooms())]).toEqual(["!good:x"]);
    });
  });
}
