import { describe, expect, it } from "vitest";
import { createLogger } from "../observability/logger.js";
import { functionSource } from "./syntax-check.js";
import { TransformationFunctions } from "./transformation-functions.js";

const hook = { id: "hook-1", roomId: "!room:example.org", name: "ci" };

function functions(enabled = true) {
  const notices: Array<{ roomId: string; text: string }> = [];
  const transforms = new TransformationFunctions({
    enabled,
    limits: { timeoutMs: 100, memoryBytes: 8 * 1024 * 1024 },
    notify: (roomId, text) => void notices.push({ roomId, text }),
    log: createLogger("silent"),
  });
  return { transforms, notices };
}

describe("TransformationFunctions", () => {
  it("runs an inbound function under Hookshot's contract", async () => {
    const { transforms } = functions();
    const result = await transforms.inbound(hook, "result = {plain: `The answer to '${data.question}' is ${data.answer}`, version: 'v2'}", { question: "What is the meaning of life?", answer: 42 });
    expect(result).toEqual({ ok: true, value: { kind: "message", plain: "The answer to 'What is the meaning of life?' is 42" } });
  });

  it("tells the room once per hook and function, and again when the function changes", async () => {
    const { transforms, notices } = functions();
    for (let i = 0; i < 3; i++) {
      const failed = await transforms.inbound(hook, "while (true) {}", {});
      expect(failed).toMatchObject({ ok: false, failure: { kind: "timeout" } });
    }
    expect(notices).toHaveLength(1);
    expect(notices[0]!.roomId).toBe(hook.roomId);
    expect(notices[0]!.text).toMatch(/inbound hook "ci" failed: the function ran out of time/);
    await transforms.inbound(hook, "throw new Error('other')", {});
    await transforms.inbound(hook, "throw new Error('other')", {});
    expect(notices).toHaveLength(2);
    expect(notices[1]!.text).toMatch(/Error: other/);
    const outbound = await transforms.outbound({ ...hook, id: "hook-2" }, "result = undefined", {});
    expect(outbound).toMatchObject({ ok: false, failure: { kind: "result" } });
    expect(notices[2]!.text).toMatch(/outbound hook "ci" failed: .*did not set result.*dead letters/);
  });

  it("runs nothing when the config has functions off, and says so once", () => {
    const { transforms, notices } = functions(false);
    const withFunction = { ...hook, transformationFunction: "result = 'x'" };
    expect(transforms.sourceOf(withFunction)).toBeNull();
    expect(transforms.sourceOf(withFunction)).toBeNull();
    expect(transforms.sourceOf({ ...hook, transformationFunction: null })).toBeNull();
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toMatch(/does not run them .*inbound\.transformationFunctions\.enabled/);
    expect(functions(true).transforms.sourceOf(withFunction)).toBe("result = 'x'");
  });
});

describe("functionSource", () => {
  it("takes the JavaScript as typed or from a code block", () => {
    expect(functionSource("  result = 1\n")).toBe("result = 1");
    expect(functionSource("```js\nresult = 1;\nreturn;\n```")).toBe("result = 1;\nreturn;");
    expect(functionSource("```\nresult = '```'\n```")).toBe("result = '```'");
  });
});
