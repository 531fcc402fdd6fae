import { originOf } from "../delivery/failure-episode.js";
import type { OutboundHookSettings } from "./outbound-hook-state.js";

/**
 * One line saying what a hook takes and where it sends it. Only the receivers' origins are named:
 * a URL's path and query may carry a secret, and notices are read by everyone in the room.
 */
export function describeHook(hook: OutboundHookSettings): string {
  const origins = [...new Set(hook.urls.map(originOf))].join(" and ");
  const cb = hook.callback;
  if (cb) {
    const how = `${cb.sign ? "signed" : "unsigned"}, SdkAppid ${cb.sdkAppId}, timeout ${cb.timeoutMs} ms`;
    if (cb.phase === "before") {
      return `messages are judged before they are sent (Tencent's Group.CallbackBeforeSendMsg) by ${hook.method} to ${origins} (${how}; if it fails or does not answer in time: ${cb.onFailure})`;
    }
    const words = cb.commands ? cb.commands.join(", ") : "every after-event command word";
    return `Tencent callbacks (${words}) go by ${hook.method} to ${origins} (${how}; ${cb.retry ? "retried" : "not retried"})`;
  }
  const f = hook.filter;
  const when = [
    f.triggerWords ? `messages whose first word ${f.triggerWhen === "starts_with" ? "starts with" : "is"} ${f.triggerWords.join(" or ")}` : null,
    f.eventTypes ? `event types ${f.eventTypes.join(", ")}` : null,
    f.msgtypes ? `msgtypes ${f.msgtypes.join(", ")}` : null,
  ].filter((w) => w !== null);
  const what = when.length > 0 ? when.join("; ") : "room events";
  const format = hook.format ? ` as ${hook.format}${hook.format === "mattermost" && hook.contentType === "json" ? " (JSON)" : ""}` : "";
  const batch = hook.batch ? `, up to ${hook.batch.maxEvents} per request after at most ${hook.batch.maxWaitMs} ms (batched)` : "";
  return `${what} go${format} by ${hook.method} to ${origins}${batch}`;
}
