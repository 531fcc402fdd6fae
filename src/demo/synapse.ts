// Launcher for a throwaway local Synapse (SQLite, loopback only), used by the e2e tests and `--demo`.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHmac, generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { openSync, closeSync } from "node:fs";
import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import * as yaml from "js-yaml";

const run = promisify(execFile);

export const SYNAPSE_VERSION = process.env.SYNAPSE_VERSION ?? "1.163.2";

type Log = (line: string) => void;

export interface SynapseHandle {
  url: string;
  serverName: string;
  port: number;
  dataDir: string;
  sharedSecret: string;
  registerUser(
    localpart: string,
    opts?: { admin?: boolean; password?: string },
  ): Promise<{ userId: string; accessToken: string }>;
  stop(): Promise<void>;
  /** Stops Synapse and starts it again on the same data, config and port (tests of what a restart does). */
  restart(): Promise<void>;
}

export function defaultSynapseCacheDir(version = SYNAPSE_VERSION): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "matrix-webhook-bridge", `synapse-${version}`);
}

async function venvWorks(dir: string): Promise<boolean> {
  const python = join(dir, "bin", "python");
  try {
    await run(python, ["-c", "import synapse"], { timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

/** Returns the venv's python, installing matrix-synapse into the cache dir first if needed. */
export async function ensureSynapseInstalled(
  opts: { cacheDir?: string; log?: Log } = {},
): Promise<string> {
  const dir = opts.cacheDir ?? defaultSynapseCacheDir();
  const log = opts.log ?? (() => {});
  const python = join(dir, "bin", "python");
  if (await venvWorks(dir)) return python;

  const system = process.env.SYNAPSE_PYTHON ?? "python3";
  let version: string;
  try {
    const { stdout } = await run(system, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]);
    version = stdout.trim();
  } catch (err) {
    throw new Error(`Synapse needs Python >= 3.10, but '${system}' could not be run: ${(err as Error).message}`);
  }
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major < 3 || (major === 3 && minor < 10)) {
    throw new Error(`Synapse needs Python >= 3.10, but '${system}' is ${version} (set SYNAPSE_PYTHON to another interpreter)`);
  }

  // Install beside the target and rename at the end: a concurrent installer never sees a half-built venv.
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(join(dir, ".."), { recursive: true });
  log(`installing matrix-synapse==${SYNAPSE_VERSION} into ${dir} (one-time, takes a minute)`);
  try {
    await run(system, ["-m", "venv", tmp], { timeout: 120_000 });
    await run(join(tmp, "bin", "python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", `matrix-synapse==${SYNAPSE_VERSION}`], {
      timeout: 15 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // execFile's message already carries the command's stderr.
    throw new Error(`installing matrix-synapse==${SYNAPSE_VERSION} into ${dir} failed: ${(err as Error).message.slice(-3000)}`);
  }
  if (await venvWorks(dir)) {
    await rm(tmp, { recursive: true, force: true }); // someone else finished first
    return python;
  }
  await rm(dir, { recursive: true, force: true }); // a broken leftover
  try {
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (!(await venvWorks(dir))) throw err;
  }
  // A racing installer may be swapping in its own copy right now: give it a moment.
  for (let i = 0; !(await venvWorks(dir)); i++) {
    if (i >= 5) throw new Error(`matrix-synapse was installed into ${dir} but 'import synapse' fails`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  log(`matrix-synapse ${SYNAPSE_VERSION} installed`);
  return python;
}

/** A loopback port free right now (the usual small race before someone binds it is accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** Shared-secret admin registration (GET nonce, POST with HMAC-SHA1 mac). */
export async function registerWithSharedSecret(
  hsUrl: string,
  sharedSecret: string,
  localpart: string,
  opts: { admin?: boolean; password?: string } = {},
): Promise<{ userId: string; accessToken: string }> {
  const endpoint = `${hsUrl}/_synapse/admin/v1/register`;
  const nonceRes = await fetch(endpoint);
  if (!nonceRes.ok) throw new Error(`GET ${endpoint} → ${nonceRes.status} ${await nonceRes.text()}`);
  const { nonce } = (await nonceRes.json()) as { nonce: string };
  const password = opts.password ?? randomBytes(16).toString("hex");
  const admin = opts.admin ?? false;
  const mac = createHmac("sha1", sharedSecret)
    .update([nonce, localpart, password, admin ? "admin" : "notadmin"].join("\0"))
    .digest("hex");
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ nonce, username: localpart, password, admin, mac }),
  });
  const body = (await res.json().catch(() => ({}))) as { user_id?: string; access_token?: string; errcode?: string; error?: string };
  if (!res.ok || !body.user_id || !body.access_token) {
    throw new Error(`registering ${localpart} failed: ${res.status} ${body.errcode ?? ""} ${body.error ?? ""}`.trim());
  }
  return { userId: body.user_id, accessToken: body.access_token };
}

// Synapse reads `ed25519 <key id> <unpadded base64 seed>`; generating it here saves a Python start.
function signingKeyLine(): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url");
  return `ed25519 a_${randomBytes(3).toString("hex")} ${seed.toString("base64").replace(/=+$/, "")}`;
}

const lots = { per_second: 1000, burst_count: 1000 };

/** One entry of homeserver.yaml's `modules:` list (e.g. synapse-module/'s pre-send check). */
export interface SynapseModuleEntry {
  module: string;
  config: Record<string, unknown>;
}

export function homeserverConfig(o: {
  dataDir: string;
  port: number;
  serverName: string;
  sharedSecret: string;
  appserviceRegistrationFiles: string[];
  modules?: SynapseModuleEntry[];
}): Record<string, unknown> {
  return {
    ...(o.modules?.length ? { modules: o.modules } : {}),
    server_name: o.serverName,
    pid_file: join(o.dataDir, "homeserver.pid"),
    public_baseurl: `http://127.0.0.1:${o.port}/`,
    listeners: [
      { port: o.port, bind_addresses: ["127.0.0.1"], type: "http", tls: false, x_forwarded: false, resources: [{ names: ["client"], compress: false }] },
    ],
    database: { name: "sqlite3", args: { database: join(o.dataDir, "homeserver.db") } },
    signing_key: signingKeyLine(),
    media_store_path: join(o.dataDir, "media_store"),
    max_upload_size: "300M",
    registration_shared_secret: o.sharedSecret,
    enable_registration: false,
    bcrypt_rounds: 4, // throwaway accounts: registering them should be cheap
    report_stats: false,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    federation_domain_whitelist: [], // no federation at all
    app_service_config_files: o.appserviceRegistrationFiles,
    // End-to-end encryption for appservices: to-device events (MSC2409), device lists and key
    // counts (MSC3202) in transactions; only registrations that ask for them get them.
    experimental_features: { msc2409_to_device_messages_enabled: true, msc3202_transaction_extensions: true },
    // No presence: nothing here uses it, and with receive_ephemeral every client's presence change
    // becomes a transaction to the appservice (failing, and backing the homeserver off, while no
    // bridge listens between tests).
    presence: { enabled: false },
    rc_key_requests: lots,
    caches: { sync_response_cache_duration: 0 }, // a repeated /sync must not be served stale
    rc_message: lots,
    rc_registration: lots,
    rc_login: { address: lots, account: lots, failed_attempts: lots },
    rc_joins: { local: lots, remote: lots },
    rc_joins_per_room: lots,
    rc_invites: { per_room: lots, per_user: lots, per_issuer: lots },
    rc_room_creation: lots,
    rc_media_create: lots,
    rc_admin_redaction: lots,
    rc_3pid_validation: lots,
    rc_presence: { per_user: lots },
    rc_delayed_event_mgmt: lots,
    rc_reports: lots,
    rc_profile: lots,
  };
}

// PR_SET_PDEATHSIG makes the kernel SIGTERM Synapse if this Node process dies, even by SIGKILL.
const LAUNCHER = `
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    if os.getppid() != int(sys.argv[1]): sys.exit(1)
except (OSError, AttributeError):
    pass
os.execv(sys.executable, [sys.executable, "-m", "synapse.app.homeserver", "-c", sys.argv[2]])
`;

async function tail(path: string, lines = 40): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.split("\n").slice(-lines).join("\n");
}

export async function startSynapse(opts: {
  dataDir: string;
  port?: number;
  serverName?: string;
  appserviceRegistrationFiles?: string[];
  log?: Log;
  cacheDir?: string;
  readyTimeoutMs?: number;
  modules?: SynapseModuleEntry[];
  /** Folders put first on Synapse's PYTHONPATH, so modules load from a checkout without pip install. */
  pythonPath?: string[];
}): Promise<SynapseHandle> {
  const log = opts.log ?? (() => {});
  const python = await ensureSynapseInstalled({ cacheDir: opts.cacheDir, log });
  const serverName = opts.serverName ?? "localhost";
  const port = opts.port ?? (await freePort());
  const sharedSecret = randomBytes(24).toString("hex");
  const dataDir = opts.dataDir;
  await mkdir(dataDir, { recursive: true });
  for (const f of opts.appserviceRegistrationFiles ?? []) await access(f); // fail here, not inside Synapse

  const configPath = join(dataDir, "homeserver.yaml");
  const config = homeserverConfig({ dataDir, port, serverName, sharedSecret, appserviceRegistrationFiles: opts.appserviceRegistrationFiles ?? [], modules: opts.modules });
  await writeFile(configPath, yaml.dump(config), { mode: 0o600 });

  const logPath = join(dataDir, "homeserver.log");
  const url = `http://127.0.0.1:${port}`;
  const pythonPath = [...(opts.pythonPath ?? []), ...(process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [])].join(delimiter);
  let stop = await launch({ python, configPath, logPath, url, readyTimeoutMs: opts.readyTimeoutMs ?? 60_000, log, pythonPath });
  return {
    url,
    serverName,
    port,
    dataDir,
    sharedSecret,
    registerUser: (localpart, o) => registerWithSharedSecret(url, sharedSecret, localpart, o),
    stop: () => stop(),
    async restart() {
      await stop();
      stop = await launch({ python, configPath, logPath, url, readyTimeoutMs: opts.readyTimeoutMs ?? 60_000, log, pythonPath });
    },
  };
}

/** Starts Synapse with the config file and waits (bounded) until it answers; resolves with its stop. */
async function launch(o: {
  python: string;
  configPath: string;
  logPath: string;
  url: string;
  readyTimeoutMs: number;
  log: Log;
  pythonPath: string;
}): Promise<() => Promise<void>> {
  const { python, configPath, logPath, url, log } = o;
  const fd = openSync(logPath, "a");
  const child: ChildProcess = spawn(python, ["-c", LAUNCHER, String(process.pid), configPath], {
    cwd: join(configPath, ".."),
    stdio: ["ignore", fd, fd],
    // No .pyc files: a module loaded from the repo's folder must not leave __pycache__ behind.
    env: { ...process.env, PYTHONUNBUFFERED: "1", ...(o.pythonPath ? { PYTHONPATH: o.pythonPath, PYTHONDONTWRITEBYTECODE: "1" } : {}) },
  });
  closeSync(fd);
  let exited: { code: number | null; signal: string | null } | null = null;
  const exitPromise = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.removeListener("exit", killOnExit);
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exitPromise;
    clearTimeout(timer);
  };

  const started = Date.now();
  const deadline = started + o.readyTimeoutMs;
  log(`starting Synapse ${SYNAPSE_VERSION} on ${url} (log: ${logPath})`);
  for (;;) {
    if (exited) {
      const { code, signal } = exited;
      throw new Error(`Synapse exited during startup (code ${code}, signal ${signal}); log tail:\n${await tail(logPath)}`);
    }
    try {
      const res = await fetch(`${url}/_matrix/client/versions`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Synapse not ready after ${Date.now() - started} ms; log tail:\n${await tail(logPath)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`Synapse ready after ${Date.now() - started} ms`);
  return stop;
}
