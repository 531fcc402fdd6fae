import type { OutboundHookSettings } from "./outbound-hook-state.js";

/** One line saying what a hook sends where and when. */
export function describeHook(hook: OutboundHookSettings): string {
  const f = hook.filter;
  const when = [
    f.triggerWords ? `messages whose first word ${f.triggerWhen === "starts_with" ? "starts with" : "is"} ${f.triggerWords.join(" or ")}` : null,
    f.eventTypes ? `event types ${f.eventTypes.join(", ")}` : null,
    f.msgtypes ? `msgtypes ${f.msgtypes.join(", ")}` : null,
  ].filter((w) => w !== null);
  const what = when.length > 0 ? when.join("; ") : "room events";
  const format = hook.format ? ` as ${hook.format}${hook.format === "mattermost" && hook.contentType === "json" ? " (JSON)" : ""}` : "";
  return `${what} go${format} by ${hook.method} to ${hook.urls.join(" and ")}`;
}
