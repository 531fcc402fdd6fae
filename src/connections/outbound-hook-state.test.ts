import { describe, expect, it } from "vitest";
import { checkHookName, isRemoval, validateOutboundHookContent } from "./outbound-hook-state.js";

describe("validateOutboundHookContent", () => {
  it("accepts Hookshot's content and defaults the method to PUT", () => {
    expect(validateOutboundHookContent("ci", { name: "ci", url: "https://example.org/hook" })).toEqual({
      ok: true,
      value: {
        name: "ci", url: "https://example.org/hook", urls: ["https://example.org/hook"], method: "PUT", ordering: "none", format: null,
        filter: { eventTypes: null, msgtypes: null, triggerWords: null, triggerWhen: "first_word" }, contentType: "form", callback: null, tlsProfile: null, batch: null,
      },
    });
    const post = validateOutboundHookContent("ci", { name: "ci", url: "http://example.org/", method: "POST", extra: 1 });
    expect(post.ok && post.value.method).toBe("POST");
  });

  it("reads trigger words, filters, several URLs and the content type", () => {
    const result = validateOutboundHookContent("bot", {
      name: "bot", url: "https://a.example/", urls: ["https://b.example/", "https://a.example/"], format: "mattermost", content_type: "application/json",
      trigger_words: ["#build"], trigger_when: "starts_with", event_types: ["m.room.message"], msgtypes: ["m.text"],
    });
    expect(result).toMatchObject({
      ok: true,
      value: {
        url: "https://a.example/", urls: ["https://a.example/", "https://b.example/"], method: "POST", contentType: "json",
        filter: { eventTypes: ["m.room.message"], msgtypes: ["m.text"], triggerWords: ["#build"], triggerWhen: "starts_with" },
      },
    });
    expect(validateOutboundHookContent("bot", { name: "bot", urls: ["https://b.example/"] })).toMatchObject({ ok: true, value: { url: "https://b.example/" } });
    expect(validateOutboundHookContent("ci", { name: "ci", url: "https://a.example/", tls_profile: "partner" })).toMatchObject({ ok: true, value: { tlsProfile: "partner" } });
    expect(validateOutboundHookContent("ci", { name: "ci", url: "https://a.example/", format: "json", transformation_function: "result = data" })).toMatchObject({
      ok: true, value: { transformationFunction: "result = data" },
    });
  });

  it.each([
    [{ name: "ci" }, /must have required property 'url'/],
    [{ name: "ci", urls: [] }, /urls: must NOT have fewer than 1 items/],
    [{ name: "ci", urls: ["https://a.example/", "ftp://b.example/"] }, /urls\/1: the URL scheme "ftp" is not allowed/],
    [{ name: "ci", url: "https://a.example/", trigger_words: ["two words"] }, /trigger_words\/0: must match pattern/],
    [{ name: "ci", url: "https://a.example/", trigger_words: "#build" }, /trigger_words: must be array/],
    [{ name: "ci", url: "https://a.example/", trigger_when: "anywhere" }, /trigger_when: must be one of first_word, starts_with/],
    [{ name: "ci", url: "https://a.example/", msgtypes: [1] }, /msgtypes\/0: must be string/],
    [{ name: "ci", url: "https://a.example/", content_type: "text/xml" }, /content_type: must be one of/],
    [{ name: "ci", url: 5 }, /url: must be string/],
    [{ name: "ci", url: "https://a.example/", tls_profile: "" }, /tls_profile: must NOT have fewer than 1 characters/],
    [{ name: "ci", url: "https://a.example/", format: "slack", transformation_function: "result = 1" }, /transformation_function: only hooks that send the event/],
    [{ name: "ci", url: "https://a.example/", transformation_function: "" }, /transformation_function: must NOT have fewer than 1 characters/],
    [{ name: "ci", url: "ftp://example.org/" }, /scheme "ftp" is not allowed/],
    [{ name: "ci", url: "not a url" }, /not a valid absolute URL/],
    [{ name: "ci", url: "https://user:pw@example.org/" }, /user name or password/],
    [{ name: "ci", url: "https://example.org/", method: "GET" }, /method: must be one of PUT, POST/],
    [{ name: "other", url: "https://example.org/" }, /must equal the state key/],
    [{ name: "ci", url: "https://example.org/", ordering: "fifo" }, /ordering: must be one of none, strict/],
    ["string content", /content: must be object/],
  ])("rejects %j with a reason", (content, reason) => {
    const result = validateOutboundHookContent("ci", content);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join("; ")).toMatch(reason);
  });

  it("rejects over-long names", () => {
    const long = "x".repeat(65);
    const result = validateOutboundHookContent(long, { name: long, url: "https://example.org/" });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join("; ")).toMatch(/65 characters long/);
  });

  it("reports several problems at once", () => {
    const result = validateOutboundHookContent("ci", { name: 1, url: 2, method: "GET" });
    expect(result.ok ? [] : result.problems).toHaveLength(3);
  });
});

describe("names and removal", () => {
  it("checks names", () => {
    expect(checkHookName("deploy-bot")).toBeNull();
    expect(checkHookName("has space")).toMatch(/spaces/);
    expect(checkHookName("")).toMatch(/empty/);
  });

  it("treats empty content as removal", () => {
    expect(isRemoval({})).toBe(true);
    expect(isRemoval(undefined)).toBe(true);
    expect(isRemoval({ name: "x" })).toBe(false);
  });
});
