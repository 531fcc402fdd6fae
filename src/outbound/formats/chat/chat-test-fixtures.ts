import type { RoomEvent } from "../../../matrix/port.js";
import type { ChatContext } from "./chat-format.js";

/** Test data for the chat formats' unit tests: one message in a named room with an alias. */
export const ROOT_ID = "$root:example.org";

export function textEvent(overrides: Partial<RoomEvent> = {}): RoomEvent {
  return {
    event_id: "$ev1:example.org",
    room_id: "!room:example.org",
    sender: "@alice:example.org",
    type: "m.room.message",
    content: { msgtype: "m.text", body: "build status & more" },
    origin_server_ts: 1504640775123,
    ...overrides,
  };
}

export function context(overrides: Partial<ChatContext> = {}): ChatContext {
  return {
    hook: { id: "hook-id-1", name: "ci", token: "tok en&=1" },
    serverName: "example.org",
    room: { id: "!room:example.org", name: "Town Square", alias: "#town-square:example.org", direct: false },
    sender: { id: "@alice:example.org", displayName: "Alice A." },
    thread: null,
    trigger: { kind: "trigger-word", word: "build" },
    bot: null,
    contentType: "form",
    userAgent: "matrix-webhook-bridge/0.1.0",
    ...overrides,
  };
}

export const LIMITS = { maxChars: 4000, maxParts: 5 };

/** The seed's build report (Mattermost's outgoing-webhooks documentation). */
export const BUILD_REPORT = [
  "",
  "---",
  "##### Build Break - Project X - December 12, 2015 - 15:32 GMT +0",
  "| Component  | Tests Run   | Tests Failed                                   |",
  "|:-----------|:------------|:-----------------------------------------------|",
  "| Server     | 948         | :white_check_mark: 0                           |",
  "| Web Client | 123         | :warning: [2 (see details)](http://linktologs) |",
  "| iOS Client | 78          | :warning: [3 (see details)](http://linktologs) |",
  "---",
  "",
].join("\n");
