import { mkdir } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";

/*
 * Where the crypto state lives. The WebAssembly build keeps it in IndexedDB, which Node lacks:
 * indexeddbshim provides one on SQLite files (better-sqlite3), so the device, its identity keys,
 * its Olm sessions and room keys survive a restart — also after SIGKILL, as each IndexedDB
 * transaction is a SQLite commit. The store is encrypted with a passphrase (the Rust core's
 * store cipher): the bot SDK passes an empty one, so the passphrase comes from configureCryptoStore.
 */

let passphrase: string | null = null;
let base: string | null = null;

/** The passphrase that protects the crypto stores, set once before the first machine starts. */
export function configureCryptoStore(settings: { passphrase: string }): void {
  if (settings.passphrase.length === 0) throw new Error("the crypto store's passphrase must not be empty");
  passphrase = settings.passphrase;
}

/**
 * The IndexedDB store name and passphrase for a store at `path` (a directory, made if missing).
 * indexeddbshim's file location is one setting for the process: it is the first store's parent
 * directory, and each store's files are there, named after its directory (the bot SDK gives each
 * user a directory of its own side by side).
 */
export async function openStore(path: string, given: string | null | undefined): Promise<{ name: string; passphrase: string }> {
  const secret = given ? given : passphrase;
  if (!secret) throw new Error("the crypto store has no passphrase: call configureCryptoStore({ passphrase }) before starting an OlmMachine with a store");
  const dir = resolve(path);
  if (base === null) {
    const parent = dirname(dir);
    await mkdir(parent, { recursive: true, mode: 0o700 });
    const holder = globalThis as { indexedDB?: unknown };
    if (holder.indexedDB === undefined) {
      const { default: setGlobalVars } = await import("indexeddbshim");
      setGlobalVars(globalThis as never, { checkOrigin: false, databaseBasePath: parent, deleteDatabaseFiles: false });
    }
    base = parent;
  }
  const name = relative(base, dir);
  if (name === "" || name.startsWith("..") || isAbsolute(name)) {
    throw new Error(`crypto stores of one process are kept side by side in ${base}: ${dir} is not in it`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return { name: `mwb-crypto:${name}`, passphrase: secret };
}
