import { describe, expect, it } from "vitest";
import { replyContents } from "./reply-content.js";

const reply = (parts: Array<{ text: string; html: string | null }>, startThread = false) => ({ parts, truncated: false, startThread });

describe("replyContents", () => {
  it("posts each part as a sanitized m.text message, outside threads when the trigger was in none", () => {
    const [first, second] = replyContents(reply([{ text: "one", html: "<strong>one</strong><script>x()</script>" }, { text: "two", html: null }]), { triggerEventId: "$t", threadRoot: null }, null);
    expect(first).toEqual({ msgtype: "m.text", body: "one", format: "org.matrix.custom.html", formatted_body: "<strong>one</strong>" });
    expect(second).toEqual({ msgtype: "m.text", body: "two" });
  });

  it("answers in the trigger's thread, or starts one on the trigger when asked", () => {
    const inThread = replyContents(reply([{ text: "x", html: null }]), { triggerEventId: "$t", threadRoot: "$root" }, null)[0]!;
    expect(inThread["m.relates_to"]).toEqual({ rel_type: "m.thread", event_id: "$root", is_falling_back: true, "m.in_reply_to": { event_id: "$t" } });
    const started = replyContents(reply([{ text: "x", html: null }], true), { triggerEventId: "$t", threadRoot: null }, null)[0]!;
    expect(started["m.relates_to"]).toMatchObject({ rel_type: "m.thread", event_id: "$t" });
  });

  it("marks an allowed per-reply name as a webhook's, in the profile and visibly in the text", () => {
    const [content] = replyContents(reply([{ text: "hi", html: "<em>hi</em>" }]), { triggerEventId: "$t", threadRoot: null }, { username: "robot", avatarMxc: "mxc://x/y" });
    expect(content!["com.beeper.per_message_profile"]).toMatchObject({ displayname: "robot (webhook)", avatar_url: "mxc://x/y" });
    expect(content!.body).toBe("robot (webhook): hi");
  });

  it("skips parts with nothing to show", () => {
    expect(replyContents(reply([{ text: "  ", html: null }, { text: "", html: "<script>x</script>" }]), { triggerEventId: "$t", threadRoot: null }, null)).toEqual([]);
  });
});
