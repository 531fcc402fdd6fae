import type { ClaimedJob } from "../delivery/queue/queue.js";
import type { DeliveryTarget } from "../delivery/targets.js";
import type { RoomEvent } from "../matrix/port.js";
import type { CallbackRequest, CallbackRequests } from "../outbound/formats/hook-bodies.js";
import { mediaOf } from "../outbound/media/media-content.js";
import { afterCommandsFor, tencentRequest, type TencentCommand } from "../outbound/formats/tencent/index.js";

/** The after-event command word a hook takes for the event, or null (callback-state: null commands = all). */
export function afterCommandOf(commands: readonly string[] | null, event: RoomEvent): TencentCommand | null {
  return afterCommandsFor(event).find((word) => commands === null || commands.includes(word)) ?? null;
}

/**
 * Queued after-event callbacks in Tencent's protocol: the job's event as its command word's
 * request, signed with the hook's token when the hook signs, its media linked when the bridge
 * has a public URL.
 */
export class TencentRequests implements CallbackRequests {
  constructor(private readonly mediaLink: ((jobKey: number) => string) | null) {}

  request(job: ClaimedJob, target: DeliveryTarget): CallbackRequest {
    const callback = target.hook.callback;
    const event = JSON.parse(job.body) as RoomEvent;
    // The hook's command words may have changed since the event was queued: then its own word.
    const command = afterCommandOf(callback?.commands ?? null, event) ?? afterCommandOf(null, event);
    if (!callback || command === null) throw new Error(`event ${job.eventId} (${event.type}) has no Tencent after-event command word`);
    // Only what the media-link route serves (a message's or sticker's own file): a room avatar's
    // FaceUrl would otherwise be a link that answers 404, so it is "" (no link).
    const served = mediaOf(event)?.mxc ?? null;
    return tencentRequest(command, event, target.url, {
      sdkAppId: callback.sdkAppId,
      signToken: callback.sign ? target.token : null,
      nowMs: Date.now(),
      optPlatform: "Unknown",
      clientIp: "",
      // A link serves the media of its job's event only: the event's own file.
      mediaUrl: (mxc) => (this.mediaLink && mxc === served ? this.mediaLink(job.key) : null),
    });
  }
}
