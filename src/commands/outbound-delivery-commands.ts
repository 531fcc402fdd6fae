import type { AttemptSummary, ReplayWhich } from "../delivery/queue/queue.js";
import { classifyFailure } from "../delivery/failure-category.js";
import type { AttemptResult } from "../delivery/policy.js";
import type { LastFailure } from "../connections/last-failures.js";
import { CommandError } from "./command-error.js";
import type { CommandContext } from "./context.js";
import type { HookKind } from "../connections/outbound-hook-registry.js";
import { existing, existingBot } from "./outbound-commands.js";
import type { CommandSpec } from "./spec.js";

const RECENT_ATTEMPTS = 10;

function describeAttempt(a: AttemptSummary): string {
  const when = new Date(a.at).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const answer = a.status !== null ? `HTTP ${a.status}` : (a.error ?? "no answer");
  return `- ${when} ${a.eventId} attempt ${a.attempt}: ${a.outcome}, ${answer}, ${a.durationMs} ms`;
}

const utc = (at: number): string => new Date(at).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");

/** The newest failed attempt the store shows, classified from what it kept (after a restart). */
export function storedFailure(recent: readonly AttemptSummary[]): LastFailure | undefined {
  const a = recent.find((attempt) => attempt.outcome !== "success");
  if (!a) return undefined;
  const result: AttemptResult = a.status !== null ? { kind: "response", status: a.status }
    : /^no answer within/.test(a.error ?? "") ? { kind: "timeout" } : { kind: "network", error: a.error ?? "no answer" };
  return { category: classifyFailure({ result, error: a.error }), at: a.at };
}

export function describeLastFailure(failure: LastFailure | undefined): string {
  if (!failure) return "No failed attempt known.";
  const { category, at } = failure;
  return `Last failure, ${utc(at)}: ${category.summary} [${category.id}]. ${category.description.charAt(0).toUpperCase()}${category.description.slice(1)}`;
}

/**
 * Commands about a hook's (or webhook bot's) deliveries: what happened, send again, pause and
 * resume, signing. Bots have the same ones under "!hooks bot …".
 */
export function deliveryCommands(kind: HookKind): CommandSpec<CommandContext>[] {
  const word = kind === "bot" ? "bot" : "outbound";
  const find = kind === "bot" ? existingBot : existing;
  const label = kind === "bot" ? "Webhook bot" : "Outbound hook";
  const scope = kind === "bot" ? ({ scope: "bot" } as const) : {};
  return [
  {
    ...scope,
    words: [word, "status"],
    args: ["name"],
    summary: "Show a hook's state, waiting and dead deliveries, and its last attempts.",
    privileged: true,
    async run(ctx, { name }) {
      const hook = find(ctx, name!);
      const stored = await ctx.outbound.stored(hook.id);
      const status = await ctx.outbound.queueStatus(hook.id, RECENT_ATTEMPTS);
      const state = stored?.suspendedAt ? `suspended (${stored.suspendedReason})` : "active";
      const failing = stored?.failingSince ? `, failing since ${new Date(stored.failingSince).toISOString()}` : "";
      const lines = [
        `${label} "${hook.name}": ${state}${failing}. ${hook.method} ${hook.urls.join(" and ")}, ordering ${hook.ordering}.`,
        `Waiting: ${status.pending}. Dead letters: ${status.dead}. Delivered (kept for status): ${status.delivered}.`,
        ctx.outbound.tls.describe(hook),
        describeLastFailure(ctx.outbound.lastFailure(hook.id) ?? storedFailure(status.recent)),
        status.recent.length > 0 ? `Last ${status.recent.length} attempts, newest first:` : "No attempts yet.",
        ...status.recent.map(describeAttempt),
      ];
      await ctx.reply(lines.join("\n"));
    },
  },
  {
    ...scope,
    words: [word, "replay"],
    args: ["name", "event_id?"],
    options: { dead: { values: [], description: "every dead letter of the hook" } },
    summary: "Send an event (by id) or every dead letter (--dead) to the hook again.",
    privileged: true,
    async run(ctx, { name, event_id }, { dead }) {
      const hook = find(ctx, name!);
      if ((event_id === undefined) === (dead === undefined)) {
        throw new CommandError(`Give either an event id or --dead: "${ctx.prefix} ${word} replay ${name} $eventid" or "${ctx.prefix} ${word} replay ${name} --dead".`);
      }
      let which: ReplayWhich = { dead: true };
      let originTs: number | null = null;
      if (event_id !== undefined) {
        // The store names an event by its id and timestamp; the homeserver tells the timestamp. An
        // event it no longer shows (retention, purged history) is looked for among the dead letters.
        originTs = await ctx.matrix.eventTimestamp(ctx.roomId, event_id);
        which = { eventId: event_id, originTs };
      }
      const count = await ctx.outbound.replay(hook.id, which);
      if (count === 0) {
        if (event_id === undefined) throw new CommandError(`Hook "${name}" has no dead letters.`);
        throw new CommandError(originTs === null
          ? `I cannot see event ${event_id} in this room, and it is not among the dead letters of hook "${name}": nothing to replay.`
          : `Nothing to replay: hook "${name}" has no finished delivery of ${event_id} (it may be waiting still, or pruned).`);
      }
      await ctx.reply(`Queued ${count} deliver${count === 1 ? "y" : "ies"} to "${name}" again.`);
    },
  },
  {
    ...scope,
    words: [word, "pause"],
    args: ["name"],
    summary: "Stop sending to a hook; events keep queueing until it is resumed.",
    privileged: true,
    async run(ctx, { name }) {
      const hook = find(ctx, name!);
      if (!(await ctx.outbound.pause(hook.id, ctx.sender))) throw new CommandError(`Hook "${name}" is already paused or disabled.`);
      await ctx.reply(`${label} "${name}" paused. Events keep queueing; "${ctx.prefix} ${word} resume ${name}" sends them.`);
    },
  },
  {
    ...scope,
    words: [word, "resume"],
    args: ["name"],
    summary: "Resume a paused or disabled hook; what queued meanwhile is sent.",
    privileged: true,
    async run(ctx, { name }) {
      const hook = find(ctx, name!);
      if (!(await ctx.outbound.resume(hook.id))) throw new CommandError(`Hook "${name}" is not paused or disabled.`);
      await ctx.reply(`${label} "${name}" resumed.`);
    },
  },
  {
    ...scope,
    words: [word, "sign"],
    args: ["name"],
    summary: "Sign deliveries (Standard Webhooks); run again to rotate the secret. The secret comes by direct message.",
    privileged: true,
    async run(ctx, { name }) {
      const hook = find(ctx, name!);
      const { secret, previousStillSigns } = await ctx.outbound.rotateSigningSecret(hook.id);
      await ctx.outbound.sendSecret(ctx.sender, ctx.roomId, name!, secret);
      await ctx.reply(`Deliveries to "${name}" are signed with a new secret; I sent it to you in a direct message.` +
        (previousStillSigns ? " The previous secret keeps signing alongside it for the grace period." : ""));
    },
  },
  {
    ...scope,
    words: [word, "unsign"],
    args: ["name"],
    summary: "Stop signing a hook's deliveries and forget its secrets.",
    privileged: true,
    async run(ctx, { name }) {
      const hook = find(ctx, name!);
      if (!(await ctx.outbound.stopSigning(hook.id))) throw new CommandError(`Hook "${name}" is not signed.`);
      await ctx.reply(`Deliveries to "${name}" are no longer signed.`);
    },
  },
];
}

export const outboundDeliveryCommands = deliveryCommands("hook");
export const botDeliveryCommands = deliveryCommands("bot");
