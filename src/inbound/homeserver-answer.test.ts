import { MatrixError } from "@vector-im/matrix-bot-sdk";
import { describe, expect, it } from "vitest";
import { GhostSetupFailed, homeserverAnswer } from "./homeserver-answer.js";

// Synapse 1.163's real answers to a message send, as the bot SDK throws them.
const synapse = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => new MatrixError(body as never, status, headers);

describe("the homeserver's answer, as the sender gets it", () => {
  it("a refusal of the content is 400 with the homeserver's reason", () => {
    const answer = homeserverAnswer(synapse(400, { errcode: "M_BAD_JSON", error: "Bad JSON value: float" }));
    expect([answer.status, answer.body()]).toEqual([400, { ok: false, error: "the homeserver refused the message (M_BAD_JSON: Bad JSON value: float)" }]);
    expect(homeserverAnswer(synapse(400, { errcode: "M_NOT_JSON", error: "Content not JSON." })).status).toBe(400);
    expect(homeserverAnswer(synapse(400, { errcode: "M_INVALID_PARAM", error: "bad" })).status).toBe(400);
  });

  it("too large is 413", () => {
    expect(homeserverAnswer(synapse(413, { errcode: "M_TOO_LARGE", error: "event too large" }))).toMatchObject({ status: 413, reason: expect.stringContaining("M_TOO_LARGE: event too large") });
  });

  it("a room that does not let the hook's user post is 403", () => {
    expect(homeserverAnswer(synapse(403, { errcode: "M_FORBIDDEN", error: "User not in room" })).status).toBe(403);
  });

  it("a refusal while the hook's user is set up (profile, join) is about the room: 403, whatever the status", () => {
    const banned = homeserverAnswer(new GhostSetupFailed(synapse(400, { errcode: "M_BAD_STATE", error: "Cannot invite user who was banned" })));
    expect([banned.status, banned.reason]).toEqual([403, "the room does not let this hook's user in (M_BAD_STATE: Cannot invite user who was banned); a room admin must allow it"]);
    expect(homeserverAnswer(new GhostSetupFailed(synapse(403, { errcode: "M_FORBIDDEN", error: "You don't have permission to invite users" }))).status).toBe(403);
    expect(homeserverAnswer(new GhostSetupFailed(new Error("connect ECONNREFUSED 127.0.0.1:8008"))).status).toBe(502);
    expect(homeserverAnswer(new GhostSetupFailed(synapse(500, { errcode: "M_UNKNOWN", error: "Internal server error" }))).status).toBe(502);
  });

  it("502/503 only when the homeserver is unreachable or failing for now", () => {
    expect(homeserverAnswer(synapse(500, { errcode: "M_UNKNOWN", error: "Internal server error" }))).toMatchObject({ status: 502, reason: "the homeserver failed (M_UNKNOWN: Internal server error); try again later" });
    expect(homeserverAnswer(synapse(401, { errcode: "M_UNKNOWN_TOKEN", error: "Unknown token" })).status).toBe(502);
    expect(homeserverAnswer({ statusCode: 502, body: "<html>Bad Gateway</html>" }).status).toBe(502);
    expect(homeserverAnswer(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8008"), { code: "ECONNREFUSED" })).status).toBe(502);
    expect(homeserverAnswer(undefined).status).toBe(502);
    const limited = homeserverAnswer(synapse(429, { errcode: "M_LIMIT_EXCEEDED", error: "Too Many Requests", retry_after_ms: 2500 }));
    expect([limited.status, limited.retryAfterSeconds]).toEqual([503, 3]);
  });

  it("never passes on a lone surrogate or an endless reason", () => {
    const answer = homeserverAnswer(synapse(400, { errcode: "M_BAD_JSON", error: `x\uD800${"y".repeat(1000)}` }));
    expect(answer.reason.length).toBeLessThan(400);
    expect(answer.reason).not.toMatch(/[\uD800-\uDFFF]/);
  });
});
