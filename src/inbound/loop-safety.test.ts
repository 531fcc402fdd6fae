import { NO_FILTER } from "../outbound/hook-filter.js";
import { describe, expect, it } from "vitest";
import { AppserviceMatrix } from "../matrix/appservice-matrix.js";
import { generateRegistration, type LoadedRegistration } from "../matrix/registration.js";
import { hooksForEvent } from "../outbound/match.js";
import { InboundPoster } from "./poster.js";

// The bridge as the real code builds it: a ghost named by InboundPoster is a bridge user for the
// registration the bridge generates, so outbound matching never forwards what inbound hooks post.
describe("loop safety", () => {
  const raw = generateRegistration({ url: "http://127.0.0.1:9" });
  const registration: LoadedRegistration = {
    id: raw.id, hsToken: raw.hs_token, asToken: raw.as_token, senderLocalpart: raw.sender_localpart, url: raw.url!,
    userNamespaceRegexes: raw.namespaces!.users!.map((u) => u.regex), raw,
  };
  const matrix = new AppserviceMatrix({ homeserverUrl: "http://127.0.0.1:9", domain: "example.org", registration });
  const ghost = new InboundPoster(matrix).userIdFor("ih_0123456789abcdef");
  const outboundHook = { kind: "hook" as const, id: "ep_1", roomId: "!r:example.org", name: "out", url: "https://a.example/", urls: ["https://a.example/"], method: "PUT" as const, ordering: "none" as const, filter: NO_FILTER, contentType: "form" as const };
  const event = { event_id: "$1", room_id: "!r:example.org", type: "m.room.message", content: { msgtype: "m.notice", body: "from a webhook" }, origin_server_ts: 1 };

  it("never sends an inbound hook's message to the room's outbound hooks", () => {
    expect(ghost).toBe("@webhook_ih_0123456789abcdef:example.org");
    expect(matrix.isBridgeUser(ghost)).toBe(true);
    expect(hooksForEvent({ ...event, sender: ghost } as never, [outboundHook] as never, matrix.isBridgeUser.bind(matrix))).toEqual([]);
    expect(hooksForEvent({ ...event, sender: "@alice:example.org" } as never, [outboundHook] as never, matrix.isBridgeUser.bind(matrix))).toEqual(["ep_1"]);
  });
});
