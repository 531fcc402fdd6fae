import { describe, expect, it } from "vitest";
import { mayInvite } from "./invite-permission.js";

describe("mayInvite", () => {
  it("allows everyone with *", () => expect(mayInvite(["*"], "@a:b.org")).toBe(true));
  it("matches whole server names and user ids", () => {
    expect(mayInvite(["example.org"], "@a:example.org")).toBe(true);
    expect(mayInvite(["example.org"], "@a:evil-example.org")).toBe(false);
    expect(mayInvite(["example.org"], "@a:example.org.evil")).toBe(false);
    expect(mayInvite(["@a:example.org"], "@a:example.org")).toBe(true);
    expect(mayInvite(["@a:example.org"], "@b:example.org")).toBe(false);
    expect(mayInvite(["@a:example.org"], "@a:example.org:8448")).toBe(false);
  });
  it("allows nobody with an empty list", () => expect(mayInvite([], "@a:b")).toBe(false));
});
