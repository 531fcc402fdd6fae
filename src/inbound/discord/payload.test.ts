import { describe, expect, it } from "vitest";
import { invalidFormBody } from "./errors.js";
import { embedChars, readDiscordPayload } from "./payload.js";

const issuesOf = (v: unknown) => readDiscordPayload(v).issues;
const errorsOf = (v: unknown) => invalidFormBody(issuesOf(v)).body.errors;

describe("Discord execute-webhook body", () => {
  it("reads every field of a full body", () => {
    const { payload, issues } = readDiscordPayload({
      content: "hi", username: "CI", avatar_url: "https://a.example/x.png", flags: 4096, allowed_mentions: { parse: ["users"] }, tts: false,
      attachments: [{ id: 0, filename: "log.txt", description: "the log" }],
      embeds: [{
        title: "T", url: "https://x.example", description: "D", color: 0x00ff00, timestamp: "2026-12-02T07:00:00Z",
        author: { name: "A", url: "https://a.example", icon_url: "https://a.example/i.png" }, footer: { text: "F", icon_url: "https://f.example/i.png" },
        image: { url: "https://i.example/a.png" }, thumbnail: { url: "attachment://x.png" }, fields: [{ name: "n", value: "v", inline: true }, { name: "m", value: "w" }],
      }],
    });
    expect(issues).toEqual([]);
    expect(payload).toEqual({
      content: "hi", username: "CI", avatarUrl: "https://a.example/x.png", flags: 4096, allowedMentions: { everyone: false },
      attachments: [{ id: "0", filename: "log.txt", description: "the log" }],
      embeds: [{
        title: "T", url: "https://x.example", description: "D", color: 0x00ff00, timestamp: "2026-12-02T07:00:00Z",
        author: { name: "A", url: "https://a.example", icon_url: "https://a.example/i.png" }, footer: { text: "F", icon_url: "https://f.example/i.png" },
        image: { url: "https://i.example/a.png" }, thumbnail: { url: "attachment://x.png" }, fields: [{ name: "n", value: "v", inline: true }, { name: "m", value: "w", inline: false }],
      }],
    });
    expect(readDiscordPayload({ content: "@everyone" }).payload.allowedMentions).toEqual({ everyone: true });
    expect(readDiscordPayload({ allowed_mentions: { parse: ["everyone"] } }).payload.allowedMentions).toEqual({ everyone: true });
    expect(readDiscordPayload({ allowed_mentions: {} }).payload.allowedMentions).toEqual({ everyone: false });
  });

  it("refuses content over 2,000 characters (code points), usernames over 80 or empty", () => {
    expect(issuesOf({ content: "x".repeat(2000) })).toEqual([]);
    expect(issuesOf({ content: "😀".repeat(2000) })).toEqual([]);
    expect(errorsOf({ content: "x".repeat(2001) })).toEqual({ content: { _errors: [{ code: "BASE_TYPE_MAX_LENGTH", message: "Must be 2000 or fewer in length." }] } });
    expect(errorsOf({ username: "u".repeat(81) })).toMatchObject({ username: { _errors: [{ code: "BASE_TYPE_MAX_LENGTH" }] } });
    expect(errorsOf({ username: "" })).toMatchObject({ username: { _errors: [{ code: "BASE_TYPE_MIN_LENGTH" }] } });
    expect(errorsOf({ content: 5 })).toMatchObject({ content: { _errors: [{ code: "BASE_TYPE_STRING" }] } });
  });

  it("refuses more than 10 embeds, more than 6,000 characters in all of them, and each field over its limit", () => {
    expect(errorsOf({ embeds: Array.from({ length: 11 }, () => ({ title: "t" })) })).toMatchObject({ embeds: { _errors: [{ code: "BASE_TYPE_MAX_LENGTH", message: "Must be 10 or fewer in length." }] } });
    const big = Array.from({ length: 2 }, () => ({ description: "d".repeat(3001) }));
    expect(errorsOf({ embeds: big })).toEqual({ embeds: { _errors: [{ code: "MAX_EMBED_SIZE_EXCEEDED", message: "Embed size exceeds maximum size of 6000" }] } });
    expect(issuesOf({ embeds: [{ description: "d".repeat(3000) }, { description: "d".repeat(3000) }] })).toEqual([]);
    const limits: Array<[Record<string, unknown>, string[]]> = [
      [{ title: "t".repeat(257) }, ["title"]],
      [{ description: "d".repeat(4097) }, ["description"]],
      [{ author: { name: "a".repeat(257) } }, ["author", "name"]],
      [{ footer: { text: "f".repeat(2049) } }, ["footer", "text"]],
      [{ fields: [{ name: "n".repeat(257), value: "v" }] }, ["fields", "0", "name"]],
      [{ fields: [{ name: "n", value: "v".repeat(1025) }] }, ["fields", "0", "value"]],
    ];
    for (const [embed, path] of limits) {
      let node = (errorsOf({ embeds: [{ title: "ok" }, embed] }) as Record<string, unknown>).embeds as Record<string, unknown>;
      for (const part of ["1", ...path]) node = node[part] as Record<string, unknown>;
      expect(node, path.join(".")).toMatchObject({ _errors: [{ code: "BASE_TYPE_MAX_LENGTH" }] });
    }
    expect(errorsOf({ embeds: [{ fields: Array.from({ length: 26 }, () => ({ name: "n", value: "v" })) }] })).toMatchObject({ embeds: { 0: { fields: { _errors: [{ message: "Must be 25 or fewer in length." }] } } } });
  });

  it("says which required, typed or well-formed field is wrong", () => {
    expect(errorsOf({ embeds: [{ fields: [{ name: "n" }], author: {}, footer: { text: "" }, image: {}, color: -1, timestamp: "yesterday", url: "javascript:alert(1)" }] })).toEqual({
      embeds: { 0: {
        url: { _errors: [{ code: "URL_TYPE_INVALID_URL", message: "Not a well formed URL." }] },
        color: { _errors: [{ code: "NUMBER_TYPE_MAX", message: "int value should be between 0 and 16777215." }] },
        timestamp: { _errors: [{ code: "DATE_TIME_TYPE_PARSE", message: "Could not parse the timestamp. Should be ISO8601." }] },
        author: { name: { _errors: [{ code: "BASE_TYPE_REQUIRED", message: "This field is required" }] } },
        footer: { text: { _errors: [{ code: "BASE_TYPE_MIN_LENGTH", message: "Must be 1 or more in length." }] } },
        image: { url: { _errors: [{ code: "BASE_TYPE_REQUIRED", message: "This field is required" }] } },
        fields: { 0: { value: { _errors: [{ code: "BASE_TYPE_REQUIRED", message: "This field is required" }] } } },
      } },
    });
    expect(errorsOf({ embeds: "x" })).toMatchObject({ embeds: { _errors: [{ code: "BASE_TYPE_LIST" }] } });
    expect(errorsOf({ flags: 1 })).toMatchObject({ flags: { _errors: [{ code: "MESSAGE_FLAGS_INVALID" }] } });
    expect(errorsOf({ flags: "x" })).toMatchObject({ flags: { _errors: [{ code: "NUMBER_TYPE_COERCE", message: 'Value "x" is not int.' }] } });
    // A value whose own toString is not a function is described, never converted.
    expect(errorsOf(JSON.parse('{"flags":[{"toString":1}]}'))).toMatchObject({ flags: { _errors: [{ message: "Value an array is not int." }] } });
    expect(errorsOf({ allowed_mentions: { parse: ["all"] } })).toMatchObject({ allowed_mentions: { parse: { 0: { _errors: [{ code: "BASE_TYPE_CHOICES" }] } } } });
    expect(errorsOf({ components: [] })).toMatchObject({ components: { _errors: [{ code: "UNSUPPORTED" }] } });
    expect(errorsOf([1])).toMatchObject({ _errors: [{ code: "DICT_TYPE_CONVERT" }] });
  });

  it("reads keys named like Object.prototype's properties as nothing special", () => {
    const body = JSON.parse('{"__proto__":{"content":"x"},"constructor":1,"content":"ok","embeds":[{"__proto__":{"title":"p"},"fields":[{"name":"a","value":"b","__proto__":1}]}]}');
    const { payload, issues } = readDiscordPayload(body);
    expect(issues).toEqual([]);
    expect(payload.content).toBe("ok");
    expect(payload.embeds).toEqual([{ fields: [{ name: "a", value: "b", inline: false }] }]);
  });

  it("counts the characters Discord counts towards 6,000", () => {
    expect(embedChars({ title: "ab", description: "c", author: { name: "d" }, footer: { text: "e" }, url: "https://not.counted", fields: [{ name: "f", value: "gh", inline: false }] })).toBe(8);
  });
});
