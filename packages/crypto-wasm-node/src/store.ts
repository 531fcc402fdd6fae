import { chmod, mkdir } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";

/*
 * Where the crypto state lives. The WebAssembly build keeps it in IndexedDB, which Node lacks:
 * indexeddbshim provides one on SQLite files (better-sqlite3), so the device, its identity keys,
 * its Olm sessions and room keys survive a restart — also after SIGKILL, as each IndexedDB
 * transaction is a SQLite commit. The store is encrypted with a passphrase (the Rust core's
 * store cipher): the bot SDK passes an empty one, so the passphrase comes from configureCryptoStore.
 * indexeddbshim's file location is one setting for the process: every store's files are in the
 * configured directory, named after the store's path inside it (the bot SDK gives each user and
 * device a directory of its own under one base).
 */

interface StoreSettings {
  passphrase: string;
  /** The directory every store path is inside; its files go there (made if missing, mode 700). */
  directory: string;
}

let settings: StoreSettings | null = null;
let setup: Promise<void> | null = null;
// Marks the IndexedDB this package installed, so that one put there by anything else is refused.
const OURS = Symbol.for("matrix-webhook-bridge.crypto-wasm-node.indexedDB");

/** The passphrase that protects the crypto stores and the directory they are in, set before the first machine with a store starts. */
export function configureCryptoStore(given: StoreSettings): void {
  if (given.passphrase.length === 0) throw new Error("the crypto store's passphrase must not be empty");
  const directory = resolve(given.directory);
  if (directory === resolve("/")) throw new Error("the crypto store's directory must not be the file system's root");
  if (setup !== null && settings?.directory !== directory) throw new Error(`the crypto stores are already in ${settings?.directory}; one directory per process`);
  settings = { passphrase: given.passphrase, directory };
}

/** The IndexedDB store name and passphrase for a store at `path` (inside the configured directory). */
export async function openStore(path: string, given: string | null | undefined): Promise<{ name: string; passphrase: string }> {
  if (!settings) throw new Error("the crypto store is not configured: call configureCryptoStore({ passphrase, directory }) before starting an OlmMachine with a store");
  const { directory } = settings;
  const name = relative(directory, resolve(path));
  if (name === "" || name === ".." || name.startsWith(`..${sep}`) || isAbsolute(name)) {
    throw new Error(`a crypto store must be inside ${directory}: ${resolve(path)} is not`);
  }
  setup ??= installIndexedDb(directory).catch((err: unknown) => {
    setup = null;
    throw err;
  });
  await setup;
  return { name: `mwb-crypto:${name.split(sep).join("/")}`, passphrase: given ? given : settings.passphrase };
}

/**
 * Whether a store was ever made at `path` (inside the configured directory): a machine opened on
 * a path with none starts a new account, which must not reuse a device id the homeserver knows.
 */
export async function cryptoStoreExists(path: string): Promise<boolean> {
  const { name } = await openStore(path, null);
  const factory = (globalThis as { indexedDB?: { databases(): Promise<{ name?: string }[]> } }).indexedDB;
  if (!factory) throw new Error("no IndexedDB installed for the crypto store");
  // The Rust core names its databases after the store: `<name>::matrix-sdk-crypto`, `…-meta`.
  return (await factory.databases()).some((db) => db.name === name || db.name?.startsWith(`${name}::`) === true);
}

async function installIndexedDb(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  // The files hold encrypted state, but nobody else needs to list or read them.
  await chmod(directory, 0o700);
  const holder = globalThis as { indexedDB?: unknown; [OURS]?: boolean };
  if (holder.indexedDB !== undefined && !holder[OURS]) {
    throw new Error("globalThis.indexedDB is already set by something else: the crypto state would not be kept in the configured directory");
  }
  if (holder.indexedDB === undefined) {
    const { default: setGlobalVars } = await import("indexeddbshim");
    setGlobalVars(globalThis as never, { checkOrigin: false, databaseBasePath: directory, deleteDatabaseFiles: false });
    holder[OURS] = true;
  }
}
