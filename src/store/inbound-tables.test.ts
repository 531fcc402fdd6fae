// The inbound tables' contract on SQLite: a second instance on the same file is another process.
import { randomBytes } from "node:crypto";
import { openDatabase } from "./database.js";
import { InboundDeliveriesTable } from "./inbound-deliveries-table.js";
import { InboundHooksTable } from "./inbound-hooks-table.js";
import { InboundPostsTable } from "./inbound-posts-table.js";
import { inboundDeliveriesContract, inboundHooksContract, inboundPostsContract } from "./inbound-tables.contract.js";

inboundHooksContract("SQLite", async (changed) => {
  const db = openDatabase(":memory:");
  const key = randomBytes(32);
  return {
    hooks: new InboundHooksTable(db, key, changed),
    other: async (otherChanged) => new InboundHooksTable(db, key, otherChanged),
    rawRows: async () => db.prepare<[], Record<string, unknown>>("SELECT * FROM inbound_hooks").all(),
  };
});

inboundPostsContract("SQLite", async () => {
  const db = openDatabase(":memory:");
  return { table: new InboundPostsTable(db), other: async () => new InboundPostsTable(db) };
});

inboundDeliveriesContract("SQLite", async () => {
  const db = openDatabase(":memory:");
  return { table: new InboundDeliveriesTable(db), other: async () => new InboundDeliveriesTable(db) };
});
