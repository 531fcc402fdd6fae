import type { RoomEvent } from "../../../matrix/port.js";

/** Test data for the tencent format's unit tests. */
export const ROOM = "!room:example.org";
export const ALICE = "@alice:example.org";
export const BOB = "@bob:example.org";

export function messageEvent(content: Record<string, unknown> = { msgtype: "m.text", body: "red packet" }, overrides: Partial<RoomEvent> = {}): RoomEvent {
  return { event_id: "$msg1:example.org", room_id: ROOM, sender: ALICE, type: "m.room.message", content, origin_server_ts: 1670574414123, ...overrides };
}

/** A membership event; `prev` is the previous membership content (Synapse's unsigned.prev_content), `prevSender` its sender. */
export function memberEvent(opts: { sender?: string; target?: string; content: Record<string, unknown>; prev?: Record<string, unknown>; prevSender?: string }): RoomEvent {
  const unsigned: Record<string, unknown> = {};
  if (opts.prev) unsigned.prev_content = opts.prev;
  if (opts.prevSender) unsigned.prev_sender = opts.prevSender;
  return {
    event_id: "$member:example.org",
    room_id: ROOM,
    sender: opts.sender ?? ALICE,
    type: "m.room.member",
    state_key: opts.target ?? opts.sender ?? ALICE,
    content: opts.content,
    origin_server_ts: 1670574414123,
    ...(opts.prev || opts.prevSender ? { unsigned } : {}),
  };
}

export function stateEvent(type: string, content: Record<string, unknown>, prev?: Record<string, unknown>): RoomEvent {
  return { event_id: "$state:example.org", room_id: ROOM, sender: ALICE, type, state_key: "", content, origin_server_ts: 1670574414123, ...(prev ? { unsigned: { prev_content: prev } } : {}) };
}

export const mediaUrl = (mxc: string): string | null => (mxc.startsWith("mxc://") ? `https://bridge.example.org/media/${encodeURIComponent(mxc.slice(6))}` : null);
