/**
 * What a before-hook decides about a message (Tencent's Group.CallbackBeforeSendMsg answer), and
 * how the verdicts of several before-hooks of one room make one. Pure.
 */
import type { BeforeSendVerdict } from "../outbound/formats/tencent/index.js";

/** allow · reject (the send fails with the reason) · drop (Tencent: told sent, seen by none) · rewrite (new content). */
export type { BeforeSendVerdict };

/** One hook's verdict, named, for the combination and the logs. */
export interface HookVerdict {
  hookName: string;
  verdict: BeforeSendVerdict;
}

export const ALLOW: BeforeSendVerdict = { verdict: "allow" };

/**
 * The room's verdict from its hooks' (given in hook-name order): a reject wins, then a drop, then
 * the first rewrite — the hooks were asked at the same time, so only one rewrite can be applied;
 * `ignoredRewrites` names the others so they can be logged.
 */
export function combineVerdicts(verdicts: readonly HookVerdict[]): { verdict: BeforeSendVerdict; decidedBy: string | null; ignoredRewrites: string[] } {
  const first = (kind: BeforeSendVerdict["verdict"]) => verdicts.find((v) => v.verdict.verdict === kind);
  const decisive = first("reject") ?? first("drop") ?? first("rewrite");
  if (!decisive) return { verdict: ALLOW, decidedBy: null, ignoredRewrites: [] };
  const ignoredRewrites = decisive.verdict.verdict === "rewrite" ? verdicts.filter((v) => v.verdict.verdict === "rewrite" && v !== decisive).map((v) => v.hookName) : [];
  return { verdict: decisive.verdict, decidedBy: decisive.hookName, ignoredRewrites };
}
