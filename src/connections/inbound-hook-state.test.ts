import { describe, expect, it } from "vitest";
import { DEFAULT_INBOUND_PERMISSIONS } from "./inbound-permissions.js";
import { checkInboundName, inboundHookContent, isInboundRemoval, validateInboundHookContent } from "./inbound-hook-state.js";

describe("inbound hook state", () => {
  it("accepts Hookshot's content and ours", () => {
    expect(validateInboundHookContent("ci", { name: "ci" })).toEqual({ ok: true, value: { name: "ci", avatar: null, msgtype: "m.notice", expiresAt: null, permissions: DEFAULT_INBOUND_PERMISSIONS } });
    const full = validateInboundHookContent("CI Bot", { name: "CI Bot", avatar: "mxc://x.org/abc", msgtype: "m.text", hookId: "visible-id", transformationFunction: "x", expirationDate: "2030-01-01T00:00:00Z" });
    expect(full).toEqual({ ok: true, value: { name: "CI Bot", avatar: "mxc://x.org/abc", msgtype: "m.text", expiresAt: Date.parse("2030-01-01T00:00:00Z"), permissions: DEFAULT_INBOUND_PERMISSIONS, transformationFunction: "x" } });
    const limited = validateInboundHookContent("ci", { name: "ci", permissions: { masquerade: true, upload_files: false } });
    expect(limited).toMatchObject({ ok: true, value: { permissions: { send_messages: true, send_embeds: true, masquerade: true, upload_files: false } } });
  });

  it.each([
    [{ name: "other" }, /must equal the state key/],
    [{ name: "ci", avatar: "https://x/a.png" }, /avatar: .* is not an mxc/],
    [{ name: "ci", msgtype: "m.image" }, /msgtype: must be one of m.notice, m.text, m.emote/],
    [{ name: "ci", expirationDate: "soon" }, /expirationDate: .* is not a date/],
    [{}, /name: must have required property/],
    [{ name: "ci", permissions: { fly: true } }, /permissions: must NOT have additional properties/],
    [{ name: "ci", permissions: { masquerade: "yes" } }, /permissions\/masquerade: must be boolean/],
  ])("rejects %j", (content, reason) => {
    const result = validateInboundHookContent("ci", content);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join("; ")).toMatch(reason);
  });

  it("checks names: 1 to 32 characters as the RFC says", () => {
    expect(checkInboundName("a")).toBeNull();
    expect(checkInboundName("Build bot 🚀")).toBeNull();
    expect(checkInboundName("x".repeat(32))).toBeNull();
    expect(checkInboundName("x".repeat(33))).toMatch(/33 characters long \(at most 32\)/);
    expect(checkInboundName("")).toMatch(/empty/);
    expect(checkInboundName(" x")).toMatch(/space/);
    expect(checkInboundName("a\nb")).toMatch(/control/);
  });

  it("writes only what differs from the defaults, and reads removals", () => {
    expect(inboundHookContent({ name: "ci", avatar: null, msgtype: "m.notice" })).toEqual({ name: "ci" });
    expect(inboundHookContent({ name: "ci", avatar: "mxc://a/b", msgtype: "m.text" })).toEqual({ name: "ci", avatar: "mxc://a/b", msgtype: "m.text" });
    expect(isInboundRemoval({})).toBe(true);
    expect(isInboundRemoval({ disabled: true })).toBe(true);
    expect(isInboundRemoval({ name: "ci" })).toBe(false);
  });
});
