// The outbound hook records' contract on SQLite: a second instance on the same file is this process after a restart.
import { randomBytes } from "node:crypto";
import { openDatabase } from "./database.js";
import { openOutboundHookRecords } from "./outbound-hook-records.js";
import { outboundHookRecordsContract } from "./outbound-hook-records.contract.js";

outboundHookRecordsContract("SQLite", async () => {
  const db = openDatabase(":memory:");
  const key = randomBytes(32);
  const announced: string[] = [];
  const open = () => openOutboundHookRecords({ db, pool: null }, key, (id) => announced.push(id));
  return {
    records: await open(),
    other: open,
    rawRows: async (table) => db.prepare<[], Record<string, unknown>>(`SELECT * FROM ${table}`).all(),
    announced,
  };
});
