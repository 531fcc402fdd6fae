import { describe, expect, it } from "vitest";
import { combineVerdicts, type HookVerdict } from "./before-send-verdict.js";

const v = (hookName: string, verdict: HookVerdict["verdict"]): HookVerdict => ({ hookName, verdict });

describe("combineVerdicts", () => {
  it("allows when every hook allows, or when there is none", () => {
    expect(combineVerdicts([])).toEqual({ verdict: { verdict: "allow" }, decidedBy: null, ignoredRewrites: [] });
    expect(combineVerdicts([v("a", { verdict: "allow" }), v("b", { verdict: "allow" })]).verdict).toEqual({ verdict: "allow" });
  });

  it("lets a reject win over a drop and a rewrite, and a drop over a rewrite", () => {
    const rewrite = v("a", { verdict: "rewrite", content: { msgtype: "m.text", body: "x" } });
    expect(combineVerdicts([rewrite, v("b", { verdict: "drop", reason: "d" }), v("c", { verdict: "reject", reason: "no" })])).toEqual({ verdict: { verdict: "reject", reason: "no" }, decidedBy: "c", ignoredRewrites: [] });
    expect(combineVerdicts([rewrite, v("b", { verdict: "drop", reason: "d" })])).toMatchObject({ verdict: { verdict: "drop" }, decidedBy: "b" });
  });

  it("applies the first rewrite and names the ignored ones", () => {
    const result = combineVerdicts([v("a", { verdict: "allow" }), v("b", { verdict: "rewrite", content: { body: "1" } }), v("c", { verdict: "rewrite", content: { body: "2" } })]);
    expect(result).toEqual({ verdict: { verdict: "rewrite", content: { body: "1" } }, decidedBy: "b", ignoredRewrites: ["c"] });
  });
});
