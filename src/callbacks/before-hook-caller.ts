import type { ActiveOutboundHook } from "../connections/outbound-hook-registry.js";
import { classifyFailure, unparseableResponse, type FailureCategory } from "../delivery/failure-category.js";
import type { HttpSender } from "../delivery/sender.js";
import type { TlsMaterial } from "../delivery/tls-material.js";
import type { DeliveryTargets } from "../delivery/targets.js";
import type { RoomEvent } from "../matrix/port.js";
import type { Logger } from "../observability/logger.js";
import { beforeSendVerdict, readTencentAnswer, tencentRequest } from "../outbound/formats/tencent/index.js";
import { ALLOW, type BeforeSendVerdict } from "./before-send-verdict.js";

export interface BeforeHookCallerDeps {
  sender: HttpSender;
  /** The hook's token (its Sign key), or null when it has none yet. */
  token(hookId: string): string | null;
  /** The hook's TLS material (custom CA, client certificate), when it has some. */
  tls(hook: ActiveOutboundHook): TlsMaterial | undefined;
  /** Where failures are counted and told (as for queued deliveries), and paused hooks known. */
  health: Pick<DeliveryTargets, "recordSuccess" | "recordFailure" | "suspendedHookIds">;
  /** Bytes of an answer read (a rewrite's MsgBody is in it). */
  answerBytes: number;
  userAgent: string;
  log: Logger;
}

/**
 * Asks one before-hook about a message: Tencent's Group.CallbackBeforeSendMsg, sent at once (not
 * queued, never retried: the message cannot wait), within the hook's deadline. The answer decides;
 * a failure (timeout, connection error, non-200, an answer that is not Tencent's) follows the
 * hook's policy — allow (Tencent's default) or reject — and is counted and told as a delivery
 * failure is. A paused or disabled hook allows.
 */
export class BeforeHookCaller {
  constructor(private readonly deps: BeforeHookCallerDeps) {}

  readonly ask = async (hook: ActiveOutboundHook, event: RoomEvent): Promise<BeforeSendVerdict> => {
    const callback = hook.callback;
    const { health, log } = this.deps;
    if (!callback || health.suspendedHookIds().has(hook.id)) return ALLOW;
    const token = this.deps.token(hook.id);
    const request = tencentRequest("Group.CallbackBeforeSendMsg", event, hook.url, {
      sdkAppId: callback.sdkAppId,
      signToken: callback.sign ? token : null,
      nowMs: Date.now(),
      optPlatform: "Unknown",
      clientIp: "",
      mediaUrl: () => null, // no delivery job to link media by: receivers get the mxc:// URI in the event
    });
    const tls = this.deps.tls(hook);
    const outcome = await this.deps.sender.send({
      ...(tls ? { tls } : {}),
      url: request.url,
      method: hook.method,
      headers: { "content-type": request.contentType, "user-agent": this.deps.userAgent },
      body: request.body,
      timeoutMs: callback.timeoutMs,
      maxResponseBytes: this.deps.answerBytes,
    });
    let failure: FailureCategory;
    if (outcome.result.kind === "response") {
      const answer = readTencentAnswer(outcome.result.status, outcome.responseBody ?? "", outcome.responseContentType ?? null);
      if (answer.kind === "answer" && !outcome.responseCut) {
        health.recordSuccess(hook.id);
        return beforeSendVerdict(answer, event.content);
      }
      failure = outcome.result.status !== 200 ? classifyFailure(outcome) : unparseableResponse(answer.kind === "malformed" ? answer.reason : "the answer is too long");
    } else {
      failure = classifyFailure(outcome);
    }
    health.recordFailure(hook.id, Date.now(), { category: failure, attempt: 1, url: hook.url });
    log.warn({ hook: hook.name, roomId: hook.roomId, eventId: event.event_id, category: failure.id, policy: callback.onFailure }, "a before-hook failed; its failure policy decides");
    return callback.onFailure === "allow" ? ALLOW : { verdict: "reject", reason: `The room's moderation hook could not be asked (${failure.summary}), and it rejects messages then.` };
  };
}
