// The DM rooms' store under the messenger, the same on both engines: direct-messenger.test.ts
// runs this on a SQLite file, src/store/postgres/pg-dm-rooms-table.pg.test.ts on a real PostgreSQL.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../observability/logger.js";
import type { DmRoomsStore } from "../store/dm-rooms-table.js";
import { DirectMessenger } from "./direct-messenger.js";
import type { MatrixPort } from "./port.js";

export interface OpenedDmRooms {
  /** Two views of one store, as two processes sharing it would have. */
  rooms: DmRoomsStore;
  other: DmRoomsStore;
  close(): Promise<void>;
}

/** A homeserver that makes DM rooms and says who is in them. */
function fakeMatrix() {
  const created: string[] = [];
  const sent: Array<{ roomId: string; text: string }> = [];
  const left = new Set<string>();
  const matrix = {
    createDirectRoom: async (userId: string) => {
      const roomId = `!dm${created.length + 1}:x`;
      created.push(`${userId} ${roomId}`);
      return roomId;
    },
    membership: async (roomId: string) => (left.has(roomId) ? "leave" : "join"),
    sendNotice: async (roomId: string, text: string) => {
      sent.push({ roomId, text });
    },
  } as unknown as MatrixPort;
  return { matrix, created, sent, left };
}

export function directMessengerContract(engine: string, open: () => Promise<OpenedDmRooms>): void {
  describe(`DM rooms on ${engine}`, () => {
    let opened: OpenedDmRooms;
    beforeEach(async () => {
      opened = await open();
    });
    afterEach(async () => opened.close());

    it("keeps one room per user, replaced when set again, and unknown users have none", async () => {
      expect(await opened.rooms.get("@a:x")).toBeNull();
      await opened.rooms.set("@a:x", "!one:x");
      await opened.rooms.set("@b:x", "!two:x");
      await opened.rooms.set("@a:x", "!three:x");
      expect(await opened.other.get("@a:x")).toBe("!three:x");
      expect(await opened.other.get("@b:x")).toBe("!two:x");
    });

    it("reuses the room another process made, and makes a new one once the user left it", async () => {
      const { matrix, created, sent, left } = fakeMatrix();
      const log = createLogger("silent");
      await new DirectMessenger(matrix, opened.rooms, log).send("@a:x", "first");
      await new DirectMessenger(matrix, opened.other, log).send("@a:x", "second");
      expect(created).toEqual(["@a:x !dm1:x"]);
      left.add("!dm1:x");
      await new DirectMessenger(matrix, opened.other, log).send("@a:x", "third");
      expect(created).toEqual(["@a:x !dm1:x", "@a:x !dm2:x"]);
      expect(sent).toEqual([{ roomId: "!dm1:x", text: "first" }, { roomId: "!dm1:x", text: "second" }, { roomId: "!dm2:x", text: "third" }]);
      expect(await opened.rooms.get("@a:x")).toBe("!dm2:x");
    });

    it("still sends when the room cannot be recorded", async () => {
      const { matrix, sent } = fakeMatrix();
      const broken: DmRoomsStore = { get: async () => null, set: async () => { throw new Error("store unavailable"); } };
      await new DirectMessenger(matrix, broken, createLogger("silent")).send("@a:x", "secret");
      expect(sent).toEqual([{ roomId: "!dm1:x", text: "secret" }]);
    });
  });
}
