import { describe, expect, it } from "vitest";
import { buildContent, RAW_PAYLOAD_KEY } from "./content.js";
import { genericMessage } from "./generic.js";
import { matrixSafe, parseJsonKeepingNumbers } from "./matrix-safe.js";
import { parsePayload } from "./payload.js";

/** Synapse's rules for event content: canonical JSON numbers only, and text it can write as UTF-8. */
function synapseRefusal(value: unknown): string | null {
  const text = JSON.stringify(value);
  if (/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i.test(text)) return "lone surrogate";
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === "number" && !Number.isSafeInteger(node)) return `number ${node}`;
    if (typeof node === "object" && node !== null) stack.push(...(Array.isArray(node) ? node : Object.values(node)));
  }
  return null;
}

const contentOf = (body: string, contentType = "application/json") => {
  const payload = parsePayload(Buffer.from(body), contentType);
  return buildContent(genericMessage(payload), { defaultMsgtype: "m.notice", raw: payload.kind === "json" ? payload.raw : payload.value, rawMaxBytes: 16384 });
};

describe("what the homeserver can store", () => {
  it("turns numbers beyond safe integers into their text, keeping integers", () => {
    expect(matrixSafe({ a: 3.14, b: 2 ** 60, c: -(2 ** 53 - 1), d: [0.5, 7] })).toEqual({ a: "3.14", b: "1152921504606846976", c: -(2 ** 53 - 1), d: ["0.5", 7] });
    expect(parseJsonKeepingNumbers('[12345678901234567891, 1E+2, 1.0e400, -0.0]')).toEqual(["12345678901234567891", 100, "1.0e400", -0]);
  });

  it("replaces lone surrogates with U+FFFD in strings and keys, keeping real pairs", () => {
    expect(matrixSafe({ "k\uD800": "a \uD800 b \uDC00", ok: "😀" })).toEqual({ "k\uFFFD": "a \uFFFD b \uFFFD", ok: "😀" });
  });

  it("copies keys named like Object.prototype's properties as plain own keys", () => {
    const names = [...Object.getOwnPropertyNames(Object.prototype), "__proto__"];
    const parsed = JSON.parse(`{${names.map((n) => `"${n}":{"x":1.5}`).join(",")}}`) as object;
    const safe = matrixSafe(parsed) as Record<string, unknown>;
    expect(Object.getPrototypeOf(safe)).toBe(Object.prototype);
    for (const n of names) expect(Object.getOwnPropertyDescriptor(safe, n)?.value, n).toEqual({ x: "1.5" });
    expect(JSON.parse(JSON.stringify(safe))).toEqual(JSON.parse(JSON.stringify(matrixSafe(parsed))));
  });

  it("gives content Synapse accepts for floats, huge integers, bare numbers and lone surrogates", () => {
    const cases = [
      '{"text":"hi","score":3.14}',
      '{"attachments":[{"text":"deploy","ts":1712345678.5}]}',
      "3.14",
      "1152921504606846976",
      '{"text":"a \\ud800 b","\\udc00key":"\\ud83d"}',
      '{"html":"<b>\\ud800</b>","username":"x\\udfff"}',
    ];
    for (const body of cases) expect(synapseRefusal(contentOf(body)), body).toBeNull();
    expect(contentOf('{"text":"hi","score":3.14}')[RAW_PAYLOAD_KEY]).toEqual({ text: "hi", score: "3.14" });
    expect(contentOf("1152921504606846976")[RAW_PAYLOAD_KEY]).toBe("1152921504606846976");
    expect(contentOf('{"text":"a \\ud800 b"}')).toMatchObject({ body: "a \uFFFD b", [RAW_PAYLOAD_KEY]: { text: "a \uFFFD b" } });
  });

  it("the stand-in rules catch what Synapse refuses", () => {
    expect(synapseRefusal({ a: 1.5 })).toBe("number 1.5");
    expect(synapseRefusal({ a: "\uD800" })).toBe("lone surrogate");
    expect(synapseRefusal({ "\uDC00": 1 })).toBe("lone surrogate");
    expect(synapseRefusal({ a: "😀", b: 2 ** 53 - 1 })).toBeNull();
  });
});
