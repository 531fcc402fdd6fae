import { describe, expect, it } from "vitest";
import { wellFormed } from "../../../inbound/matrix-safe.js";
import { plain } from "../../../inbound/message.js";
import { assembleReply, cutMarker } from "./chat-reply.js";
import { splitReplySource } from "./reply-split.js";

const FENCE = /^```/;
/** Whether every part opens and closes its code fences. */
const balanced = (part: string) => part.split("\n").filter((l) => FENCE.test(l)).length % 2 === 0;
const withoutFenceLines = (part: string) => part.split("\n").filter((l) => !FENCE.test(l)).join("\n");

describe("splitting a long reply", () => {
  it("keeps a short reply whole", () => {
    expect(splitReplySource("one\ntwo", 10, 3)).toEqual({ parts: ["one\ntwo"], cutChars: 0 });
  });

  it("cuts in order at line boundaries, each part within maxChars", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${String(i).padStart(2, "0")} ${"x".repeat(20)}`);
    const source = lines.join("\n");
    const { parts, cutChars } = splitReplySource(source, 100, 50);
    expect(cutChars).toBe(0);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(100);
    // Nothing lost, nothing reordered, every cut at a line end.
    expect(parts.join("\n")).toBe(source);
    for (const p of parts) expect(lines).toContain(p.split("\n").at(-1));
  });

  it("falls back to a space, then to a hard cut", () => {
    expect(splitReplySource("aaaa bbbb cccc", 9, 5).parts).toEqual(["aaaa bbbb", "cccc"]);
    expect(splitReplySource("abcdefghij", 4, 5).parts).toEqual(["abcd", "efgh", "ij"]);
  });

  it("never cuts a surrogate pair", () => {
    const emoji = "😀".repeat(10);
    for (const size of [1, 2, 3, 5]) {
      const { parts } = splitReplySource(emoji, size, 100);
      expect(parts.join("")).toBe(emoji);
      for (const p of parts) expect(wellFormed(p), `size ${size}`).toBe(p);
    }
  });

  it("closes a code fence open at a cut and reopens it with its info string in the next part", () => {
    const code = Array.from({ length: 20 }, (_, i) => `const v${i} = ${i};`).join("\n");
    const source = `Intro\n\`\`\`js\n${code}\n\`\`\`\nOutro`;
    const { parts } = splitReplySource(source, 80, 50);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(balanced(p), p).toBe(true);
    for (const p of parts.slice(1, -1)) expect(p.startsWith("```js\n")).toBe(true);
    expect(parts.at(-1)).toMatch(/```\nOutro$/);
    for (const p of parts) expect(withoutFenceLines(p).length).toBeLessThanOrEqual(80);
    // The code itself is all there, in order.
    expect(parts.map(withoutFenceLines).join("\n")).toBe(`Intro\n${code}\nOutro`);
  });

  it("does not take a line with backticks after its info string for a fence", () => {
    const source = "```a```\n" + "x ".repeat(60);
    const { parts } = splitReplySource(source, 50, 10);
    expect(parts.slice(1).every((p) => !p.startsWith("```"))).toBe(true);
  });

  it("stops at maxParts and says how much was left out", () => {
    const source = "abcdefghij".repeat(10);
    expect(splitReplySource(source, 10, 3)).toEqual({ parts: ["abcdefghij", "abcdefghij", "abcdefghij"], cutChars: 70 });
  });

  it("does bounded work on a hostile megabyte", () => {
    const huge = "`".repeat(1_000_000);
    const { parts, cutChars } = splitReplySource(huge, 4000, 10);
    expect(parts).toHaveLength(10);
    expect(cutChars).toBe(1_000_000 - 40_000);
    expect(splitReplySource("x".repeat(100), Number.NaN, 0).parts).toEqual(["x".repeat(100).slice(0, 1)]);
  });
});

describe("assembling a reply", () => {
  const convert = (s: string) => plain(s);

  it("converts each part separately, in order", () => {
    const r = assembleReply({ text: "one\ntwo\nthree", convert, trailer: null, startThread: false }, { maxChars: 4, maxParts: 5 });
    expect(r).toEqual({ kind: "reply", reply: { parts: ["one", "two", "thre", "e"].map((t) => ({ text: t, html: t })), truncated: false, startThread: false } });
  });

  it("marks the last part when the cap cuts the reply", () => {
    const r = assembleReply({ text: "aaaa\nbbbb\ncccc\ndddd", convert, trailer: null, startThread: true }, { maxChars: 4, maxParts: 2 });
    if (r.kind !== "reply") throw new Error(r.kind);
    expect(r.reply.truncated).toBe(true);
    expect(r.reply.parts).toHaveLength(2);
    expect(r.reply.parts[1]!.text).toBe(`bbbb\n\n${cutMarker(9)}`);
    expect(cutMarker(9)).toBe("… (reply cut: 9 more characters)");
    expect(r.reply.parts[1]!.html).toBe("bbbb<p><em>… (reply cut: 9 more characters)</em></p>");
  });

  it("adds a trailer to the last part when it fits, as its own part when not, and counts it when cut", () => {
    const trailer = plain("ATT");
    const fits = assembleReply({ text: "hi", convert, trailer, startThread: false }, { maxChars: 10, maxParts: 3 });
    expect(fits.kind === "reply" && fits.reply.parts.map((p) => p.text)).toEqual(["hi\nATT"]);
    const own = assembleReply({ text: "hello wor", convert, trailer, startThread: false }, { maxChars: 10, maxParts: 3 });
    expect(own.kind === "reply" && own.reply.parts.map((p) => p.text)).toEqual(["hello wor", "ATT"]);
    const cut = assembleReply({ text: "hello wor", convert, trailer, startThread: false }, { maxChars: 10, maxParts: 1 });
    expect(cut.kind === "reply" && cut.reply.parts.map((p) => p.text)).toEqual([`hello wor\n\n${cutMarker(3)}`]);
    const long = assembleReply({ text: "", convert, trailer: plain("abcdefghij"), startThread: false }, { maxChars: 4, maxParts: 2 });
    expect(long.kind === "reply" && long.reply.parts.map((p) => p.text)).toEqual(["abcd", `efgh\n\n${cutMarker(2)}`]);
  });

  it("posts nothing for empty or blank text without a trailer", () => {
    for (const text of ["", "  \n\t "]) expect(assembleReply({ text, convert, trailer: null, startThread: false }, { maxChars: 10, maxParts: 2 })).toEqual({ kind: "none" });
  });

  it("keeps username and icon only when they say something", () => {
    const r = assembleReply({ text: "x", convert, trailer: null, startThread: false, username: " robot ", iconUrl: " " }, { maxChars: 10, maxParts: 2 });
    expect(r.kind === "reply" && { u: r.reply.username, i: r.reply.iconUrl }).toEqual({ u: "robot", i: undefined });
  });
});
