import type { ClaimedJob } from "../delivery/queue/queue.js";
import type { SendOutcome } from "../delivery/sender.js";
import type { DeliveryTarget } from "../delivery/targets.js";
import type { DeliveryAnswers } from "../delivery/worker.js";
import { isChatFormat } from "./formats/format-names.js";

/** A receiver's answer goes to its hook's format: chat formats post replies, callbacks record theirs; others' answers are only logged by the worker. */
export class FormatAnswers implements DeliveryAnswers {
  constructor(
    private readonly chat: DeliveryAnswers | null,
    private readonly callbacks: DeliveryAnswers | null,
  ) {}

  accept(job: ClaimedJob, target: DeliveryTarget, outcome: SendOutcome): Promise<string | null> {
    const format = target.hook.format;
    const answers = isChatFormat(format) ? this.chat : format === "tencent" ? this.callbacks : null;
    return answers ? answers.accept(job, target, outcome) : Promise.resolve(null);
  }
}
