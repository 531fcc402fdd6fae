import type { RoomAuthority } from "../connections/power-levels.js";

/** An event as the homeserver sends it in an appservice transaction. */
export interface RoomEvent {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  state_key?: string;
  unsigned?: Record<string, unknown>;
}

/** A state event as read back from the room. */
export interface StateEvent {
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, unknown>;
  event_id?: string;
}

/**
 * What the core needs from Matrix, acting as the bridge bot. Implemented over
 * matrix-appservice-bridge in `appservice-matrix.ts`; every method may throw on homeserver errors.
 */
export interface MatrixPort {
  readonly botUserId: string;
  /** The bot or one of the bridge's ghost users (their events are never forwarded). */
  isBridgeUser(userId: string): boolean;
  joinRoom(roomId: string): Promise<void>;
  leaveRoom(roomId: string, reason?: string): Promise<void>;
  joinedRooms(): Promise<string[]>;
  roomState(roomId: string): Promise<StateEvent[]>;
  /** One state event's content, or null when the room has none. */
  stateContent(roomId: string, type: string, stateKey?: string): Promise<Record<string, unknown> | null>;
  /** The room's power levels and, in room versions that have them, its all-powerful creators. */
  roomAuthority(roomId: string): Promise<RoomAuthority>;
  setState(roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string>;
  /** A notice in the room, plain text with an optional HTML rendering. */
  sendNotice(roomId: string, text: string, html?: string): Promise<string>;
  /** Redacts an event (the bot needs the room's redact power level for other users' events). */
  redactEvent(roomId: string, eventId: string, reason: string): Promise<void>;
  /** Creates a direct-message room with the user (invited, private) and returns its id. */
  createDirectRoom(userId: string): Promise<string>;
  /** The user's membership in a room, as the bot sees it (null when unknown). */
  membership(roomId: string, userId: string): Promise<string | null>;
  /** An event's origin_server_ts as the bot sees it, or null when the homeserver does not show it. */
  eventTimestamp(roomId: string, eventId: string): Promise<number | null>;
}

/** A file uploaded for a message: `encryptedFile` (with its `url`) when it was encrypted for an encrypted room. */
export interface RoomMedia {
  mxc: string;
  encryptedFile: Record<string, unknown> | null;
}

/** How an inbound hook's ghost user looks: the hook's name and avatar. */
export interface GhostProfile {
  displayName: string;
  /** mxc:// URI, or null for none. */
  avatarUrl: string | null;
}

/**
 * What inbound hooks need from Matrix: ghost users in the appservice namespace that post as the
 * hook. Implemented in `appservice-matrix.ts`; every method may throw on homeserver errors.
 */
export interface InboundGhosts {
  /** `@localpart:domain` on the bridge's homeserver. */
  ghostUserId(localpart: string): string;
  /** Registers the ghost if needed and sets its profile where it differs (each ghost serves one hook, so its global profile is the hook's look). */
  ensureGhostProfile(userId: string, profile: GhostProfile): Promise<void>;
  /** Joins the ghost to the room; when the room does not let it join, the bot invites it first. */
  ensureGhostJoined(userId: string, roomId: string): Promise<void>;
  /**
   * Makes the ghost's member event in the room show the profile (the homeserver copies global
   * profile changes into rooms in its own time; this makes the next message show it for sure).
   */
  ensureGhostRoomProfile(userId: string, roomId: string, profile: GhostProfile): Promise<void>;
  /**
   * Sends an m.room.message as the ghost (rejoining once if it was removed); returns the event id.
   * `txnId`: the caller's transaction id, so that sending the same message again posts it once.
   */
  sendAsGhost(userId: string, roomId: string, content: Record<string, unknown>, txnId?: string): Promise<string>;
  /** Redacts an event as the ghost (its own events need no power). */
  redactAsGhost(userId: string, roomId: string, eventId: string, reason?: string): Promise<void>;
  /** An event of a room the bot is in, as the bot sees it; null when there is no such event. */
  fetchEvent(roomId: string, eventId: string): Promise<RoomEvent | null>;
  leaveAsGhost(userId: string, roomId: string): Promise<void>;
  /** Uploads to the homeserver's media repository as the bot; returns the mxc:// URI. */
  uploadMedia(bytes: Buffer, contentType: string, filename: string): Promise<string>;
  /**
   * Uploads a file for a message in the room: encrypted where the room is (and encryption is on),
   * with the EncryptedFile (its `url` set) that the message's `file` must carry instead of `url`.
   */
  uploadRoomMedia(roomId: string, bytes: Buffer, contentType: string, filename: string): Promise<RoomMedia>;
}
