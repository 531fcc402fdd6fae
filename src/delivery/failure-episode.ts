/**
 * A hook's failure episode: the failed attempts since its last success, and whether its room was
 * told. Pure: the rules for "one notice per outage, one when it is over" and the notices' words.
 */
import type { FailureCategory } from "./failure-category.js";

export interface FailureEpisode {
  /** Failed attempts since the last success. */
  failedAttempts: number;
  /** Deliveries among them: attempts that were their delivery's first (or the episode's first). */
  failedDeliveries: number;
  /** When the room was told of this episode; null: not (yet). */
  noticedAt: number | null;
}

export const NO_EPISODE: FailureEpisode = Object.freeze({ failedAttempts: 0, failedDeliveries: 0, noticedAt: null });

export const isHealthy = (episode: FailureEpisode): boolean => episode.failedAttempts === 0 && episode.noticedAt === null;

/** The episode after a failed attempt number `attempt` (1-based) of some delivery. */
export function withFailedAttempt(episode: FailureEpisode, attempt: number): FailureEpisode {
  const newDelivery = attempt <= 1 || episode.failedAttempts === 0;
  return { ...episode, failedAttempts: episode.failedAttempts + 1, failedDeliveries: episode.failedDeliveries + (newDelivery ? 1 : 0) };
}

/** Whether the room should be told now: not told yet, and `afterAttempts` (0: never) reached. */
export const noticeDue = (episode: FailureEpisode, afterAttempts: number): boolean =>
  afterAttempts > 0 && episode.noticedAt === null && episode.failedAttempts >= afterAttempts;

/** Scheme, host and port only: a URL's path and query may carry secrets. */
export function originOf(url: string): string {
  const origin = URL.canParse(url) ? new URL(url).origin : "null";
  return origin === "null" ? "its URL" : origin;
}

const sentence = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** `subject` names the hook as its room knows it: `Outbound hook "ci"`, `Webhook bot "helper"`. */
export function failureNoticeText(subject: string, url: string, category: FailureCategory, episode: FailureEpisode): string {
  return (
    `${subject} cannot deliver: ${category.summary} at ${originOf(url)}. ${sentence(category.description)} ` +
    `${plural(episode.failedAttempts, "attempt")} in a row failed; this room hears once deliveries get through again.`
  );
}

export function recoveryNoticeText(subject: string, url: string, episode: FailureEpisode, failingForMs: number | null): string {
  const after = failingForMs === null ? "" : ` after ${duration(failingForMs)}`;
  return (
    `${subject} delivers again to ${originOf(url)}${after}; ` +
    `${plural(episode.failedDeliveries, "delivery", "deliveries")} waited (${plural(episode.failedAttempts, "failed attempt")}).`
  );
}

/** "40 s", "12 minutes", "3 hours", "2 days". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 120) return plural(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 48) return plural(hours, "hour");
  return plural(Math.round(hours / 24), "day");
}
