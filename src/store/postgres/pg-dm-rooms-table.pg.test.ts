// The DM rooms' contract (../../matrix/direct-messenger.contract.ts) on a real PostgreSQL, two pools as two processes.
import { directMessengerContract } from "../../matrix/direct-messenger.contract.js";
import { PgDmRoomsTable } from "./pg-dm-rooms-table.js";
import { openPgStore } from "./pg-store.js";
import { freshDatabase } from "./pg-test-fixtures.js";

directMessengerContract("PostgreSQL", async () => {
  const url = await freshDatabase("dm");
  const [a, b] = [await openPgStore({ url, poolSize: 2 }), await openPgStore({ url, poolSize: 2 })];
  return {
    rooms: new PgDmRoomsTable(a),
    other: new PgDmRoomsTable(b),
    close: async () => {
      await a.end();
      await b.end();
    },
  };
});
