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
    expect(parsePayload(b('{"text":"hi"}'), "application/json; charset=utf-8")).toEqual({ kind: "json", value: { text: "hi" } });
    expect(parsePayload(b('{"a":1}'), "application/vnd.thing+json")).toEqual({ kind: "json", value: { a: 1 } });
    const slackForm = `payload=${encodeURIComponent(JSON.stringify({ text: "a&b=c" }))}`;
    expect(parsePayload(b(slackForm), "application/x-www-form-urlencoded")).toEqual({ kind: "json", value: { text: "a&b=c" } });
    expect(parsePayload(b("text=hello+there&username=ci&text=second"), "application/x-www-form-urlencoded")).toEqual({ kind: "json", value: { text: "hello there", username: "ci" } });
    expect(parsePayload(b("just words"), "text/plain")).toEqual({ kind: "text", value: "just words" });
    expect(parsePayload(b("<b>x</b>"), "text/html")).toEqual({ kind: "html", value: "<b>x</b>" });
  });

  it("reads curl -d JSON (sent as a form) and bodies without a content type", () => {
    expect(parsePayload(b('{"text":"a=b"}'), "application/x-www-form-urlencoded")).toEqual({ kind: "json", value: { text: "a=b" } });
    expect(parsePayload(b(' {"text":"x"}'), undefined)).toEqual({ kind: "json", value: { text: "x" } });
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

  it("refuses unknown content types and charsets with 415", () => {
    expect(failure(() => parsePayload(b("x"), "multipart/form-data; boundary=x")).status).toBe(415);
    expect(failure(() => parsePayload(b("x"), "text/plain; charset=klingon")).status).toBe(415);
  });
});
