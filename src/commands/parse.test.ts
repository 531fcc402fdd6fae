import { describe, expect, it } from "vitest";
import { commandLines, commandWords, parseCommand, parseCommandMessage, tokenize } from "./parse.js";
import type { CommandSpec } from "./spec.js";

const noop = async () => undefined;
const specs: CommandSpec<null>[] = [
  { words: ["help"], args: [], summary: "help", privileged: false, run: noop },
  { words: ["outbound", "add"], args: ["name", "url"], options: { method: { values: ["PUT", "POST"], description: "" } }, summary: "add", privileged: true, run: noop },
  { words: ["outbound", "list"], args: [], summary: "list", privileged: true, run: noop },
  { words: ["outbound", "replay"], args: ["name", "event_id?"], options: { dead: { values: [], description: "" } }, summary: "replay", privileged: true, run: noop },
];

describe("tokenize", () => {
  it("splits on whitespace and honours quotes", () => {
    expect(tokenize(` outbound add  "my hook" 'https://x/?a=1 2' `)).toEqual(["outbound", "add", "my hook", "https://x/?a=1 2"]);
    expect(tokenize(`a "" b`)).toEqual(["a", "", "b"]);
  });

  it("refuses an unclosed quote", () => {
    expect(() => tokenize(`add "oops`)).toThrow(/Unclosed " quote/);
  });
});

describe("commandWords", () => {
  it("recognises the prefix only as a whole word", () => {
    expect(commandWords("!hooks outbound list", "!hooks")).toEqual(["outbound", "list"]);
    expect(commandWords("  !hooks  ", "!hooks")).toEqual([]);
    expect(commandWords("!hooksy list", "!hooks")).toBeNull();
    expect(commandWords("hello", "!hooks")).toBeNull();
    expect(commandWords(42, "!hooks")).toBeNull();
  });
});

describe("parseCommand", () => {
  it("binds arguments and options", () => {
    const parsed = parseCommand(["outbound", "add", "ci", "https://x/", "--method", "post"], specs, "!hooks");
    expect(parsed.args).toEqual({ name: "ci", url: "https://x/" });
    expect(parsed.options).toEqual({ method: "POST" });
    expect(parseCommand(["OUTBOUND", "add", "ci", "https://x/", "--method=PUT"], specs, "!hooks").options).toEqual({ method: "PUT" });
  });

  it("explains usage when arguments are missing or extra", () => {
    expect(() => parseCommand(["outbound", "add", "ci"], specs, "!hooks")).toThrow(
      "Usage: !hooks outbound add <name> <url> [--method PUT|POST]",
    );
    expect(() => parseCommand(["outbound", "list", "extra"], specs, "!hooks")).toThrow(/Usage: !hooks outbound list/);
  });

  it("supports optional arguments and flags", () => {
    expect(parseCommand(["outbound", "replay", "ci", "$ev"], specs, "!hooks").args).toEqual({ name: "ci", event_id: "$ev" });
    const dead = parseCommand(["outbound", "replay", "ci", "--dead"], specs, "!hooks");
    expect(dead.args).toEqual({ name: "ci" });
    expect(dead.options).toEqual({ dead: "true" });
    expect(() => parseCommand(["outbound", "replay", "ci", "--dead=yes"], specs, "!hooks")).toThrow(/takes no value/);
    expect(() => parseCommand(["outbound", "replay"], specs, "!hooks")).toThrow("Usage: !hooks outbound replay <name> [<event_id>] [--dead]");
  });

  it("takes no name of Object.prototype's properties for an option or a command", () => {
    for (const name of [...Object.getOwnPropertyNames(Object.prototype), "__proto__"]) {
      expect(() => parseCommand(["outbound", "add", "a", "b", `--${name}`, "x"], specs, "!hooks"), name).toThrow(`Unknown option --${name}.`);
      expect(() => parseCommand(["outbound", "list", `--${name}=x`], specs, "!hooks"), name).toThrow(`Unknown option --${name}.`);
      expect(() => parseCommand([name], specs, "!hooks"), name).toThrow(/^Unknown command/);
      expect(() => parseCommand(["outbound", name], specs, "!hooks"), name).toThrow(/^Unknown command/);
    }
  });

  it("rejects unknown commands, options and values clearly", () => {
    expect(() => parseCommand(["outbound", "frobnicate"], specs, "!hooks")).toThrow(/Unknown command "outbound frobnicate"/);
    expect(() => parseCommand(["outbound", "add", "a", "b", "--verb", "PUT"], specs, "!hooks")).toThrow(/Unknown option --verb/);
    expect(() => parseCommand(["outbound", "add", "a", "b", "--method", "GET"], specs, "!hooks")).toThrow(/must be PUT or POST, not "GET"/);
    expect(() => parseCommand(["outbound", "add", "a", "b", "--method"], specs, "!hooks")).toThrow(/needs a value/);
  });
});

describe("commands with text on their next lines", () => {
  const specs = [
    { words: ["outbound", "tls"], args: ["name", "part"], text: "PEM", summary: "", privileged: true, run: async () => undefined },
    { words: ["outbound", "add"], args: ["name", "url"], summary: "", privileged: true, run: async () => undefined },
  ];
  it("parses the first line alone and keeps the rest, quotes and all", () => {
    expect(commandLines("!hooks outbound tls ci key\nit's here\n-----BEGIN", "!hooks")).toEqual({ words: ["outbound", "tls", "ci", "key"], text: "it's here\n-----BEGIN" });
    expect(commandLines("hello\n!hooks x", "!hooks")).toBeNull();
    const parsed = parseCommandMessage("!hooks outbound tls ci ca\n```\nPEM 'x\n```", specs, "!hooks");
    expect(parsed).toMatchObject({ args: { name: "ci", part: "ca" }, text: "```\nPEM 'x\n```" });
  });
  it("parses other commands whole, as before", () => {
    expect(parseCommandMessage("!hooks outbound add ci\nhttps://a.example/", specs, "!hooks")).toMatchObject({ args: { name: "ci", url: "https://a.example/" }, text: "" });
  });
});
