import { describe, expect, it } from "vitest";
import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import type { RoomEvent } from "../matrix/port.js";
import { botTrigger, startsWithName } from "./bot-trigger.js";
import { NO_FILTER } from "./hook-filter.js";
import { hooksForEvent, type BotCandidate } from "./match.js";

const GHOST = "@webhook_bt_abc:x";
const bot = { userId: GHOST, displayName: "Helper" };
const group = { ghostJoined: true, joinedMembers: new Set(["@alice:x", "@bob:x", "@webhooks:x", GHOST]) };
const dm = { ghostJoined: true, joinedMembers: new Set(["@alice:x", GHOST]) };
const notIn = { ghostJoined: false, joinedMembers: new Set(["@alice:x", "@bob:x", "@webhooks:x"]) };

const msg = (content: Record<string, unknown>, extra: Partial<RoomEvent> = {}): RoomEvent => ({
  event_id: "$1", room_id: "!r:x", sender: "@alice:x", type: "m.room.message", origin_server_ts: 1, content: { msgtype: "m.text", ...content }, ...extra,
});

describe("botTrigger (Zulip's outgoing webhook bot rules)", () => {
  it("fires on a mention pill in the HTML, raw or percent-encoded", () => {
    const pill = (href: string) => msg({ body: "Helper: hi", format: "org.matrix.custom.html", formatted_body: `<a href="${href}">Helper</a> what is up` });
    expect(botTrigger(bot, pill(`https://matrix.to/#/${GHOST}`), group, true)).toEqual({ kind: "mention" });
    expect(botTrigger(bot, { ...pill(`https://matrix.to/#/${encodeURIComponent(GHOST)}`), content: { ...pill("").content, body: "hey you", formatted_body: `hey <a href="https://matrix.to/#/${encodeURIComponent(GHOST)}">Helper</a>` } }, group, true)).toEqual({ kind: "mention" });
  });

  it("does not take a pill in the quoted reply fallback, nor a pill of another user", () => {
    const quoted = msg({
      body: "> <@webhook_bt_abc:x> earlier answer\n\nthanks",
      format: "org.matrix.custom.html",
      formatted_body: `<mx-reply><blockquote><a href="https://matrix.to/#/!r:x/$0">In reply to</a> <a href="https://matrix.to/#/${GHOST}">${GHOST}</a><br>earlier answer</blockquote></mx-reply>thanks`,
    });
    expect(botTrigger(bot, quoted, group, true)).toBeNull();
    expect(botTrigger(bot, msg({ body: "Bob: hi", format: "org.matrix.custom.html", formatted_body: '<a href="https://matrix.to/#/@bob:x">Bob</a>: hi' }), group, true)).toBeNull();
  });

  it("fires when m.mentions.user_ids names the ghost, and not when it names someone else", () => {
    expect(botTrigger(bot, msg({ body: "ping", "m.mentions": { user_ids: [GHOST] } }), group, true)).toEqual({ kind: "mention" });
    expect(botTrigger(bot, msg({ body: "ping", "m.mentions": { user_ids: ["@bob:x"] } }), group, true)).toBeNull();
    expect(botTrigger(bot, msg({ body: "ping", "m.mentions": { user_ids: "not a list" } }), group, true)).toBeNull();
  });

  it("fires on its name at the start (name:, name, or @name), not in the middle or as part of a longer word", () => {
    for (const body of ["Helper: build", "helper, status?", "@Helper deploy", "  @helper", "Helper:"]) {
      expect(botTrigger(bot, msg({ body }), group, true), body).toEqual({ kind: "mention" });
    }
    for (const body of ["ask Helper: build", "Helpers: all", "Helper build", "@Helpers go", "", "hello"]) {
      expect(botTrigger(bot, msg({ body }), group, true), body).toBeNull();
    }
    expect(startsWithName("x", "")).toBe(false);
  });

  it("fires on any message in a DM with the ghost, with trigger direct-message", () => {
    expect(botTrigger(bot, msg({ body: "what is the weather" }), dm, true)).toEqual({ kind: "direct-message" });
    // A mention in a DM is still a direct message, as Zulip sends it.
    expect(botTrigger(bot, msg({ body: "Helper: hi" }), dm, true)).toEqual({ kind: "direct-message" });
  });

  it("a format without DMs (slack) refuses direct messages but answers mentions in rooms", () => {
    expect(botTrigger(bot, msg({ body: "Helper: hi" }), dm, false)).toBeNull();
    expect(botTrigger(bot, msg({ body: "Helper: hi" }), group, false)).toEqual({ kind: "mention" });
  });

  it("never fires in a room the ghost is not in, even when named or pilled (a DM between two other users)", () => {
    const named = msg({ body: "Helper: hi", "m.mentions": { user_ids: [GHOST] }, format: "org.matrix.custom.html", formatted_body: `<a href="https://matrix.to/#/${GHOST}">Helper</a>: hi` });
    expect(botTrigger(bot, named, notIn, true)).toBeNull();
    expect(botTrigger(bot, named, { ghostJoined: false, joinedMembers: null }, true)).toBeNull();
  });

  it("a room of three is not a DM; unknown members are not a DM", () => {
    expect(botTrigger(bot, msg({ body: "hello" }), { ghostJoined: true, joinedMembers: new Set(["@alice:x", "@bob:x", GHOST]) }, true)).toBeNull();
    expect(botTrigger(bot, msg({ body: "hello" }), { ghostJoined: true, joinedMembers: null }, true)).toBeNull();
    // Two members, but the sender is not one of them (a stale view): not a DM with the sender.
    expect(botTrigger(bot, msg({ body: "hello" }, { sender: "@carol:x" }), dm, true)).toBeNull();
  });

  it("never fires on edits, state events, other event types or its own messages", () => {
    expect(botTrigger(bot, msg({ body: "* Helper: hi", "m.new_content": { body: "Helper: hi" }, "m.relates_to": { rel_type: "m.replace", event_id: "$0" } }), dm, true)).toBeNull();
    expect(botTrigger(bot, { ...msg({ body: "Helper: hi" }), state_key: "" }, dm, true)).toBeNull();
    expect(botTrigger(bot, { ...msg({ body: "Helper: hi" }), type: "m.reaction" }, dm, true)).toBeNull();
    expect(botTrigger(bot, msg({ body: "Helper: hi" }, { sender: GHOST }), group, true)).toBeNull();
  });
});

describe("hooksForEvent with bots", () => {
  const make = (kind: "hook" | "bot", id: string, roomId = "!r:x"): ActiveOutboundHook => ({
    kind, id, roomId, name: kind === "bot" ? "Helper" : id, url: "https://a.example/", urls: ["https://a.example/"], method: "POST", ordering: "none", format: "zulip", filter: NO_FILTER, contentType: "form", callback: null, tlsProfile: null, batch: null,
  });
  const isBridgeUser = (u: string) => u === "@webhooks:x" || u.startsWith("@webhook_");
  const botHook = make("bot", "bt_abc", "!home:x");
  const candidate = (room: BotCandidate["room"]): BotCandidate => ({ bot: botHook, ghost: bot, room, allowsDirectMessages: true });

  it("takes a bot from the candidates (its ghost's rooms), never as a plain hook of its room", () => {
    const plain = make("hook", "ep_1");
    expect(hooksForEvent(msg({ body: "hello" }), [plain, botHook], isBridgeUser, [candidate(group)])).toEqual(["ep_1"]);
    expect(hooksForEvent(msg({ body: "Helper: hi" }), [plain, botHook], isBridgeUser, [candidate(group)])).toEqual(["ep_1", "bt_abc"]);
    expect(hooksForEvent(msg({ body: "hi" }), [], isBridgeUser, [candidate(dm)])).toEqual(["bt_abc"]);
  });

  it("bots never fire on the bridge's own users' events", () => {
    expect(hooksForEvent(msg({ body: "Helper: hi" }, { sender: "@webhooks:x" }), [], isBridgeUser, [candidate(group)])).toEqual([]);
    expect(hooksForEvent(msg({ body: "Helper: hi" }, { sender: "@webhook_ih_1:x" }), [], isBridgeUser, [candidate(group)])).toEqual([]);
  });
});
