// A real PostgreSQL for tests and benchmarks: Debian's server binaries (apt-get install
// postgresql; .ci/run installs them), a fresh cluster in a temporary directory, listening on a
// loopback port only, stopped and removed at the end. initdb refuses to run as root (CI runs as
// root), so the cluster then belongs to the unprivileged `postgres` user that the package creates.
import { execFile } from "node:child_process";
import { chmod, chown, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../src/demo/synapse.js";

const run = promisify(execFile);

export interface PostgresHandle {
  /** postgres://bridge@127.0.0.1:<port>/postgres (trust authentication, loopback only). */
  url: string;
  port: number;
  /** A URL for another database of the same server (created by createDatabase). */
  urlOf(database: string): string;
  createDatabase(name: string): Promise<string>;
  /** The server's main process (postmaster), for benchmarks that count its CPU. */
  pid(): Promise<number>;
  stop(): Promise<void>;
}

/** The newest installed server's bin directory (PG_BIN overrides), or a clear error. */
async function serverBinaries(): Promise<string> {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = await readdir(root).catch(() => [] as string[]);
  const newest = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`PostgreSQL's server is not installed (nothing in ${root}): run \`apt-get install postgresql\`, or set PG_BIN to its bin directory`);
  return join(root, newest, "bin");
}

export interface StartPostgresOptions {
  /** fsync and synchronous_commit off: for tests, where a crash of the machine loses nothing of value. Benchmarks keep them on. */
  durable?: boolean;
  /** More postgresql.conf lines (e.g. shared_preload_libraries = 'pg_stat_statements' to see what a benchmark's queries cost). */
  settings?: string[];
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresHandle> {
  const bin = await serverBinaries();
  const dir = await mkdtemp(join(tmpdir(), "mwb-pg-"));
  const dataDir = join(dir, "data");
  const asRoot = userInfo().uid === 0;
  // Run the server's tools as `postgres` when we are root; as ourselves otherwise.
  const owner = asRoot ? await postgresUser() : null;
  if (owner) await chown(dir, owner.uid, owner.gid);
  await chmod(dir, 0o700);
  const tool = (name: string, args: string[]) => (owner ? run("runuser", ["-u", "postgres", "--", join(bin, name), ...args]) : run(join(bin, name), args));
  await tool("initdb", ["-D", dataDir, "-U", "bridge", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
  const port = await freePort();
  const settings = [
    `listen_addresses = '127.0.0.1'`, `port = ${port}`, `unix_socket_directories = '${dir}'`, `max_connections = 200`,
    ...(opts.durable ? [] : ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]),
    ...(opts.settings ?? []),
  ];
  const conf = join(dir, "test.conf");
  await writeFile(conf, settings.join("\n") + "\n");
  if (owner) await chown(conf, owner.uid, owner.gid);
  await run("sh", ["-c", `echo "include '${conf}'" >> '${join(dataDir, "postgresql.conf")}'`]);
  await tool("pg_ctl", ["start", "-w", "-t", "60", "-D", dataDir, "-l", join(dir, "server.log")]);
  const urlOf = (database: string): string => `postgres://bridge@127.0.0.1:${port}/${database}`;
  let stopped = false;
  return {
    url: urlOf("postgres"),
    port,
    urlOf,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      await tool("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "bridge", name]);
      return urlOf(name);
    },
    async pid(): Promise<number> {
      const first = (await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0] ?? "";
      return Number(first);
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await tool("pg_ctl", ["stop", "-w", "-t", "30", "-m", "fast", "-D", dataDir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run("id", ["postgres"]).catch(() => {
    throw new Error("running as root, and there is no `postgres` user to own the test cluster (Debian's postgresql package creates it)");
  });
  const uid = Number(/uid=(\d+)/.exec(stdout)?.[1]);
  const gid = Number(/gid=(\d+)/.exec(stdout)?.[1]);
  return { uid, gid };
}
