// Shared by the tests of the PostgreSQL engine (the "postgres" vitest project, whose global setup
// starts a real server): a fresh database per call, so that tests never see each other's rows.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { parseConfig } from "../../config/load.js";
import type { BridgeConfig } from "../../config/types.js";

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

/** The smallest bridge config on store.engine postgres with this database (a random store key). */
export function postgresBridgeConfig(url: string): BridgeConfig {
  return parseConfig(`
homeserver:
  url: http://hs.test:8008
  domain: example.org
store:
  encryptionKey: ${randomBytes(32).toString("base64")}
  engine: postgres
  postgres:
    url: ${url}
`);
}

/** A statement a pool was given (watchStatements). */
export interface WatchedStatement {
  text: string;
  values: unknown[];
}

/** Records every statement given to the pool's `query` from now on (the pool still runs them): what a test says goes, or does not go, to the server. */
export function watchStatements(pool: pg.Pool): WatchedStatement[] {
  const seen: WatchedStatement[] = [];
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
    if (typeof args[0] === "string") seen.push({ text: args[0], values: Array.isArray(args[1]) ? args[1] : [] });
    return query(...args);
  };
  return seen;
}
