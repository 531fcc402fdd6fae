// The delivery targets over real store records (either engine), with Matrix as a recorder: what
// the failure-notice tests of both engines drive.
import { classifyFailure } from "../delivery/failure-category.js";
import type { AttemptFailure } from "../delivery/targets.js";
import { DirectMessenger } from "../matrix/direct-messenger.js";
import type { DmRoomsStore } from "../store/dm-rooms-table.js";
import type { MatrixPort } from "../matrix/port.js";
import { RoomNotifier } from "../matrix/room-notifier.js";
import { createLogger } from "../observability/logger.js";
import { BridgeMetrics } from "../observability/metrics.js";
import { NO_FILTER } from "../outbound/hook-filter.js";
import type { OutboundHookRecords } from "../store/outbound-hook-records.js";
import type { FailureNoticeSettings } from "./failure-notices.js";
import { HookTls } from "./hook-tls.js";
import { LastFailures } from "./last-failures.js";
import { OutboundDeliveryTargets } from "./outbound-delivery-targets.js";
import { OutboundHookRegistry } from "./outbound-hook-registry.js";

const log = createLogger("silent");
export const ROOM = "!room:x";
const URL_WITH_SECRET = "https://ci.example:8443/hooks/build?token=s3cr3t";
export const refused: AttemptFailure = {
  category: classifyFailure({ result: { kind: "network", error: "connect ECONNREFUSED" }, error: "ECONNREFUSED: connect ECONNREFUSED 10.1.2.3:8443", code: "ECONNREFUSED" }),
  attempt: 1,
  url: URL_WITH_SECRET,
};
export const nthAttempt = (attempt: number): AttemptFailure => ({ ...refused, attempt });

/** DMs go out after a homeserver round trip (the DM room is looked up first). */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** What the bridge would have sent: room notices and DMs, in order. */
interface Sent {
  roomId: string;
  text: string;
}

/** A bridge's delivery targets for hook "ci" of ROOM (made unless the store has it). */
export async function targetsOver(records: OutboundHookRecords, dmRooms: DmRoomsStore, settings: FailureNoticeSettings = { afterAttempts: 3, toOwner: true }) {
  const sent: Sent[] = [];
  let dmRoomCount = 0;
  const matrix = {
    botUserId: "@bot:x",
    sendNotice: async (roomId: string, text: string) => {
      sent.push({ roomId, text });
      return `$${sent.length}`;
    },
    createDirectRoom: async () => `!dm${++dmRoomCount}:x`,
    membership: async () => "join",
  } as unknown as MatrixPort;
  const { hooks } = records;
  const { hook } = await hooks.ensure(ROOM, "ci", "@owner:x", 1);
  const registry = new OutboundHookRegistry();
  registry.set({ kind: "hook", id: hook.id, roomId: ROOM, name: "ci", url: URL_WITH_SECRET, urls: [URL_WITH_SECRET], method: "PUT", ordering: "none", format: null, filter: NO_FILTER, contentType: "form", callback: null, tlsProfile: null, batch: null });
  const metrics = new BridgeMetrics({ defaultMetrics: false });
  const targets = new OutboundDeliveryTargets(registry, hooks, records.signingKeys, new RoomNotifier(matrix, log), log, {
    metrics,
    messenger: new DirectMessenger(matrix, dmRooms, log),
    failureNotices: settings,
    tls: new HookTls(records.tls, new Map()),
    lastFailures: new LastFailures(),
  });
  // Notices made while one was on its way share a message (CoalescingSender): one entry per notice.
  const notices = async (inRoom: boolean) => {
    await targets.idle();
    await settle();
    return sent.filter((s) => (s.roomId === ROOM) === inRoom).flatMap((s) => s.text.split("\n\n"));
  };
  return {
    hooks,
    targets,
    hookId: hook.id,
    sent,
    metrics,
    roomNotices: () => notices(true),
    dms: () => notices(false),
    /** A failed attempt, recorded (its health step done). */
    fail: (at: number, failure: AttemptFailure) => targets.recordFailure(hook.id, at, failure),
    /** A delivery that got through, recorded. */
    succeed: async () => {
      targets.recordSuccess(hook.id);
      await targets.idle();
    },
  };
}
