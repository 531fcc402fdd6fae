import { randomBytes } from "node:crypto";
import type pg from "pg";
import { pgClient } from "./pg-store.js";

export const CHANGES_CHANNEL = "mwb_changes";

/**
 * What one bridge process changed that the others hold in memory, announced once it is stored.
 * - room: the room's hooks changed (state applied, bot joined or left); its state is read again.
 * - hook: a hook's token, suspension, signing keys or TLS material changed; caches drop it.
 * - replies: chat replies were stored; the process that posts them looks now.
 * - resync (local only): this process was not listening for a while; everything is read again.
 */
export type StoreChange =
  | { kind: "room"; id: string }
  | { kind: "hook"; id: string }
  | { kind: "replies" }
  | { kind: "resync" };

type Announced = Exclude<StoreChange, { kind: "resync" }>;

/** Announces changes to the other processes and hears theirs; a process never hears its own. */
export interface ChangeFeed {
  publish(change: Announced): void;
  onChange(listener: (change: StoreChange) => void): void;
  close(): Promise<void>;
}

/** For one process alone (role all on SQLite): nobody else holds anything to drop. */
export const NO_OTHER_PROCESSES: ChangeFeed = {
  publish: () => undefined,
  onChange: () => undefined,
  close: async () => undefined,
};

/** The wire form: `<process> <kind> <id>`; room and hook ids hold no space (Matrix ids, ep_/bt_ ids). */
export function encodeChange(from: string, change: Announced): string {
  return change.kind === "replies" ? `${from} replies` : `${from} ${change.kind} ${change.id}`;
}

/** A change heard from another process, or null (this process's own, or not one this bridge sends). */
export function decodeChange(self: string, payload: string): Announced | null {
  const [from, kind, id, ...rest] = payload.split(" ");
  if (!from || from === self || rest.length > 0) return null;
  if (kind === "replies" && id === undefined) return { kind };
  if ((kind === "room" || kind === "hook") && id) return { kind, id };
  return null;
}

export interface PgChangeFeedOptions {
  url: string;
  /** Told when announcing fails or the listening connection breaks (it reconnects every second). */
  onError: (err: unknown) => void;
}

/**
 * Changes over PostgreSQL's LISTEN/NOTIFY, on a connection of its own. A change is announced after
 * it is stored, so a process that hears it reads the new value. NOTIFY is not kept for a listener
 * that is away: after its connection broke, this process hears `resync` and reads everything again.
 */
export class PgChangeFeed implements ChangeFeed {
  private readonly self = randomBytes(6).toString("hex");
  private readonly listeners: Array<(change: StoreChange) => void> = [];
  private client: pg.Client | null = null;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(private readonly pool: pg.Pool, private readonly opts: PgChangeFeedOptions) {}

  static async open(pool: pg.Pool, opts: PgChangeFeedOptions): Promise<PgChangeFeed> {
    const feed = new PgChangeFeed(pool, opts);
    await feed.listen();
    return feed;
  }

  publish(change: Announced): void {
    this.pool.query("SELECT pg_notify($1, $2)", [CHANGES_CHANNEL, encodeChange(this.self, change)]).catch((err: unknown) => this.opts.onError(err));
  }

  onChange(listener: (change: StoreChange) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      // A listener's failure (the store file busy, say) must not take the process down from pg's event.
      try {
        listener(change);
      } catch (err) {
        this.opts.onError(err);
      }
    }
  }

  private async listen(): Promise<void> {
    const client = pgClient(this.opts.url);
    client.on("notification", (msg) => {
      const change = msg.channel === CHANGES_CHANNEL && msg.payload ? decodeChange(this.self, msg.payload) : null;
      if (change) this.emit(change);
    });
    const broken = (err?: unknown) => {
      if (this.client !== client) return;
      if (err) this.opts.onError(err);
      this.client = null;
      client.end().catch(() => undefined);
      this.listenLater();
    };
    client.on("error", broken);
    client.on("end", () => broken());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners("end");
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) await client.end().catch(() => undefined);
    else this.client = client;
  }

  private listenLater(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.closed) return;
      this.listen().then(
        () => this.emit({ kind: "resync" }),
        (err: unknown) => {
          this.opts.onError(err);
          this.listenLater();
        },
      );
    }, 1000);
    this.retry.unref();
  }
}
