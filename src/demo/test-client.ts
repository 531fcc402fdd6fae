// Minimal Matrix client-server API client for one user, over global fetch (tests and the demo).
import { randomBytes } from "node:crypto";

export interface MatrixEvent {
  event_id: string;
  type: string;
  sender: string;
  room_id?: string;
  state_key?: string;
  origin_server_ts?: number;
  content: Record<string, unknown>;
  [key: string]: unknown;
}

export class MatrixApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly errcode: string | undefined,
    readonly body: string,
  ) {
    super(`${method} ${path} → ${status}${errcode ? ` ${errcode}` : ""}: ${body.slice(0, 500)}`);
  }
}

const enc = encodeURIComponent;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const summarize = (e: MatrixEvent) => `${e.type} from ${e.sender}: ${JSON.stringify(e.content).slice(0, 200)}`;

export class TestClient {
  private txn = 0;
  private readonly txnPrefix = randomBytes(4).toString("hex");

  constructor(
    readonly hsUrl: string,
    readonly userId: string,
    readonly accessToken: string,
  ) {}

  /** Any client-server call; throws MatrixApiError (status + errcode) on non-2xx. */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    opts: { query?: Record<string, string | number | undefined>; contentType?: string } = {},
  ): Promise<T> {
    const url = new URL(this.hsUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const raw = body instanceof Uint8Array;
    const res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${this.accessToken}`,
        ...(body !== undefined ? { "content-type": opts.contentType ?? "application/json" } : {}),
      },
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    if (!res.ok) {
      let errcode: string | undefined;
      try {
        errcode = (JSON.parse(text) as { errcode?: string }).errcode;
      } catch {
        // not JSON
      }
      throw new MatrixApiError(method, path, res.status, errcode, text);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  private nextTxnId(): string {
    return `${this.txnPrefix}-${Date.now()}-${this.txn++}`;
  }

  async createRoom(
    opts: { invite?: string[]; name?: string; powerLevelContentOverride?: object; preset?: string; isDirect?: boolean; initialState?: object[] } = {},
  ): Promise<string> {
    const body: Record<string, unknown> = { preset: opts.preset ?? "private_chat" };
    if (opts.invite) body.invite = opts.invite;
    if (opts.name) body.name = opts.name;
    if (opts.powerLevelContentOverride) body.power_level_content_override = opts.powerLevelContentOverride;
    if (opts.isDirect) body.is_direct = true;
    if (opts.initialState) body.initial_state = opts.initialState;
    const { room_id } = await this.request<{ room_id: string }>("POST", "/_matrix/client/v3/createRoom", body);
    return room_id;
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: userId });
  }

  async join(roomIdOrAlias: string): Promise<string> {
    const { room_id } = await this.request<{ room_id: string }>("POST", `/_matrix/client/v3/join/${enc(roomIdOrAlias)}`, {});
    return room_id;
  }

  async leave(roomId: string): Promise<void> {
    await this.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {});
  }

  async sendEvent(roomId: string, type: string, content: object): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/${enc(this.nextTxnId())}`;
    const { event_id } = await this.request<{ event_id: string }>("PUT", path, content);
    return event_id;
  }

  /** A string is sent as m.text; an object is sent as the message content itself. */
  sendMessage(roomId: string, bodyOrContent: string | object): Promise<string> {
    const content = typeof bodyOrContent === "string" ? { msgtype: "m.text", body: bodyOrContent } : bodyOrContent;
    return this.sendEvent(roomId, "m.room.message", content);
  }

  async redact(roomId: string, eventId: string, reason?: string): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(eventId)}/${enc(this.nextTxnId())}`;
    const { event_id } = await this.request<{ event_id: string }>("PUT", path, reason === undefined ? {} : { reason });
    return event_id;
  }

  async sendStateEvent(roomId: string, type: string, stateKey: string, content: object): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`;
    const { event_id } = await this.request<{ event_id: string }>("PUT", path, content);
    return event_id;
  }

  /** The state content, or null when the room has no such state. */
  async getStateEvent<T = Record<string, unknown>>(roomId: string, type: string, stateKey = ""): Promise<T | null> {
    try {
      return await this.request<T>("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`);
    } catch (err) {
      if (err instanceof MatrixApiError && err.status === 404) return null;
      throw err;
    }
  }

  async getPowerLevels(roomId: string): Promise<{ users?: Record<string, number>; [k: string]: unknown }> {
    return (await this.getStateEvent(roomId, "m.room.power_levels", "")) ?? {};
  }

  async setPowerLevel(roomId: string, userId: string, level: number): Promise<string> {
    const pl = await this.getPowerLevels(roomId);
    return this.sendStateEvent(roomId, "m.room.power_levels", "", { ...pl, users: { ...(pl.users ?? {}), [userId]: level } });
  }

  /** user id → {display_name, avatar_url} */
  async getJoinedMembers(roomId: string): Promise<Record<string, { display_name?: string; avatar_url?: string }>> {
    const { joined } = await this.request<{ joined: Record<string, { display_name?: string; avatar_url?: string }> }>(
      "GET",
      `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`,
    );
    return joined;
  }

  async joinedRooms(): Promise<string[]> {
    const { joined_rooms } = await this.request<{ joined_rooms: string[] }>("GET", "/_matrix/client/v3/joined_rooms");
    return joined_rooms;
  }

  /** Newest first by default (dir=b). */
  async messages(
    roomId: string,
    opts: { limit?: number; dir?: "b" | "f"; from?: string; filter?: object } = {},
  ): Promise<{ chunk: MatrixEvent[]; start?: string; end?: string }> {
    return this.request("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages`, undefined, {
      query: {
        dir: opts.dir ?? "b",
        limit: opts.limit ?? 50,
        from: opts.from,
        filter: opts.filter ? JSON.stringify(opts.filter) : undefined,
      },
    });
  }

  /** Polls the room's recent timeline until an event matches; on timeout the error lists what was seen. */
  async waitForEvent(
    roomId: string,
    predicate: (e: MatrixEvent) => boolean,
    opts: { timeoutMs?: number; intervalMs?: number; limit?: number } = {},
  ): Promise<MatrixEvent> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    let seen: MatrixEvent[] = [];
    for (;;) {
      seen = (await this.messages(roomId, { limit: opts.limit ?? 100 })).chunk;
      const hit = seen.find(predicate);
      if (hit) return hit;
      if (Date.now() >= deadline) break;
      await sleep(opts.intervalMs ?? 200);
    }
    const lines = seen.slice(0, 20).map((e) => `  ${summarize(e)}`).join("\n");
    throw new Error(`no matching event in ${roomId} after ${opts.timeoutMs ?? 10_000} ms; newest ${seen.length} seen:\n${lines}`);
  }

  /** Polls /sync until we are invited to a room matching the predicate; returns its id. */
  async waitForInvite(
    predicate: (roomId: string, inviteState: MatrixEvent[]) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    // Only invites need to come back; a lazy filter keeps each poll cheap.
    const filter = JSON.stringify({ room: { timeline: { limit: 1 }, state: { lazy_load_members: true } }, presence: { types: [] } });
    let seen: string[] = [];
    for (;;) {
      const sync = await this.request<{ rooms?: { invite?: Record<string, { invite_state?: { events?: MatrixEvent[] } }> } }>(
        "GET",
        "/_matrix/client/v3/sync",
        undefined,
        { query: { filter, timeout: 0 } },
      );
      const invites = Object.entries(sync.rooms?.invite ?? {});
      seen = invites.map(([id]) => id);
      for (const [id, room] of invites) if (predicate(id, room.invite_state?.events ?? [])) return id;
      if (Date.now() >= deadline) break;
      await sleep(200);
    }
    throw new Error(`${this.userId} got no matching invite within ${timeoutMs} ms; pending invites: ${seen.join(", ") || "none"}`);
  }

  /** Returns the mxc:// URI. */
  async uploadMedia(bytes: Uint8Array, contentType: string, filename?: string): Promise<string> {
    const { content_uri } = await this.request<{ content_uri: string }>("POST", "/_matrix/media/v3/upload", bytes, {
      contentType,
      query: { filename },
    });
    return content_uri;
  }
}
