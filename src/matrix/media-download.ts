import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { PassThrough, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Agent, request } from "undici";
import { MediaError } from "../outbound/media/encrypted-file.js";

const MXC = /^mxc:\/\/([A-Za-z0-9.:[\]-]+)\/([A-Za-z0-9_-]+)$/;

/**
 * Downloads media from the homeserver into a file, streamed and size-capped: authenticated media
 * (client v1, the bridge's token) first, the legacy media/v3 endpoint only when the homeserver
 * does not know the authenticated one. One downloader serves one homeserver, and remembers which
 * endpoint it has: once v1 answered "unknown endpoint", every later download goes straight to v3.
 */
export class MediaDownloader {
  private readonly agent = new Agent({ connections: 16 });
  /** null until the first answer tells: true = client v1 works, false = only media/v3. */
  private authenticated: boolean | null = null;

  constructor(
    private readonly homeserverUrl: string,
    private readonly accessToken: string,
    private readonly timeoutMs = 60_000,
  ) {}

  /** Streams `mxc` (through `transform`, e.g. decryption) into `dest`; removes `dest` on any failure. */
  async downloadTo(mxc: string, dest: string, opts: { maxBytes: number; transform?: Transform }): Promise<{ bytes: number; contentType: string | null }> {
    const match = MXC.exec(mxc);
    if (!match) throw new MediaError("not_found", `"${mxc}" is not a valid mxc:// URI`);
    const [, server, mediaId] = match as unknown as [string, string, string];
    const res = await this.fetch(server, mediaId);
    const length = Number(res.headers["content-length"]);
    if (Number.isFinite(length) && length > opts.maxBytes) {
      res.body.destroy();
      throw new MediaError("too_large", `the media is ${length} bytes, over the ${opts.maxBytes}-byte cap`);
    }
    const cap = new ByteCap(opts.maxBytes);
    try {
      await pipeline(res.body, cap, opts.transform ?? new PassThrough(), createWriteStream(dest));
    } catch (err) {
      await rm(dest, { force: true });
      if (err instanceof MediaError) throw err;
      throw new MediaError("download_failed", `downloading ${mxc} failed: ${(err as Error).message}`);
    }
    const type = res.headers["content-type"];
    return { bytes: cap.bytes, contentType: typeof type === "string" ? type : null };
  }

  private async fetch(server: string, mediaId: string) {
    const path = `${encodeURIComponent(server)}/${encodeURIComponent(mediaId)}`;
    if (this.authenticated !== false) {
      const res = await this.get(`/_matrix/client/v1/media/download/${path}`, true);
      if (res.statusCode === 200) {
        this.authenticated = true;
        return res;
      }
      const text = await errorText(res);
      // Once the authenticated endpoint has worked, a stray 404 (a proxy, one file) does not switch it off.
      if (this.authenticated === true || !isUnknownEndpoint(res.statusCode, text)) throw failure(res.statusCode, text);
      this.authenticated = false;
    }
    const res = await this.get(`/_matrix/media/v3/download/${path}`, false);
    if (res.statusCode === 200) return res;
    throw failure(res.statusCode, await errorText(res));
  }

  private get(path: string, withToken: boolean) {
    return request(`${this.homeserverUrl}${path}`, {
      dispatcher: this.agent,
      headers: withToken ? { authorization: `Bearer ${this.accessToken}` } : {},
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * Whether an answer means "this homeserver has no such endpoint" (so media/v3 is the one to use),
 * not "no such media": M_UNRECOGNIZED with any 4xx (Synapse before 1.111 answers
 * `400 {"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}`), or a 404/405 that is not a
 * Matrix error at all (a proxy or server that does not route the path).
 */
export function isUnknownEndpoint(status: number, body: string): boolean {
  if (status < 400 || status > 499) return false;
  const errcode = matrixErrcode(body);
  if (errcode === "M_UNRECOGNIZED") return true;
  return errcode === null && (status === 404 || status === 405);
}

function matrixErrcode(body: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    const errcode = parsed && typeof parsed === "object" ? (parsed as { errcode?: unknown }).errcode : undefined;
    return typeof errcode === "string" ? errcode : null;
  } catch {
    return null;
  }
}

async function errorText(res: Awaited<ReturnType<typeof request>>): Promise<string> {
  return (await res.body.text().catch(() => "")).slice(0, 300);
}

function failure(status: number, text: string): MediaError {
  if (status === 404) return new MediaError("not_found", `the homeserver has no such media (${text || "404"})`);
  if (status === 413 || /M_TOO_LARGE/.test(text)) return new MediaError("too_large", `the homeserver refused: ${text}`);
  return new MediaError("download_failed", `the homeserver answered ${status}: ${text}`);
}

/** Fails the stream once more than `max` bytes went through. */
class ByteCap extends Transform {
  bytes = 0;

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) done(new MediaError("too_large", `the media is over the ${this.max}-byte cap`));
    else done(null, chunk);
  }
}
