import { Agent, request } from "undici";
import type { SsrfGuard } from "../egress/ssrf.js";

/** Why an image could not be imported, in words for the room. */
export class AvatarError extends Error {}

// Keyed by a content type a remote server declares: a Map, so no inherited name counts as a type.
const TYPES = new Map<string, (b: Buffer) => boolean>([
  ["image/png", (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))],
  ["image/jpeg", (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ["image/gif", (b) => b.subarray(0, 4).toString("latin1") === "GIF8"],
  ["image/webp", (b) => b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WEBP"],
]);

/** Whether a declared content type (lower-case, no parameters) is one of the images taken. */
export const isImageType = (declared: string): boolean => TYPES.has(declared);

/** The image type the bytes really are, or null. */
export function sniffImageType(bytes: Buffer): string | null {
  for (const [type, matches] of TYPES) if (matches(bytes)) return type;
  return null;
}

const CACHE_SIZE = 256;

/**
 * Imports avatar images given as http(s) URLs into the homeserver's media repository: fetched
 * through the SSRF guard (no private addresses unless allow-listed, no redirects), size-capped,
 * and only real PNG, JPEG, GIF or WebP images.
 */
export class AvatarImporter {
  private readonly agent: Agent;
  // Per-message avatars repeat: remember url → mxc (and recent failures) for a while.
  private readonly cache = new Map<string, { mxc: string | null; at: number }>();

  constructor(
    private readonly guard: SsrfGuard,
    private readonly upload: (bytes: Buffer, contentType: string, filename: string) => Promise<string>,
    private readonly maxBytes: number,
    private readonly timeoutMs = 10_000,
  ) {
    this.agent = new Agent({ connections: 8, connect: { lookup: guard.lookup } });
  }

  /** The mxc:// URI of the image at `url`; throws AvatarError saying why not. */
  async import(url: string): Promise<string> {
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) throw new AvatarError(`"${url.slice(0, 200)}" is not an http(s) URL`);
    let res;
    try {
      this.guard.assertSendable(url);
      // reset: no idle connection is kept, so there is nothing to close at shutdown.
      res = await request(url, { method: "GET", dispatcher: this.agent, reset: true, signal: AbortSignal.timeout(this.timeoutMs), headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    } catch (err) {
      throw new AvatarError(`the image could not be fetched: ${(err as Error).message}`);
    }
    if (res.statusCode !== 200) {
      res.body.destroy();
      throw new AvatarError(`fetching the image answered HTTP ${res.statusCode}`);
    }
    const declared = String(res.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (!isImageType(declared)) {
      res.body.destroy();
      throw new AvatarError(`the URL is not a PNG, JPEG, GIF or WebP image (content type "${declared.slice(0, 60)}")`);
    }
    const bytes = await this.readCapped(res.body);
    const type = sniffImageType(bytes);
    if (!type) throw new AvatarError("the file is not a PNG, JPEG, GIF or WebP image");
    return this.upload(bytes, type, `avatar.${type.slice(6)}`);
  }

  /** The mxc:// URI of an image given inline, as Discord's webhook API takes avatars (`data:image/png;base64,…`); throws AvatarError. */
  async importDataUri(uri: string): Promise<string> {
    const match = /^data:(image\/[a-z]+);base64,([A-Za-z0-9+/]*={0,2})$/i.exec(uri);
    if (!match) throw new AvatarError("the avatar is not a base64 data URI of an image (data:image/png;base64,…)");
    if ((match[2]!.length * 3) / 4 > this.maxBytes) throw new AvatarError(`the image is larger than ${this.maxBytes} bytes`);
    const bytes = Buffer.from(match[2]!, "base64");
    const type = sniffImageType(bytes);
    if (!type) throw new AvatarError("the file is not a PNG, JPEG, GIF or WebP image");
    return this.upload(bytes, type, `avatar.${type.slice(6)}`);
  }

  /** For per-message avatars: the mxc:// URI, or null when the image cannot be had (the message goes out anyway). */
  async cached(url: string, now = Date.now()): Promise<string | null> {
    const hit = this.cache.get(url);
    if (hit && (hit.mxc !== null || now - hit.at < 60_000)) return hit.mxc;
    const mxc = await this.import(url).catch(() => null);
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(url, { mxc, at: now });
    return mxc;
  }

  private async readCapped(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body) {
        total += chunk.length;
        if (total > this.maxBytes) {
          body.destroy();
          throw new AvatarError(`the image is larger than ${this.maxBytes} bytes`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof AvatarError) throw err;
      throw new AvatarError(`reading the image failed: ${(err as Error).message}`);
    }
    return Buffer.concat(chunks);
  }
}
