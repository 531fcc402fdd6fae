import { describe, expect, it } from "vitest";
import { forDevice, transactionCrypto } from "./transaction-crypto.js";

const toDevice = (to: string, device: string) => ({ type: "m.room.encrypted", sender: "@a:hs", content: { algorithm: "m.olm.v1.curve25519-aes-sha2" }, to_user_id: to, to_device_id: device });

describe("transactionCrypto", () => {
  it("is null for a transaction with events only", () => {
    expect(transactionCrypto({ events: [] })).toBeNull();
    expect(transactionCrypto(null)).toBeNull();
    expect(transactionCrypto([])).toBeNull();
  });

  it("reads Synapse's prefixed fields", () => {
    const data = transactionCrypto({
      events: [],
      "de.sorunome.msc2409.to_device": [toDevice("@bot:hs", "DEV")],
      "org.matrix.msc3202.device_one_time_keys_count": { "@bot:hs": { DEV: { signed_curve25519: 49 } } },
      "org.matrix.msc3202.device_unused_fallback_key_types": { "@bot:hs": { DEV: ["signed_curve25519"] } },
      "org.matrix.msc3202.device_lists": { changed: ["@a:hs"], left: ["@b:hs"] },
    })!;
    expect(data.problems).toEqual([]);
    expect(data.toDevice).toHaveLength(1);
    expect(data.changedDevices).toEqual(["@a:hs"]);
    expect(data.leftDevices).toEqual(["@b:hs"]);
    expect(forDevice(data, "@bot:hs", "DEV")).toEqual({ toDevice: [toDevice("@bot:hs", "DEV")], counts: { signed_curve25519: 49 }, fallbackTypes: ["signed_curve25519"] });
  });

  it("gives each device its own share: other devices' messages and counts are not its", () => {
    const data = transactionCrypto({
      "de.sorunome.msc2409.to_device": [toDevice("@bot:hs", "DEV"), toDevice("@bot:hs", "OTHER"), toDevice("@ghost:hs", "G"), toDevice("@bot:hs", "*")],
      "org.matrix.msc3202.device_one_time_keys_count": { "@bot:hs": { OTHER: { signed_curve25519: 1 } } },
    })!;
    const mine = forDevice(data, "@bot:hs", "DEV");
    expect(mine.toDevice.map((m) => m.to_device_id)).toEqual(["DEV", "*"]);
    expect(mine.counts).toBeUndefined(); // unchanged, not zero
    expect(mine.fallbackTypes).toBeUndefined();
  });

  it("leaves out what is malformed, saying what, and keeps the rest", () => {
    const data = transactionCrypto({
      "de.sorunome.msc2409.to_device": [toDevice("@bot:hs", "DEV"), { type: "x" }, null, "text"],
      "org.matrix.msc3202.device_one_time_keys_count": { "@bot:hs": { DEV: { signed_curve25519: -1 }, OK: { signed_curve25519: 3 } }, "@x:hs": 5 },
      "org.matrix.msc3202.device_unused_fallback_key_types": "nope",
      "org.matrix.msc3202.device_lists": { changed: "@a:hs", left: [1] },
    })!;
    expect(data.toDevice).toHaveLength(1);
    expect(data.oneTimeKeyCounts.get("@bot:hs")?.get("OK")).toEqual({ signed_curve25519: 3 });
    expect(data.oneTimeKeyCounts.get("@bot:hs")?.has("DEV")).toBe(false);
    expect(data.changedDevices).toEqual([]);
    expect(data.leftDevices).toEqual([]);
    expect(data.problems).toHaveLength(8);
  });

  it("keeps ids from outside out of plain objects' prototypes", () => {
    const data = transactionCrypto({ "org.matrix.msc3202.device_one_time_keys_count": JSON.parse('{"__proto__": {"constructor": {"signed_curve25519": 2}}}') })!;
    expect(data.oneTimeKeyCounts.get("__proto__")?.get("constructor")).toEqual({ signed_curve25519: 2 });
    expect(forDevice(data, "@bot:hs", "constructor").counts).toBeUndefined();
  });

  it("leaves out device-list entries that are not user ids (the crypto core would refuse the whole list)", () => {
    const data = transactionCrypto({ "org.matrix.msc3202.device_lists": { changed: ["@a:hs", "not a user", "@b", ""], left: ["@c:hs"] } })!;
    expect(data.changedDevices).toEqual(["@a:hs"]);
    expect(data.leftDevices).toEqual(["@c:hs"]);
    expect(data.problems).toEqual(["device lists' changed: 3 entries that are not user ids"]);
  });

  it("reads the bot SDK's `removed` when `left` is absent", () => {
    expect(transactionCrypto({ "org.matrix.msc3202.device_lists": { removed: ["@z:hs"] } })!.leftDevices).toEqual(["@z:hs"]);
  });
});
