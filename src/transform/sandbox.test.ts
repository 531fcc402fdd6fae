import { beforeAll, describe, expect, it } from "vitest";
import { JsSandbox, MAX_RESULT_BYTES, TransformFailure } from "./sandbox.js";
import { HOOKSHOT_V2_EXAMPLE } from "../../spec/fixtures/hookshot-functions.js";

const LIMITS = { timeoutMs: 200, memoryBytes: 16 * 1024 * 1024 };
let sandbox: JsSandbox;

beforeAll(async () => {
  sandbox = await JsSandbox.load(LIMITS);
});

/** The failure a run ends with (the test fails when it does not fail). */
function failureOf(source: string, data: unknown = {}): TransformFailure {
  try {
    sandbox.run(source, data);
  } catch (err) {
    if (err instanceof TransformFailure) return err;
    throw err;
  }
  throw new Error(`expected "${source}" to fail`);
}

describe("JsSandbox", () => {
  it("runs Hookshot's documented v2 example with its data", () => {
    // docs/setup/webhooks.md, "Example script", data = {"counter": 5, "maxValue": 4}
    const script = HOOKSHOT_V2_EXAMPLE;
    expect(sandbox.run(script, { counter: 5, maxValue: 4 })).toEqual({ plain: "**Oh no!** The counter has gone over by 1", version: "v2" });
    expect(sandbox.run(script, { counter: 1, maxValue: 4 })).toEqual({ plain: "*Everything is fine*, the counter is under by 3", version: "v2" });
    expect(sandbox.run(script, {})).toEqual({ empty: true, version: "v2" });
  });

  it("says HookshotApiVersion v2, as Hookshot does", () => {
    expect(sandbox.run("result = typeof HookshotApiVersion === 'undefined' ? 'v1' : HookshotApiVersion", {})).toBe("v2");
  });

  it("allows a top-level return, as Hookshot wraps scripts in a function", () => {
    expect(sandbox.run("result = {plain: 'a', version: 'v2'}; return; result = 'b'", {})).toEqual({ plain: "a", version: "v2" });
  });

  it("passes data in as a copy and result out as JSON", () => {
    const data = { nested: { list: [1, 2.5, "x"] } };
    expect(sandbox.run("data.nested.list.push(4); result = data", data)).toEqual({ nested: { list: [1, 2.5, "x", 4] } });
    expect(data.nested.list).toHaveLength(3);
    expect(sandbox.run("result = {f: function () {}, d: new Date(0)}", {})).toEqual({ d: "1970-01-01T00:00:00.000Z" });
    expect(sandbox.run("var x = 1", {})).toBeUndefined();
  });

  it("keeps nothing from one run to the next", () => {
    sandbox.run("globalThis.leftOver = 42; Object.prototype.polluted = true; result = 1", {});
    expect(sandbox.run("result = [typeof leftOver, ({}).polluted === undefined]", {})).toEqual(["undefined", true]);
  });

  it("stops an endless loop at the time limit", () => {
    const failure = failureOf("while (true) {}");
    expect(failure.kind).toBe("timeout");
    expect(failure.message).toMatch(/time limit/);
    // The engine is usable again afterwards.
    expect(sandbox.run("result = 1", {})).toBe(1);
  });

  it("stops a memory bomb at the memory limit", () => {
    expect(failureOf("const a = []; for (let i = 0; ; i++) a.push(new Array(1000).fill(i))").kind).toMatch(/memory|timeout/);
    expect(failureOf("result = new Array(1e8).fill(1).length").kind).toBe("memory");
    expect(failureOf("let s = 'x'; while (true) s = s + s").kind).toBe("memory");
    expect(failureOf("function down() { return down() + 1 } down()").kind).toBe("memory");
  });

  it("has no require, process, fetch, file system, timers or modules", () => {
    expect(failureOf("result = require('fs').readFileSync('/etc/passwd', 'utf8')").message).toMatch(/'require' is not defined/);
    expect(failureOf("result = process.env").message).toMatch(/'process' is not defined/);
    expect(failureOf("result = fetch('http://127.0.0.1/')").message).toMatch(/'fetch' is not defined/);
    expect(failureOf("setTimeout(() => {}, 1)").message).toMatch(/'setTimeout' is not defined/);
    expect(failureOf("result = std.loadFile('/etc/passwd')").message).toMatch(/'std' is not defined/);
    expect(failureOf("result = os.exec(['id'])").message).toMatch(/'os' is not defined/);
    expect(failureOf("import fs from 'fs'").kind).toBe("syntax");
    // A dynamic import is never resolved: there is no module loader and no job loop.
    expect(sandbox.run("import('fs').then(() => { result = 'reached' }, () => { result = 'rejected' })", {})).toBeUndefined();
    expect(sandbox.run("result = [typeof globalThis.process, typeof globalThis.require, typeof globalThis.fetch, typeof globalThis.console]", {})).toEqual([
      "undefined", "undefined", "undefined", "undefined",
    ]);
  });

  it("reports syntax errors and throws with the source's own line numbers", () => {
    const syntax = failureOf("result = 1;\nbibble bobble");
    expect(syntax.kind).toBe("syntax");
    expect(syntax.message).toMatch(/SyntaxError: .*\(line 2\)/);
    expect(sandbox.check("bibble bobble")).toBeInstanceOf(TransformFailure);
    expect(sandbox.check("result = 1")).toBeNull();
    const thrown = failureOf("\n\nthrow new TypeError('no counter')");
    expect(thrown).toMatchObject({ kind: "thrown" });
    expect(thrown.message).toBe("TypeError: no counter (line 3)");
    expect(failureOf("throw {code: 7}").message).toBe('threw {"code":7}');
  });

  it("refuses a result over the size cap", () => {
    const failure = failureOf(`result = 'y'.repeat(${MAX_RESULT_BYTES + 1})`);
    expect(failure).toMatchObject({ kind: "result" });
  });
});
