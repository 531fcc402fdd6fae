import { rewrittenContent } from "./rewrite.js";

/**
 * A callback's answer, `{"ActionStatus", "ErrorCode", "ErrorInfo"}` (and for a before-send
 * callback an optional `MsgBody`), read and judged. Pure. After-event answers are only recorded;
 * a before-send answer decides the message's fate (Tencent's "Before Group Message Is Sent",
 * https://www.tencentcloud.com/document/product/1047/34374): ErrorCode 0 sends it (as MsgBody says,
 * when given), 1 refuses it, 2 drops it silently, and a code in [10100, 10200] refuses it with
 * that code and ErrorInfo passed to the sender.
 */
export interface TencentAnswer {
  kind: "answer";
  actionStatus: string;
  errorCode: number;
  errorInfo: string;
  /** The answer's MsgBody (a before-send rewrite), unchecked; null when absent. */
  msgBody: unknown[] | null;
}

export type TencentAnswerRead = TencentAnswer | { kind: "malformed"; reason: string };

export function readTencentAnswer(status: number, body: string, contentType: string | null): TencentAnswerRead {
  const malformed = (reason: string) => ({ kind: "malformed" as const, reason });
  if (status !== 200) return malformed(`HTTP status ${status} (Tencent's protocol wants 200)`);
  const text = body.replace(/^\uFEFF/, "");
  if (text.trim() === "") return malformed("empty body (an answer must be JSON with ErrorCode)");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return malformed(`not JSON${contentType ? ` (content type ${contentType.slice(0, 100)})` : ""}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return malformed(`not a JSON object (${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value})`);
  const o = value as Record<string, unknown>;
  const own = (key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);
  const errorCode = own("ErrorCode");
  if (errorCode === undefined) return malformed("ErrorCode is missing");
  if (typeof errorCode !== "number" || !Number.isSafeInteger(errorCode)) return malformed(`ErrorCode is not an integer (${JSON.stringify(errorCode)?.slice(0, 40)})`);
  const actionStatus = own("ActionStatus") ?? "";
  if (typeof actionStatus !== "string") return malformed("ActionStatus is not a string");
  const errorInfo = own("ErrorInfo") ?? "";
  if (typeof errorInfo !== "string") return malformed("ErrorInfo is not a string");
  const msgBody = own("MsgBody") ?? null;
  if (msgBody !== null && !Array.isArray(msgBody)) return malformed("MsgBody is not an array");
  return { kind: "answer", actionStatus, errorCode, errorInfo, msgBody };
}

export type BeforeSendVerdict =
  | { verdict: "allow" }
  /** `errorCode`: the hook's own code in [10100, 10200], which Tencent passes to the sender with ErrorInfo. */
  | { verdict: "reject"; reason: string; errorCode?: number }
  | { verdict: "drop"; reason: string }
  | { verdict: "rewrite"; content: Record<string, unknown> };

export const DEFAULT_REJECT_REASON = "The room's moderation hook refused this message.";
export const DEFAULT_DROP_REASON = "The room's moderation hook dropped this message.";

/** Tencent's range for a refusal whose ErrorCode and ErrorInfo reach the sender. */
export const CUSTOM_REFUSAL_CODES = { min: 10100, max: 10200 } as const;

/**
 * What a before-send answer means for the message whose content was sent. Codes Tencent does not
 * define for this callback refuse the message too (the hook said something other than "send it").
 */
export function beforeSendVerdict(answer: TencentAnswer, originalContent: Record<string, unknown>): BeforeSendVerdict {
  const info = answer.errorInfo.trim();
  switch (answer.errorCode) {
    case 0:
      return answer.msgBody === null ? { verdict: "allow" } : rewrittenContent(answer.msgBody, originalContent);
    case 1:
      return { verdict: "reject", reason: info || DEFAULT_REJECT_REASON };
    case 2:
      return { verdict: "drop", reason: info || DEFAULT_DROP_REASON };
    default:
      return { verdict: "reject", reason: info || DEFAULT_REJECT_REASON, errorCode: answer.errorCode };
  }
}
