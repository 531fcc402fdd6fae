import type { Router } from "express";
import type { BridgeConfig } from "../config/index.js";
import type { OutboundHookRegistry } from "../connections/outbound-hook-registry.js";
import type { HookTls } from "../connections/hook-tls.js";
import type { WebhookBots } from "../connections/webhook-bots.js";
import type { DeliveryQueue } from "../delivery/queue/queue.js";
import type { HttpSender } from "../delivery/sender.js";
import type { DeliveryTargets } from "../delivery/targets.js";
import type { MatrixPort } from "../matrix/port.js";
import type { RoomNotifier } from "../matrix/room-notifier.js";
import type { Logger } from "../observability/logger.js";
import type { BridgeMetrics } from "../observability/metrics.js";
import { isBeforeSendEvent } from "../outbound/formats/tencent/index.js";
import { hooksForEvent } from "../outbound/match.js";
import { BeforeHookCaller } from "./before-hook-caller.js";
import { beforeHookNote } from "./before-hook-notice.js";
import { BeforeSendFallback } from "./before-send-fallback.js";
import { BeforeSendJudge } from "./before-send-judge.js";
import { CallbackAnswers } from "./callback-answers.js";
import { CheckedMessages } from "./checked-messages.js";
import { precheckRoute } from "./precheck-route.js";
import { TencentRequests } from "./tencent-requests.js";

export interface CallbacksDeps {
  config: BridgeConfig;
  matrix: MatrixPort;
  registry: OutboundHookRegistry;
  bots: WebhookBots;
  queue: DeliveryQueue;
  sender: HttpSender;
  targets: DeliveryTargets;
  token(hookId: string): string | null;
  tls: HookTls;
  notifier: RoomNotifier;
  mediaLink: ((jobKey: number) => string) | null;
  userAgent: string;
  metrics: BridgeMetrics;
  log: Logger;
}

/** Tencent-style callbacks: queued after-callbacks, before-hooks asked by the Synapse module or judged after the fact. */
export function createCallbacks(deps: CallbacksDeps): {
  requests: TencentRequests;
  answers: CallbackAnswers;
  fallback: BeforeSendFallback;
  precheckRouter: Router;
  beforeHookNote: (roomId: string) => Promise<string>;
} {
  const { config, matrix, registry, log } = deps;
  const caller = new BeforeHookCaller({ sender: deps.sender, token: deps.token, tls: (hook) => deps.tls.materialFor(hook), health: deps.targets, answerBytes: config.replies.maxBytes, userAgent: deps.userAgent, log });
  const judge = new BeforeSendJudge(registry, caller.ask, { isJudged: isBeforeSendEvent, isBridgeUser: (u) => matrix.isBridgeUser(u) }, log, deps.metrics);
  const checked = new CheckedMessages();
  const fallback = new BeforeSendFallback({
    judge, checked, matrix, notifier: deps.notifier, queue: deps.queue, log,
    lanesFor: (event) => hooksForEvent(event, registry.forRoom(event.room_id), (u) => matrix.isBridgeUser(u), deps.bots.candidates(event.room_id)),
  });
  const secret = config.callbacks.precheck.secret;
  return {
    requests: new TencentRequests(deps.mediaLink),
    answers: new CallbackAnswers(log),
    fallback,
    precheckRouter: precheckRoute({ secret, judge, checked, log }),
    beforeHookNote: async (roomId) => beforeHookNote(await matrix.roomAuthority(roomId), matrix.botUserId, secret !== null),
  };
}
