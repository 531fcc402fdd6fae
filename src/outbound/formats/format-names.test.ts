// Format names come from outside (a hook's state event, the config file): none of the names of
// Object.prototype may pass for a format.
import { describe, expect, it } from "vitest";
import { validateOutboundHookContent } from "../../connections/outbound-hook-state.js";
import { validateConfig } from "../../config/index.js";
import { ConfigError } from "../../config/errors.js";
import { EVENT_FORMATS, OUTBOUND_FORMATS } from "./format-names.js";

const PROTOTYPE_NAMES = [...new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__"])];
const config = (defaultFormat: string) => ({
  homeserver: { url: "http://hs.test", domain: "example.org" },
  store: { encryptionKey: Buffer.alloc(32, 1).toString("base64"), path: ":memory:" },
  delivery: { defaultFormat },
});

describe("format names", () => {
  it.each(PROTOTYPE_NAMES)("%s is no format in a hook's state event", (name) => {
    const result = validateOutboundHookContent("ci", { name: "ci", url: "https://example.org/hook", format: name });
    expect(result.ok).toBe(false);
  });

  it.each(PROTOTYPE_NAMES)("%s is no delivery.defaultFormat", (name) => {
    expect(() => validateConfig(config(name))).toThrow(ConfigError);
  });

  it("accepts each real format in a hook, and each event format as the default", () => {
    for (const format of OUTBOUND_FORMATS) {
      expect(validateOutboundHookContent("ci", { name: "ci", url: "https://example.org/hook", format })).toMatchObject({ ok: true, value: { format } });
    }
    for (const format of EVENT_FORMATS) expect(validateConfig(config(format)).delivery.defaultFormat).toBe(format);
  });

  it.each(["slack", "mattermost", "zulip"])("refuses the chat format %s as delivery.defaultFormat (it would turn every hook into a chat hook)", (format) => {
    expect(() => validateConfig(config(format))).toThrow(ConfigError);
  });
});
