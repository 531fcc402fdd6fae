import { originOf } from "../delivery/failure-episode.js";
import type { OutboundHookSettings } from "./outbound-hook-state.js";

/**
 * One line saying what a hook takes and where it sends it. Only the receivers' origins are named:
 * a URL's path and query may carry a secret, and notices are read by everyone in the room.
 */
export function describeHook(hook: OutboundHookSettings): string {
  const f = hook.filter;
  const when = [
    f.triggerWords ? `messages whose first word ${f.triggerWhen === "starts_with" ? "starts with" : "is"} ${f.triggerWords.join(" or ")}` : null,
    f.eventTypes ? `event types ${f.eventTypes.join(", ")}` : null,
    f.msgtypes ? `msgtypes ${f.msgtypes.join(", ")}` : null,
  ].filter((w) => w !== null);
  const what = when.length > 0 ? when.join("; ") : "room events";
  const format = hook.format ? ` as ${hook.format}${hook.format === "mattermost" && hook.contentType === "json" ? " (JSON)" : ""}` : "";
  return `${what} go${format} by ${hook.method} to ${[...new Set(hook.urls.map(originOf))].join(" and ")}`;
}
