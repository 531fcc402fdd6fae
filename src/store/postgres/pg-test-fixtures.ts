// Shared by the tests of the PostgreSQL engine (the "postgres" vitest project, whose global setup
// starts a real server): a fresh database per call, so that tests never see each other's rows.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

/** Creates an empty database on the test server and returns its URL. */
export async function freshDatabase(prefix = "t"): Promise<string> {
  const server = inject("postgresUrl");
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}
