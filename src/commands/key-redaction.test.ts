import { describe, expect, it } from "vitest";
import type { MatrixPort } from "../matrix/port.js";
import { createLogger } from "../observability/logger.js";
import { holdsPrivateKey, keyRedactionNote, redactKeyMessage } from "./key-redaction.js";

const KEY_MESSAGE = "!hooks outbound tls ci key\n```\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n```";
const log = createLogger("silent");

describe("redacting posted keys", () => {
  it("knows a key when it sees one", () => {
    expect(holdsPrivateKey(KEY_MESSAGE)).toBe(true);
    expect(holdsPrivateKey(KEY_MESSAGE.replace(/PRIVATE KEY/g, "EC PRIVATE KEY"))).toBe(true);
    expect(holdsPrivateKey("!hooks outbound tls ci cert\n-----BEGIN CERTIFICATE-----")).toBe(false);
  });

  it("redacts the message, or says why it could not and what to do", async () => {
    const redacted: string[] = [];
    const matrix = { redactEvent: async (_room: string, eventId: string) => void redacted.push(eventId) } as unknown as MatrixPort;
    expect(await redactKeyMessage(KEY_MESSAGE, { matrix, roomId: "!r:x", eventId: "$k" }, log)).toEqual({ redacted: true });
    expect(await redactKeyMessage("!hooks outbound list", { matrix, roomId: "!r:x", eventId: "$l" }, log)).toBeNull();
    expect(redacted).toEqual(["$k"]);
    const forbidden = { redactEvent: async () => Promise.reject(Object.assign(new Error("nope"), { errcode: "M_FORBIDDEN" })) } as unknown as MatrixPort;
    const failed = await redactKeyMessage(KEY_MESSAGE, { matrix: forbidden, roomId: "!r:x", eventId: "$k" }, log);
    expect(failed).toEqual({ redacted: false, reason: "I lack the power level to redact other people's messages here" });
    expect(keyRedactionNote(failed)).toMatch(/redact it yourself now.*make a new key and certificate/);
    expect(keyRedactionNote({ redacted: true })).toBe(" I redacted your message: it held a private key.");
    expect(keyRedactionNote(null)).toBe("");
  });
});
