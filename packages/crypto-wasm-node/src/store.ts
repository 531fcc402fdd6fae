import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";

/*
 * Where the crypto state lives. The WebAssembly build keeps it in IndexedDB, which Node lacks:
 * indexeddbshim provides one on SQLite files (better-sqlite3), so the device, its identity keys,
 * its Olm sessions and room keys survive a restart — also after SIGKILL, as each IndexedDB
 * transaction is a SQLite commit. The store is encrypted with a passphrase (the Rust core's
 * store cipher): the bot SDK passes an empty one, so the passphrase comes from configureCryptoStore.
 */

let passphrase: string | null = null;
let directory: string | null = null;

/** The passphrase that protects the crypto store, set once before the first machine starts. */
export function configureCryptoStore(settings: { passphrase: string }): void {
  if (settings.passphrase.length === 0) throw new Error("the crypto store's passphrase must not be empty");
  passphrase = settings.passphrase;
}

/** The IndexedDB database names and passphrase for a store at `path` (a directory, made if missing). */
export async function openStore(path: string, given: string | null | undefined): Promise<{ name: string; passphrase: string }> {
  const secret = given ? given : passphrase;
  if (!secret) throw new Error("the crypto store has no passphrase: call configureCryptoStore({ passphrase }) before starting an OlmMachine with a store");
  const dir = resolve(path);
  // indexeddbshim's file location is one setting for the process.
  if (directory !== null && directory !== dir) throw new Error(`one crypto store directory per process: ${directory} is in use, ${dir} was asked for`);
  if (directory === null) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const holder = globalThis as { indexedDB?: unknown };
    if (holder.indexedDB === undefined) {
      const { default: setGlobalVars } = await import("indexeddbshim");
      setGlobalVars(globalThis as never, { checkOrigin: false, databaseBasePath: dir, deleteDatabaseFiles: false });
    }
    directory = dir;
  }
  return { name: "matrix-sdk-crypto", passphrase: secret };
}
