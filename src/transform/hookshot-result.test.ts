import { describe, expect, it } from "vitest";
import { inboundTransformOf, outboundTransformOf } from "./hookshot-result.js";
import { TransformFailure } from "./sandbox.js";

describe("inboundTransformOf (Hookshot's result contract)", () => {
  it("reads v1 results as Hookshot does", () => {
    expect(inboundTransformOf("The answer is 42")).toEqual({ kind: "message", plain: "Received webhook: The answer is 42" });
    for (const falsy of [undefined, null, false, 0]) expect(inboundTransformOf(falsy)).toEqual({ kind: "message", plain: "No content" });
  });

  it("reads v2 results: plain, html, msgtype, mentions, empty", () => {
    expect(inboundTransformOf({ version: "v2", plain: "**hi**" })).toEqual({ kind: "message", plain: "**hi**" });
    expect(inboundTransformOf({ version: "v2", plain: "hi", html: "<b>hi</b>", msgtype: "m.text" })).toEqual({ kind: "message", plain: "hi", html: "<b>hi</b>", msgtype: "m.text" });
    expect(inboundTransformOf({ version: "v2", empty: true })).toEqual({ kind: "empty" });
    expect(inboundTransformOf({ version: "v2", plain: "x", mentions: { room: true, user_ids: ["@a:b"], ignored_data: true } })).toMatchObject({
      mentions: { room: true, user_ids: ["@a:b"] },
    });
    expect(inboundTransformOf({ version: "v2", plain: "x", webhookResponse: { body: "{}", statusCode: 201, contentType: "application/json" } })).toEqual({
      kind: "message", plain: "x", response: { body: "{}", statusCode: 201, contentType: "application/json" },
    });
    expect(inboundTransformOf({ version: "v2", empty: true, webhookResponse: { body: "ignored" } })).toEqual({ kind: "empty", response: { body: "ignored", statusCode: 200, contentType: null } });
  });

  it("takes a per-message identity (ours) for the identity-override rules to judge", () => {
    expect(inboundTransformOf({ version: "v2", plain: "x", username: " CI ", avatar_url: "mxc://a/b" })).toMatchObject({ username: "CI", avatarUrl: "mxc://a/b" });
  });

  it("refuses what Hookshot refuses, with its wording", () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ plain: "no version" }, /didn't specify version = v2/],
      [{ version: "v2" }, /string value for plain/],
      [{ version: "v2", plain: "x", html: 5 }, /string value for html/],
      [{ version: "v2", plain: "x", msgtype: 5 }, /string value for msgtype/],
      [{ version: "v2", plain: "x", msgtype: "m.image" }, /msgtype "m.image"/],
      [{ version: "v2", plain: "x", mentions: { room: "yes" } }, /mentions.room/],
      [{ version: "v2", plain: "x", mentions: { user_ids: "@a:b" } }, /mentions.user_ids/],
      [{ version: "v2", plain: "x", webhookResponse: { body: 1 } }, /webhookResponse.body/],
      [{ version: "v2", plain: "x", webhookResponse: { body: "", statusCode: 302 } }, /statusCode outside/],
      [{ version: "v2", plain: "x", webhookResponse: { body: "", statusCode: 200.5 } }, /webhookResponse.statusCode/],
      [{ version: "v2", plain: "x", webhookResponse: { body: "", contentType: "text/html\r\nSet-Cookie: a=b" } }, /not a media type/],
      [{ version: "v2", plain: "  " }, /empty plain/],
    ];
    for (const [result, message] of cases) {
      expect(() => inboundTransformOf(result)).toThrow(TransformFailure);
      expect(() => inboundTransformOf(result)).toThrow(message);
    }
  });
});

describe("outboundTransformOf", () => {
  it("sends the result as JSON, skips on {empty: true}, refuses an unset result", () => {
    expect(outboundTransformOf({ text: "hi" })).toEqual({ kind: "body", json: '{"text":"hi"}' });
    expect(outboundTransformOf([1, 2])).toEqual({ kind: "body", json: "[1,2]" });
    expect(outboundTransformOf("plain")).toEqual({ kind: "body", json: '"plain"' });
    expect(outboundTransformOf({ empty: true })).toEqual({ kind: "empty" });
    expect(outboundTransformOf({ empty: true, version: "v2" })).toEqual({ kind: "empty" });
    expect(outboundTransformOf({ empty: true, text: "kept" })).toEqual({ kind: "body", json: '{"empty":true,"text":"kept"}' });
    expect(() => outboundTransformOf(undefined)).toThrow(/did not set result/);
  });
});
