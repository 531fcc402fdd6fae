import { withoutKeyMaterial } from "../outbound/media/encrypted-file.js";
import { isMediaEvent } from "../outbound/media/media-content.js";
import type { Rendered } from "../outbound/formats/render.js";
import type { TransformHook, TransformationFunctions } from "./transformation-functions.js";

/** A job that is not sent: its hook's function said `empty` (skip), or could not shape a body (give up). */
export interface NoDelivery {
  noDelivery: "skip" | "give-up";
  reason: string;
}

export type BodyTransforms = Pick<TransformationFunctions, "sourceOf" | "outbound">;

type Event = { type: string; content: Record<string, unknown> } & Record<string, unknown>;

/**
 * An outbound hook's body shaped by its function: `data` is the Matrix event as the receiver would
 * get it (a media event without its decryption keys; no media attached), `result` is sent as JSON.
 */
export async function transformedBody(transforms: BodyTransforms, hook: TransformHook, source: string, eventJson: string): Promise<Rendered | NoDelivery> {
  const event = JSON.parse(eventJson) as Event;
  const data = isMediaEvent(event) ? { ...event, content: withoutKeyMaterial(event.content) } : event;
  const transformed = await transforms.outbound(hook, source, data);
  if (!transformed.ok) return { noDelivery: "give-up", reason: `transformation function failed: ${transformed.failure.message}` };
  if (transformed.value.kind === "empty") return { noDelivery: "skip", reason: "the hook's transformation function returned empty" };
  return { body: { kind: "memory", body: transformed.value.json, contentType: "application/json" }, mediaError: null, cleanup: async () => undefined };
}
