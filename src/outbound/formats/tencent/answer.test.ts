import { describe, expect, it } from "vitest";
import { beforeSendVerdict, DEFAULT_DROP_REASON, DEFAULT_REJECT_REASON, readTencentAnswer, type TencentAnswer } from "./answer.js";

const JSON_TYPE = "application/json";
const read = (body: unknown, status = 200) => readTencentAnswer(status, typeof body === "string" ? body : JSON.stringify(body), JSON_TYPE);
const answer = (errorCode: number, errorInfo = "", msgBody: unknown[] | null = null): TencentAnswer => ({ kind: "answer", actionStatus: "OK", errorCode, errorInfo, msgBody });
const TEXT = { msgtype: "m.text", body: "red packet" };

describe("readTencentAnswer", () => {
  it("reads Tencent's answer", () => {
    expect(read({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "" })).toEqual({ kind: "answer", actionStatus: "OK", errorCode: 0, errorInfo: "", msgBody: null });
    expect(read({ ActionStatus: "FAIL", ErrorCode: 1, ErrorInfo: "no ads", MsgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "x" } }] })).toEqual({
      kind: "answer",
      actionStatus: "FAIL",
      errorCode: 1,
      errorInfo: "no ads",
      msgBody: [{ MsgType: "TIMTextElem", MsgContent: { Text: "x" } }],
    });
  });

  it("is lenient where Tencent's answers vary: no ActionStatus or ErrorInfo, a BOM, a text/plain type, MsgBody null", () => {
    expect(read({ ErrorCode: 0 })).toMatchObject({ kind: "answer", actionStatus: "", errorInfo: "" });
    expect(read(`\uFEFF${JSON.stringify({ ErrorCode: 2 })}`)).toMatchObject({ kind: "answer", errorCode: 2 });
    expect(readTencentAnswer(200, '{"ErrorCode":0}', "text/plain")).toMatchObject({ kind: "answer" });
    expect(readTencentAnswer(200, '{"ErrorCode":0}', null)).toMatchObject({ kind: "answer" });
    expect(read({ ErrorCode: 0, MsgBody: null })).toMatchObject({ kind: "answer", msgBody: null });
  });

  it("calls anything else malformed, with a reason", () => {
    const cases: [string | object, number, RegExp][] = [
      ["", 200, /empty body/],
      ["   \n", 200, /empty body/],
      ["<html>oops</html>", 200, /not JSON/],
      ["[]", 200, /not a JSON object \(an array\)/],
      ["null", 200, /not a JSON object \(null\)/],
      ["7", 200, /not a JSON object \(number\)/],
      [{ ActionStatus: "OK" }, 200, /ErrorCode is missing/],
      [{ ErrorCode: "0" }, 200, /ErrorCode is not an integer/],
      [{ ErrorCode: 0.5 }, 200, /ErrorCode is not an integer/],
      [{ ErrorCode: 2 ** 60 }, 200, /ErrorCode is not an integer/],
      [{ ErrorCode: null }, 200, /ErrorCode is not an integer/],
      [{ ErrorCode: 0, ActionStatus: 1 }, 200, /ActionStatus is not a string/],
      [{ ErrorCode: 0, ErrorInfo: {} }, 200, /ErrorInfo is not a string/],
      [{ ErrorCode: 0, MsgBody: { MsgType: "TIMTextElem" } }, 200, /MsgBody is not an array/],
      [{ ErrorCode: 0 }, 500, /HTTP status 500/],
      [{ ErrorCode: 0 }, 204, /HTTP status 204/],
    ];
    for (const [body, status, reason] of cases) {
      const got = read(body, status);
      expect(got.kind, JSON.stringify(body)).toBe("malformed");
      expect(got.kind === "malformed" && got.reason, JSON.stringify(body)).toMatch(reason);
    }
  });

  it("does not take an inherited ErrorCode for the answer's own", () => {
    expect(read('{"__proto__": {"ErrorCode": 0}}')).toMatchObject({ kind: "malformed", reason: "ErrorCode is missing" });
  });

  it("names the content type of a non-JSON answer", () => {
    expect(readTencentAnswer(200, "OK", "text/html; charset=utf-8")).toEqual({ kind: "malformed", reason: "not JSON (content type text/html; charset=utf-8)" });
  });
});

describe("beforeSendVerdict: Tencent's codes", () => {
  it("0 allows, 1 rejects with ErrorInfo, 2 drops", () => {
    expect(beforeSendVerdict(answer(0), TEXT)).toEqual({ verdict: "allow" });
    expect(beforeSendVerdict(answer(1, "no ads here"), TEXT)).toEqual({ verdict: "reject", reason: "no ads here" });
    expect(beforeSendVerdict(answer(2, "spam"), TEXT)).toEqual({ verdict: "drop", reason: "spam" });
  });

  it("an empty ErrorInfo gets a default reason", () => {
    expect(beforeSendVerdict(answer(1, "  "), TEXT)).toEqual({ verdict: "reject", reason: DEFAULT_REJECT_REASON });
    expect(beforeSendVerdict(answer(2), TEXT)).toEqual({ verdict: "drop", reason: DEFAULT_DROP_REASON });
  });

  it("a custom code in [10100, 10200] rejects with that code; so does any code Tencent does not define", () => {
    expect(beforeSendVerdict(answer(10123, "level too low"), TEXT)).toEqual({ verdict: "reject", reason: "level too low", errorCode: 10123 });
    expect(beforeSendVerdict(answer(3), TEXT)).toEqual({ verdict: "reject", reason: DEFAULT_REJECT_REASON, errorCode: 3 });
    expect(beforeSendVerdict(answer(-1, "x"), TEXT)).toEqual({ verdict: "reject", reason: "x", errorCode: -1 });
  });

  it("a MsgBody with a non-zero code does not rewrite", () => {
    expect(beforeSendVerdict(answer(1, "no", [{ MsgType: "TIMTextElem", MsgContent: { Text: "clean" } }]), TEXT)).toEqual({ verdict: "reject", reason: "no" });
  });
});
