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

/**
 * A homeserver that makes DM rooms and says who is in them. `together`: room creations answer
 * only once that many were asked for (so that two senders both looked the user's room up first).
 */
function fakeMatrix(together = 1) {
  let allAsked: () => void = () => undefined;
  const asked = new Promise<void>((resolve) => (allAsked = resolve));
  const created: string[] = [];
  const sent: Array<{ roomId: string; text: string }> = [];
  const left = new Set<string>();
  const botLeft: string[] = [];
  const matrix = {
    leaveRoom: async (roomId: string) => void botLeft.push(roomId),
    createDirectRoom: async (userId: string) => {
      const roomId = `!dm${created.length + 1}:x`;
      created.push(`${userId} ${roomId}`);
      if (created.length >= together) allAsked();
      await asked;
      return roomId;
    },
    membership: async (roomId: string) => (left.has(roomId) ? "leave" : "join"),
    sendNotice: async (roomId: string, text: string) => {
      sent.push({ roomId, text });
    },
  } as unknown as MatrixPort;
  return { matrix, created, sent, left, botLeft };
}

export function directMessengerContract(engine: string, open: () => Promise<OpenedDmRooms>): void {
  describe(`DM rooms on ${engine}`, () => {
    let opened: OpenedDmRooms;
    beforeEach(async () => {
      opened = await open();
    });
    afterEach(async () => opened.close());

    it("keeps one room per user, replaced only while it is still the one the replacer saw; unknown users have none", async () => {
      expect(await opened.rooms.get("@a:x")).toBeNull();
      expect(await opened.rooms.claim("@a:x", null, "!one:x")).toBe("!one:x");
      expect(await opened.rooms.claim("@b:x", null, "!two:x")).toBe("!two:x");
      // Another process saw no room either, and made one: the first recorded stays.
      expect(await opened.other.claim("@a:x", null, "!late:x")).toBe("!one:x");
      expect(await opened.other.claim("@a:x", "!one:x", "!three:x")).toBe("!three:x");
      expect(await opened.rooms.claim("@a:x", "!one:x", "!stale:x")).toBe("!three:x");
      expect(await opened.other.get("@a:x")).toBe("!three:x");
      expect(await opened.other.get("@b:x")).toBe("!two:x");
    });

    it("two processes sending a user's first message at once: one DM room is kept, the other is left", async () => {
      const { matrix, created, sent, botLeft } = fakeMatrix(2);
      const log = createLogger("silent");
      await Promise.all([new DirectMessenger(matrix, opened.rooms, log).send("@a:x", "one"), new DirectMessenger(matrix, opened.other, log).send("@a:x", "two")]);
      expect(created).toHaveLength(2);
      const kept = await opened.rooms.get("@a:x");
      expect(sent.map((s) => s.roomId)).toEqual([kept, kept]);
      expect(botLeft).toEqual(["!dm1:x", "!dm2:x"].filter((r) => r !== kept));
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
      const broken: DmRoomsStore = { get: async () => null, claim: async () => { throw new Error("store unavailable"); } };
      await new DirectMessenger(matrix, broken, createLogger("silent")).send("@a:x", "secret");
      expect(sent).toEqual([{ roomId: "!dm1:x", text: "secret" }]);
    });
  });
}
