import { describe, expect, it } from "vitest";
import { COMMANDS, helpText } from "./dispatcher.js";

describe("help", () => {
  it("lists every command with its usage", () => {
    const help = helpText("!hooks");
    for (const spec of COMMANDS) expect(help).toContain(`!hooks ${spec.words.join(" ")}`);
    expect(help).toContain("!hooks outbound add <name> <url> [--method PUT|POST]");
  });
});
