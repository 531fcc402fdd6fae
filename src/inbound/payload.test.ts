import { describe, expect, it } from "vitest";
import { InboundError } from "./errors.js";
import { parsePayload } from "./payload.js";

const b = (s: string) => Buffer.from(s);
const failure = (run: () => unknown): InboundError => {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InboundError);
    return err as InboundError;
  }
  throw new Error("expected an InboundError");
};

describe("parsePayload", () => {
  it("reads JSON, forms with payload=, form fields, text and HTML", () => {
    expect(parsePayload(b('{"text":"hi"}'), "application/json; charset=utf-8")).toEqual({ kind: "json", value: { text: "hi" }, raw: { text: "hi" } });
    expect(parsePayload(b('{"a":1}'), "application/vnd.thing+json")).toEqual({ kind: "json", value: { a: 1 }, raw: { a: 1 } });
    const slackForm = `payload=${encodeURIComponent(JSON.stringify({ text: "a&b=c" }))}`;
    expect(parsePayload(b(slackForm), "application/x-www-form-urlencoded")).toEqual({ kind: "json", value: { text: "a&b=c" }, raw: { text: "a&b=c" }, slackForm: true });
    expect(parsePayload(b("text=hello+there&username=ci&text=second"), "application/x-www-form-urlencoded")).toMatchObject({ kind: "json", value: { text: "hello there", username: "ci" } });
    expect(parsePayload(b("just words"), "text/plain")).toEqual({ kind: "text", value: "just words" });
    expect(parsePayload(b("<b>x</b>"), "text/html")).toEqual({ kind: "html", value: "<b>x</b>" });
  });

  it("reads curl -d JSON (sent as a form) and bodies without a content type", () => {
    expect(parsePayload(b('{"text":"a=b"}'), "application/x-www-form-urlencoded")).toEqual({ kind: "json", value: { text: "a=b" }, raw: { text: "a=b" } });
    expect(parsePayload(b(' {"text":"x"}'), undefined)).toEqual({ kind: "json", value: { text: "x" }, raw: { text: "x" } });
    expect(parsePayload(b("plain"), undefined)).toEqual({ kind: "text", value: "plain" });
  });

  it("decodes other charsets", () => {
    expect(parsePayload(Buffer.from([0x63, 0x61, 0x66, 0xe9]), "text/plain; charset=latin1")).toEqual({ kind: "text", value: "café" });
  });

  it("refuses with 400 and a reason", () => {
    expect(failure(() => parsePayload(b("{nope"), "application/json")).status).toBe(400);
    expect(failure(() => parsePayload(b("{nope"), "application/json")).reason).toMatch(/not valid JSON/);
    expect(failure(() => parsePayload(b("   "), "text/plain")).reason).toBe("the body is empty");
    expect(failure(() => parsePayload(b("payload=%7Bbad"), "application/x-www-form-urlencoded")).reason).toMatch(/payload field is not valid JSON/);
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(failure(() => parsePayload(b(deep), "application/json")).reason).toMatch(/nests deeper than 64/);
  });

  it("keeps numbers a homeserver cannot store as their exact source text in raw, and leaves value as JSON reads it", () => {
    const parsed = parsePayload(b('{"text":"hi","score":3.14,"big":12345678901234567891,"exp":1e3,"int":-42,"two":2.0,"n":[1.5e-7]}'), "application/json");
    expect(parsed).toMatchObject({ kind: "json", value: { text: "hi", score: 3.14, exp: 1000, int: -42, two: 2, n: [1.5e-7] } });
    expect(parsed.kind === "json" && parsed.raw).toEqual({ text: "hi", score: "3.14", big: "12345678901234567891", exp: 1000, int: -42, two: 2, n: ["1.5e-7"] });
    expect(parsePayload(b("1152921504606846976"), "application/json")).toMatchObject({ raw: "1152921504606846976" });
    expect(parsePayload(b(String(2 ** 53 - 1)), "application/json")).toMatchObject({ raw: 2 ** 53 - 1 });
    expect(parsePayload(b(String(2 ** 53)), "application/json")).toMatchObject({ raw: "9007199254740992" });
    const form = parsePayload(b(`payload=${encodeURIComponent('{"attachments":[{"text":"x","ts":1712345678.5}]}')}`), "application/x-www-form-urlencoded");
    expect(form).toMatchObject({ slackForm: true, raw: { attachments: [{ text: "x", ts: "1712345678.5" }] } });
  });

  it("reads form fields named like Object.prototype's properties as fields", () => {
    const names = [...Object.getOwnPropertyNames(Object.prototype), "__proto__"];
    const parsed = parsePayload(b(names.map((n) => `${n}=v-${n}`).join("&") + "&text=hi"), "application/x-www-form-urlencoded");
    if (parsed.kind !== "json") throw new Error("expected JSON");
    const value = parsed.value as Record<string, unknown>;
    for (const n of names) expect(Object.getOwnPropertyDescriptor(value, n)?.value, n).toBe(`v-${n}`);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(value.text).toBe("hi");
  });

  it("refuses unknown content types and charsets with 415", () => {
    expect(failure(() => parsePayload(b("x"), "multipart/form-data; boundary=x")).status).toBe(415);
    expect(failure(() => parsePayload(b("x"), "text/plain; charset=klingon")).status).toBe(415);
  });
});
