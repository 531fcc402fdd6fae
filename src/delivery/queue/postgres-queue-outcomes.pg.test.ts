// How outcome writes commit (PostgreSQL migration 9): without waiting for the disk, for their own
// transaction only. Stored transactions, on the same connections, keep the server's setting.
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openPgStore } from "../../store/postgres/pg-store.js";
import { freshDatabase } from "../../store/postgres/pg-test-fixtures.js";

describe("outcome writes' commits (real server)", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
  });

  it("do not wait for the disk, and leave the connection's setting as it was once committed", async () => {
    const url = await freshDatabase("outcomes");
    const pool = await openPgStore({ url, poolSize: 1 });
    cleanups.push(() => pool.end());
    const client = await pool.connect();
    cleanups.push(async () => client.release());
    const setting = async () => (await client.query<{ synchronous_commit: string }>("SHOW synchronous_commit")).rows[0]!.synchronous_commit;
    // The test server runs without waiting for the disk at all (spec/harness/postgres.ts): this
    // connection waits, as a production server's do.
    await client.query("SET synchronous_commit = on");
    expect(await setting()).toBe("on");
    await client.query("BEGIN");
    // A write of no outcomes: the function's own setting, whatever it writes.
    await client.query("SELECT mwb_record_outcomes($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)", [[], [], [], [], [], [], [], [], [], [], [], [], [], [], [], ""]);
    expect(await setting()).toBe("off");
    await client.query("COMMIT");
    // The connection's next statement (a transaction being stored, say) waits for the disk again.
    expect(await setting()).toBe("on");
  });
});
