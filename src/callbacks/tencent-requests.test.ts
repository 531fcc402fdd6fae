import { describe, expect, it } from "vitest";
import { validateOutboundHookContent } from "../connections/outbound-hook-state.js";
import type { ClaimedJob } from "../delivery/queue/queue.js";
import type { DeliveryTarget } from "../delivery/targets.js";
import type { RoomEvent } from "../matrix/port.js";
import { TencentRequests } from "./tencent-requests.js";

const ROOM = "!town:example.org";
const LINK = "https://bridge.example.org/media/7?exp=1&sig=x";

function target(): DeliveryTarget {
  const valid = validateOutboundHookContent("follow", { name: "follow", url: "https://app.example.org/cb", format: "tencent" });
  if (!valid.ok) throw new Error(valid.problems.join("; "));
  return { hook: { ...valid.value, kind: "hook", id: "hook1", roomId: ROOM }, url: valid.value.url, token: "tok", signingSecrets: [] };
}

function bodyFor(event: RoomEvent): Record<string, any> {
  const job: ClaimedJob = { key: 7, id: "msg_1", eventId: event.event_id, hookId: "hook1", roomId: ROOM, attempts: 0, dueAt: 0, body: JSON.stringify(event) };
  return JSON.parse(new TencentRequests(() => LINK).request(job, target()).body) as Record<string, any>;
}

describe("TencentRequests media links", () => {
  it("links a message's own file", () => {
    const image: RoomEvent = { event_id: "$i", room_id: ROOM, sender: "@a:example.org", type: "m.room.message", origin_server_ts: 1, content: { msgtype: "m.file", body: "a.txt", url: "mxc://example.org/a" } };
    expect(bodyFor(image).MsgBody[0].MsgContent.Url).toBe(LINK);
  });

  it("gives no FaceUrl link for a room avatar: the media route serves only messages' and stickers' files", () => {
    const avatar: RoomEvent = { event_id: "$v", room_id: ROOM, sender: "@a:example.org", type: "m.room.avatar", state_key: "", origin_server_ts: 1, content: { url: "mxc://example.org/face" } };
    expect(bodyFor(avatar).FaceUrl).toBe("");
  });
});
