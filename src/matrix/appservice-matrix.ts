import { AppServiceRegistration, Bridge, type Intent } from "matrix-appservice-bridge";
import type { MatrixClient } from "@vector-im/matrix-bot-sdk";
import { privilegedCreators, type PowerLevelsContent, type RoomAuthority } from "../connections/power-levels.js";
import type { GhostProfile, InboundGhosts, MatrixPort, RoomEvent, RoomMedia, StateEvent } from "./port.js";
import type { LoadedRegistration } from "./registration.js";
import type { DeviceClient } from "./encryption/device-client.js";
import type { EncryptedDevices } from "./encryption/encrypted-devices.js";

export interface AppserviceMatrixOptions {
  homeserverUrl: string;
  domain: string;
  registration: LoadedRegistration;
}

const isForbidden = (err: unknown): boolean =>
  typeof err === "object" && err !== null && ((err as { statusCode?: number }).statusCode === 403 || (err as { errcode?: string }).errcode === "M_FORBIDDEN");

const isNotFound = (err: unknown): boolean =>
  typeof err === "object" && err !== null && ((err as { statusCode?: number }).statusCode === 404 || (err as { errcode?: string }).errcode === "M_NOT_FOUND");

/**
 * MatrixPort over matrix-appservice-bridge: we use its Bridge only for intents and clients; the
 * transaction endpoint is ours (src/matrix/transactions.ts) because theirs acknowledges before
 * processing and forgets handled ids on restart.
 */
export class AppserviceMatrix implements MatrixPort, InboundGhosts {
  private readonly bridge: Bridge;
  private readonly userPatterns: RegExp[];
  // Ghost memberships known to be "join", so a message does not cost a membership lookup.
  private readonly ghostsJoined = new Set<string>();
  private readonly domain: string;
  private readonly homeserverUrl: string;
  private readonly registrationId: string;
  private readonly asToken: string;
  // Known from the registration, so it works before start() (the library's needs initialise()).
  readonly botUserId: string;
  /** With encryption on: the bridge users' devices, and the bot's (its messages are encrypted where the room is). */
  private devices: EncryptedDevices | null = null;
  private botDevice: DeviceClient | null = null;

  constructor(opts: AppserviceMatrixOptions) {
    this.domain = opts.domain;
    this.homeserverUrl = opts.homeserverUrl.replace(/\/+$/, "");
    this.registrationId = opts.registration.id;
    this.asToken = opts.registration.asToken;
    this.botUserId = `@${opts.registration.senderLocalpart}:${opts.domain}`;
    const reg = AppServiceRegistration.fromObject(opts.registration.raw);
    if (!reg) throw new Error("The registration file could not be read by matrix-appservice-bridge");
    this.bridge = new Bridge({
      homeserverUrl: opts.homeserverUrl,
      domain: opts.domain,
      registration: reg,
      disableStores: true,
      disableContext: true,
      suppressEcho: true,
      controller: { onEvent: () => undefined },
    });
    this.userPatterns = opts.registration.userNamespaceRegexes.map((r) => new RegExp(`^(?:${r})$`));
  }

  /** Checks the homeserver and prepares the bot's client. */
  async start(): Promise<void> {
    await this.bridge.initialise();
  }

  private get bot(): Intent {
    return this.bridge.getIntent();
  }

  private get client(): MatrixClient {
    return this.botDevice ?? this.bot.matrixClient;
  }

  /** From here on the bot sends as its device (encrypted in encrypted rooms), and so do ghosts in encrypted rooms. */
  async useEncryption(devices: EncryptedDevices): Promise<void> {
    this.botDevice = await devices.bot;
    this.devices = devices;
  }

  /**
   * The client a ghost sends with: its device where the room is encrypted (made on first use).
   * Where that cannot be told, the send fails rather than going out in the clear.
   */
  private async ghostSender(userId: string, roomId: string): Promise<MatrixClient> {
    if (this.devices && (await this.devices.isEncrypted(roomId, userId))) return this.devices.client(userId);
    return this.bridge.getIntent(userId).matrixClient;
  }

  isBridgeUser(userId: string): boolean {
    return userId === this.botUserId || this.userPatterns.some((p) => p.test(userId));
  }

  /**
   * Sets what differs only: a profile change is copied into every room the bot is in (a member
   * event each), which at every start would cost the homeserver thousands of events.
   */
  async setBotProfile(displayName: string | null, avatarUrl: string | null): Promise<void> {
    const current = (await this.client.getUserProfile(this.botUserId).catch(() => ({}))) as { displayname?: string; avatar_url?: string };
    if (displayName !== null && current.displayname !== displayName) await this.bot.setDisplayName(displayName);
    if (avatarUrl !== null && current.avatar_url !== avatarUrl) await this.bot.setAvatarUrl(avatarUrl);
  }

  async joinRoom(roomId: string): Promise<void> {
    await this.client.joinRoom(roomId);
  }

  async leaveRoom(roomId: string, reason?: string): Promise<void> {
    await this.client.leaveRoom(roomId, reason);
  }

  joinedRooms(): Promise<string[]> {
    return this.client.getJoinedRooms();
  }

  async roomState(roomId: string): Promise<StateEvent[]> {
    return (await this.client.getRoomState(roomId)) as StateEvent[];
  }

  async roomAuthority(roomId: string): Promise<RoomAuthority> {
    const [powerLevels, create] = await Promise.all([
      this.stateContent(roomId, "m.room.power_levels") as Promise<PowerLevelsContent | null>,
      this.client.getRoomStateEventBody(roomId, "m.room.create", "").catch((err) => (isNotFound(err) ? null : Promise.reject(err))),
    ]);
    return { powerLevels, privilegedCreators: create ? privilegedCreators(create.sender as string, (create.content ?? {}) as Record<string, unknown>) : [] };
  }

  async stateContent(roomId: string, type: string, stateKey = ""): Promise<Record<string, unknown> | null> {
    try {
      return (await this.client.getRoomStateEventContent(roomId, type, stateKey)) as Record<string, unknown>;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  setState(roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
    return this.client.sendStateEvent(roomId, type, stateKey, content);
  }

  async sendNotice(roomId: string, text: string, html?: string): Promise<string> {
    // Empty m.mentions: a notice quoting a name someone chose (a hook's, "@room") pings nobody.
    const content: Record<string, unknown> = { msgtype: "m.notice", body: text, "m.mentions": {} };
    if (html) Object.assign(content, { format: "org.matrix.custom.html", formatted_body: html });
    // Known before the send (or it fails): the bot SDK would take "could not read" for "not encrypted".
    await this.devices?.isEncrypted(roomId);
    return this.client.sendMessage(roomId, content);
  }

  async redactEvent(roomId: string, eventId: string, reason: string): Promise<void> {
    await this.client.redactEvent(roomId, eventId, reason);
  }

  createDirectRoom(userId: string): Promise<string> {
    return this.client.createRoom({ preset: "trusted_private_chat", is_direct: true, invite: [userId], name: "Webhook bridge" });
  }

  async membership(roomId: string, userId: string): Promise<string | null> {
    const content = await this.stateContent(roomId, "m.room.member", userId);
    return typeof content?.membership === "string" ? content.membership : null;
  }

  async eventTimestamp(roomId: string, eventId: string): Promise<number | null> {
    try {
      const event = (await this.client.getRawEvent(roomId, eventId)) as { origin_server_ts?: unknown };
      return Number.isSafeInteger(event.origin_server_ts) ? (event.origin_server_ts as number) : null;
    } catch (err) {
      // Unknown, not visible to the bot (403) or not an event id at all (400): nothing to name.
      const status = (err as { statusCode?: number }).statusCode;
      if (isNotFound(err) || status === 403 || status === 400) return null;
      throw err;
    }
  }

  // Inbound hooks' ghosts. Intents join (with the bot inviting when needed) and rejoin on M_FORBIDDEN.

  ghostUserId(localpart: string): string {
    return `@${localpart}:${this.domain}`;
  }

  async ensureGhostProfile(userId: string, profile: GhostProfile): Promise<void> {
    const intent = this.bridge.getIntent(userId);
    await intent.ensureRegistered();
    const current = (await intent.matrixClient.getUserProfile(userId).catch(() => ({}))) as { displayname?: string; avatar_url?: string };
    if (current.displayname !== profile.displayName) await intent.setDisplayName(profile.displayName);
    if ((current.avatar_url ?? null) !== profile.avatarUrl) await intent.setAvatarUrl(profile.avatarUrl ?? "");
  }

  /** The bot invites the ghost first when needed, so no join is tried (and logged) that must fail. */
  async ensureGhostJoined(userId: string, roomId: string): Promise<void> {
    const key = `${userId}\0${roomId}`;
    if (this.ghostsJoined.has(key)) return;
    // A room the bot is not in (a webhook bot's DM): the ghost joins by itself, which is a no-op
    // when it is in the room already and works when it is invited.
    const membership = await this.membership(roomId, userId).catch((err: unknown) => (isForbidden(err) ? "unknown to the bot" : Promise.reject(err)));
    if (membership === "unknown to the bot") return this.joinAsGhost(userId, roomId);
    if (membership !== "join") {
      if (membership !== "invite") await this.client.inviteUser(userId, roomId);
      await this.bridge.getIntent(userId).matrixClient.joinRoom(roomId);
    }
    this.ghostsJoined.add(key);
  }

  async ensureGhostRoomProfile(userId: string, roomId: string, profile: GhostProfile): Promise<void> {
    const current = (await this.memberContent(roomId, userId)) ?? {};
    if (current.displayname === profile.displayName && (current.avatar_url ?? null) === profile.avatarUrl) return;
    const content: Record<string, unknown> = { ...current, membership: "join", displayname: profile.displayName };
    if (profile.avatarUrl) content.avatar_url = profile.avatarUrl;
    else delete content.avatar_url;
    // The ghost's own client: its member event needs no power level (the intent's check would ask for state_default).
    await this.bridge.getIntent(userId).matrixClient.sendStateEvent(roomId, "m.room.member", userId, content);
  }

  /**
   * The ghost's own client, so the homeserver's refusal reaches the caller as it is (status and
   * errcode): the intent's sendMessage turns a failed rejoin into a bare "Failed to join room".
   */
  async sendAsGhost(userId: string, roomId: string, content: Record<string, unknown>, txnId?: string): Promise<string> {
    const client = await this.ghostSender(userId, roomId);
    // With a transaction id of the caller's, a repeated send is the same event (the homeserver deduplicates).
    const send = () => (txnId === undefined ? client.sendMessage(roomId, content) : sendWithTxnId(client, roomId, content, txnId));
    try {
      return await send();
    } catch (err) {
      if ((err as { errcode?: unknown }).errcode !== "M_FORBIDDEN") throw err;
      // Removed from the room since (kicked, or it left): join once more. When it cannot (banned),
      // the send's own M_FORBIDDEN is the answer, not the invite's.
      this.ghostsJoined.delete(`${userId}\0${roomId}`);
      await this.ensureGhostJoined(userId, roomId).catch(() => Promise.reject(err));
      return send();
    }
  }

  async redactAsGhost(userId: string, roomId: string, eventId: string, reason?: string): Promise<void> {
    await this.bridge.getIntent(userId).matrixClient.redactEvent(roomId, eventId, reason ?? null);
  }

  async fetchEvent(roomId: string, eventId: string): Promise<RoomEvent | null> {
    try {
      // getRawEvent: getEvent wraps the event in the SDK's RoomEvent class (the event under .event).
      return (await this.client.getRawEvent(roomId, eventId)) as unknown as RoomEvent;
    } catch (err) {
      if ((err as { statusCode?: unknown }).statusCode === 404) return null;
      throw err;
    }
  }

  async leaveAsGhost(userId: string, roomId: string, reason?: string): Promise<void> {
    this.ghostsJoined.delete(`${userId}\0${roomId}`);
    await this.bridge.getIntent(userId).leave(roomId, reason);
  }

  async joinAsGhost(userId: string, roomId: string): Promise<void> {
    await this.bridge.getIntent(userId).matrixClient.joinRoom(roomId);
    this.ghostsJoined.add(`${userId}\0${roomId}`);
  }

  ghostJoinedMembers(userId: string, roomId: string): Promise<string[]> {
    return this.bridge.getIntent(userId).matrixClient.getJoinedRoomMembers(roomId);
  }

  ghostJoinedRooms(userId: string): Promise<string[]> {
    return this.bridge.getIntent(userId).matrixClient.getJoinedRooms();
  }

  /** The user's member event content, read by the bot, or by the ghost itself where the bot is not in the room. */
  private async memberContent(roomId: string, userId: string): Promise<Record<string, unknown> | null> {
    try {
      return await this.stateContent(roomId, "m.room.member", userId);
    } catch (err) {
      if (!isForbidden(err)) throw err;
      const client = this.bridge.getIntent(userId).matrixClient;
      return (await client.getRoomStateEventContent(roomId, "m.room.member", userId).catch((e: unknown) => (isNotFound(e) ? null : Promise.reject(e)))) as Record<string, unknown> | null;
    }
  }

  uploadMedia(bytes: Buffer, contentType: string, filename: string): Promise<string> {
    return this.bot.uploadContent(bytes, { type: contentType, name: filename });
  }

  async uploadRoomMedia(roomId: string, bytes: Buffer, contentType: string, filename: string): Promise<RoomMedia> {
    if (!this.botDevice || !this.devices || !(await this.devices.isEncrypted(roomId))) return { mxc: await this.uploadMedia(bytes, contentType, filename), encryptedFile: null };
    // As clients do: the ciphertext as octet-stream, with no name; both are in the encrypted message.
    const { buffer, file } = await this.botDevice.crypto.encryptMedia(bytes);
    const mxc = await this.uploadMedia(buffer, "application/octet-stream", "");
    return { mxc, encryptedFile: { ...file, url: mxc } };
  }

  /**
   * Asks the homeserver to ping the bridge (`POST /_matrix/client/v1/appservice/{id}/ping`, Matrix
   * 1.7); Synapse then sends the transactions it was holding back at once. "unsupported" from a
   * homeserver without the endpoint; rejects with its answer on other errors, or after `timeoutMs`.
   */
  async ping(timeoutMs = 15_000): Promise<"pinged" | "unsupported"> {
    const res = await fetch(`${this.homeserverUrl}/_matrix/client/v1/appservice/${encodeURIComponent(this.registrationId)}/ping`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.asToken}`, "content-type": "application/json" },
      body: JSON.stringify({ transaction_id: `mwb-ping-${Date.now()}` }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.ok) return "pinged";
    let errcode: unknown;
    try {
      errcode = (JSON.parse(text) as { errcode?: unknown }).errcode;
    } catch {
      // not JSON: an older homeserver's or a proxy's page
    }
    if (res.status === 404 || res.status === 405 || errcode === "M_UNRECOGNIZED") return "unsupported";
    throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  }

  async stop(): Promise<void> {
    await this.bridge.close().catch(() => undefined);
  }
}

async function sendWithTxnId(client: MatrixClient, roomId: string, content: Record<string, unknown>, txnId: string): Promise<string> {
  // A device client encrypts in an encrypted room, as its sendMessage does.
  const encrypted = client.crypto?.isReady && (await client.crypto.isRoomEncrypted(roomId));
  const type = encrypted ? "m.room.encrypted" : "m.room.message";
  const body = encrypted ? await client.crypto.encryptRoomEvent(roomId, "m.room.message", content) : content;
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${type}/${encodeURIComponent(txnId)}`;
  const answer = (await client.doRequest("PUT", path, null, body)) as { event_id?: unknown };
  if (typeof answer?.event_id !== "string") throw new Error("the homeserver's answer has no event_id");
  return answer.event_id;
}
