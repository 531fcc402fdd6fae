import type { ClaimedJob } from "../delivery/queue/queue.js";
import type { SendOutcome } from "../delivery/sender.js";
import type { DeliveryTarget } from "../delivery/targets.js";
import type { DeliveryAnswers } from "../delivery/worker.js";
import type { Logger } from "../observability/logger.js";
import { readTencentAnswer } from "../outbound/formats/tencent/index.js";

/**
 * An after-event callback's answer, `{"ActionStatus","ErrorCode","ErrorInfo"}`: read and recorded
 * (the attempt keeps the answer; the log says what it said), never acted on, as Tencent does. An
 * answer that is not Tencent's (not 200, not JSON, no integer ErrorCode) makes the attempt fail,
 * classified as "response not parseable".
 */
export class CallbackAnswers implements DeliveryAnswers {
  constructor(private readonly log: Logger) {}

  accept(job: ClaimedJob, target: DeliveryTarget, outcome: SendOutcome): Promise<string | null> {
    const status = outcome.result.kind === "response" ? outcome.result.status : 0;
    if (outcome.responseCut) return Promise.resolve(`the answer is longer than the ${outcome.responseBody?.length ?? 0} bytes read`);
    const answer = readTencentAnswer(status, outcome.responseBody ?? "", outcome.responseContentType ?? null);
    if (answer.kind === "malformed") return Promise.resolve(answer.reason);
    if (answer.errorCode !== 0 || answer.actionStatus !== "OK") {
      this.log.info({ hook: target.hook.name, roomId: job.roomId, eventId: job.eventId, errorCode: answer.errorCode, actionStatus: answer.actionStatus, errorInfo: answer.errorInfo.slice(0, 200) }, "a callback answered with an error code (recorded; after-event answers are not acted on)");
    }
    return Promise.resolve(null);
  }
}
