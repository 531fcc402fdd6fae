import { describe, expect, it } from "vitest";
import { hasPrivilegedCreators, mayConfigureHooks, mayRedactOthers, requiredStateLevel, userPowerLevel } from "./power-levels.js";

const TYPE = "uk.half-shot.matrix-hookshot.outbound-hook";

const room = (powerLevels: object, privilegedCreators: string[] = []) => ({ powerLevels, privilegedCreators });

describe("power levels", () => {
  const pl = { users: { "@admin:x": 100, "@mod:x": 50 }, users_default: 0, state_default: 50, events: { [TYPE]: 75 } };

  it("reads user levels with users_default as fallback", () => {
    expect(userPowerLevel(pl, "@admin:x")).toBe(100);
    expect(userPowerLevel(pl, "@nobody:x")).toBe(0);
    expect(userPowerLevel({ users_default: 10 }, "@nobody:x")).toBe(10);
  });

  it("uses the event's own level, else state_default, else 50", () => {
    expect(requiredStateLevel(pl, TYPE)).toBe(75);
    expect(requiredStateLevel(pl, "other")).toBe(50);
    expect(requiredStateLevel({}, "other")).toBe(50);
  });

  it("reads the level to redact others' events (default 50)", () => {
    expect(mayRedactOthers(room(pl), "@mod:x")).toEqual({ allowed: true, has: 50, needs: 50 });
    expect(mayRedactOthers(room({ ...pl, redact: 75 }), "@mod:x")).toEqual({ allowed: false, has: 50, needs: 75 });
    expect(mayRedactOthers(room({ ...pl, redact: "0" }), "@nobody:x")).toEqual({ allowed: false, has: 0, needs: 50 });
    expect(mayRedactOthers(room({}, ["@c:x"]), "@c:x").allowed).toBe(true);
  });

  it("ignores malformed values", () => {
    expect(userPowerLevel({ users: { "@a:x": "100" } }, "@a:x")).toBe(0);
    expect(requiredStateLevel({ state_default: "0" }, TYPE)).toBe(50);
  });

  it("raises the room's rule to the configured minimum", () => {
    expect(mayConfigureHooks(room(pl), "@admin:x", TYPE, null)).toEqual({ allowed: true, has: 100, needs: 75 });
    expect(mayConfigureHooks(room(pl), "@mod:x", TYPE, null).allowed).toBe(false);
    const open = { users: { "@user:x": 0 }, events: { [TYPE]: 0 } };
    expect(mayConfigureHooks(room(open), "@user:x", TYPE, null).allowed).toBe(true);
    expect(mayConfigureHooks(room(open), "@user:x", TYPE, 50)).toEqual({ allowed: false, has: 0, needs: 50 });
  });

  it("gives room creators unlimited power in room versions 12 and later", () => {
    expect(hasPrivilegedCreators("12")).toBe(true);
    expect(hasPrivilegedCreators("13")).toBe(true);
    expect(hasPrivilegedCreators("org.matrix.hydra.11")).toBe(true);
    expect(hasPrivilegedCreators("11")).toBe(false);
    expect(hasPrivilegedCreators(undefined)).toBe(false);
    const verdict = mayConfigureHooks(room({ users: {}, events: { [TYPE]: 100 } }, ["@creator:x"]), "@creator:x", TYPE, 100);
    expect(verdict.allowed).toBe(true);
    expect(mayConfigureHooks(room({ users: {} }, ["@creator:x"]), "@other:x", TYPE, null).allowed).toBe(false);
  });
});
