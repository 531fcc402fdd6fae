import type { RoomEvent } from "../../matrix/port.js";

/** The thread root of an event in a thread (MSC3440 m.thread), or null. */
export function threadRootOf(event: Pick<RoomEvent, "content">): string | null {
  const relation = event.content["m.relates_to"];
  if (typeof relation !== "object" || relation === null) return null;
  const { rel_type: relType, event_id: eventId } = relation as { rel_type?: unknown; event_id?: unknown };
  return relType === "m.thread" && typeof eventId === "string" ? eventId : null;
}
