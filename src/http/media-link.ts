import { createHmac, timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import express, { type Router } from "express";
import type { DeliveryQueue } from "../delivery/queue/queue.js";
import type { MediaDownloader } from "../matrix/media-download.js";
import type { Logger } from "../observability/logger.js";
import { MediaError } from "../outbound/media/encrypted-file.js";
import { mediaOf } from "../outbound/media/media-content.js";
import { prepareMedia, type MediaLimits } from "../outbound/media/prepare-media.js";

export const MEDIA_LINK_PATH = "/_webhook-bridge/media";

/**
 * Short-lived links to an event's media for hooks with format "json": the URL names the delivery
 * job and an expiry, signed with a key derived from the store key, so it cannot be forged or
 * extended, and it only ever serves the media of the event that job delivers.
 */
export class MediaLinks {
  private readonly key: Buffer;

  constructor(storeKey: Buffer, private readonly publicUrl: string, private readonly ttlSeconds: number) {
    this.key = createHmac("sha256", storeKey).update("media-link").digest();
  }

  link(jobKey: number, now = Date.now()): string {
    const exp = Math.floor(now / 1000) + this.ttlSeconds;
    return `${this.publicUrl}${MEDIA_LINK_PATH}/${jobKey}?exp=${exp}&sig=${this.sign(String(jobKey), exp)}`;
  }

  /** True when the signature matches and the link has not expired. */
  valid(jobId: string, exp: unknown, sig: unknown, now = Date.now()): boolean {
    if (typeof exp !== "string" || typeof sig !== "string" || !/^\d{1,12}$/.test(exp)) return false;
    if (Number(exp) * 1000 < now) return false;
    const expected = Buffer.from(this.sign(jobId, Number(exp)));
    const given = Buffer.from(sig);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private sign(jobId: string, exp: number): string {
    return createHmac("sha256", this.key).update(`${jobId}\0${exp}`).digest("base64url");
  }
}

/** Serves linked media: fetched (and decrypted) on demand, streamed from a temp file, then removed. */
export function mediaLinkRouter(opts: { links: MediaLinks; queue: DeliveryQueue; downloader: MediaDownloader; limits: MediaLimits; log: Logger }): Router {
  const router = express.Router();
  router.get(`${MEDIA_LINK_PATH}/:jobId`, async (req, res) => {
    const jobId = req.params.jobId;
    if (!opts.links.valid(jobId, req.query.exp, req.query.sig)) {
      res.status(403).json({ error: "This media link is invalid or has expired" });
      return;
    }
    const body = /^\d{1,15}$/.test(jobId) ? await opts.queue.eventForJob(Number(jobId)) : null;
    const ref = body ? mediaOf(JSON.parse(body) as { type: string; content: Record<string, unknown> }) : null;
    if (!ref) {
      res.status(404).json({ error: "No such media" });
      return;
    }
    try {
      const file = await prepareMedia(ref, opts.downloader, opts.limits);
      res.on("close", () => void file.cleanup());
      res.status(200).set({
        "content-type": file.mimetype,
        "content-length": String(file.size),
        "content-disposition": `attachment; filename="${file.filename}"`,
      });
      createReadStream(file.path).pipe(res);
    } catch (err) {
      const status = err instanceof MediaError ? (err.code === "not_found" ? 404 : err.code === "too_large" ? 413 : 502) : 500;
      if (status === 500) opts.log.error({ err, jobId }, "serving linked media failed");
      res.status(status).json({ error: err instanceof MediaError ? err.code : "internal error" });
    }
  });
  return router;
}
