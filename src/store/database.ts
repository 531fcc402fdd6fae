import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { MIGRATIONS } from "./migrations.js";

export type Db = Database.Database;

/**
 * Opens (creating if needed) the bridge's SQLite file and brings its schema up to date.
 * WAL + synchronous=NORMAL survives a killed process; FULL also survives power loss.
 */
export function openDatabase(path: string, opts: { synchronous?: "NORMAL" | "FULL" } = {}): Db {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `The database schema is version ${current}, newer than this bridge knows (${MIGRATIONS.length}). ` +
        "Upgrade the bridge or restore a matching backup.",
    );
  }
  if (current === MIGRATIONS.length) return;
  // Foreign keys are off while tables are rebuilt (SQLite's documented way to change a table a
  // foreign key points at), and checked before each migration commits.
  const foreignKeys = db.pragma("foreign_keys", { simple: true }) as number;
  db.pragma("foreign_keys = OFF");
  try {
    for (let version = current; version < MIGRATIONS.length; version++) {
      // IMMEDIATE: processes sharing the file (roles) that start at once migrate one at a time,
      // and each step is skipped by those that find it done.
      db.transaction(() => {
        if ((db.pragma("user_version", { simple: true }) as number) > version) return;
        db.exec(MIGRATIONS[version]!);
        const broken = db.pragma("foreign_key_check") as unknown[];
        if (broken.length > 0) throw new Error(`migration ${version + 1} left ${broken.length} rows pointing at missing rows: ${JSON.stringify(broken.slice(0, 3))}`);
        db.pragma(`user_version = ${version + 1}`);
      }).immediate();
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys ? "ON" : "OFF"}`);
  }
}
