import { describe, expect, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../connections/outbound-hook-state.js";
import { CommandError } from "./command-error.js";
import type { CommandContext } from "./context.js";
import { acceptedStateContent } from "./outbound-commands.js";

const BOT = "@webhooks:x";
const ctxWith = (events: Array<{ event_id: string; sender: string; content: Record<string, unknown> }>) =>
  ({ roomId: "!r:x", matrix: { botUserId: BOT, roomState: async () => events.map((e) => ({ ...e, type: OUTBOUND_HOOK_EVENT_TYPE, state_key: "ci" })) } }) as unknown as CommandContext;

describe("acceptedStateContent", () => {
  it("gives the content of the state event the bridge accepted, or of the bot's own write", async () => {
    expect(await acceptedStateContent(ctxWith([{ event_id: "$a", sender: "@admin:x", content: { url: "https://ok.example/" } }]), { name: "ci", stateEventId: "$a" })).toEqual({ url: "https://ok.example/" });
    expect(await acceptedStateContent(ctxWith([{ event_id: "$b", sender: BOT, content: { url: "https://ok.example/2" } }]), { name: "ci", stateEventId: "$a" })).toEqual({ url: "https://ok.example/2" });
    expect(await acceptedStateContent(ctxWith([]), { name: "ci", stateEventId: "$a" })).toEqual({});
  });

  it("refuses to build on state someone wrote over it without the power", async () => {
    const ctx = ctxWith([{ event_id: "$evil", sender: "@mallory:x", content: { url: "https://attacker.example/" } }]);
    await expect(acceptedStateContent(ctx, { name: "ci", stateEventId: "$a" })).rejects.toThrow(CommandError);
    await expect(acceptedStateContent(ctx, { name: "ci", stateEventId: "$a" })).rejects.toThrow(/last written by @mallory:x, and I did not accept/);
  });
});
