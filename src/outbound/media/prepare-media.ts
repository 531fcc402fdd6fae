import { randomBytes } from "node:crypto";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { MediaDownloader } from "../../matrix/media-download.js";
import { checkEncryptedFile, DecryptStream, MediaError } from "./encrypted-file.js";
import type { MediaRef } from "./media-content.js";

/** Media ready to send: a plain file on disk, removed by `cleanup`. */
export interface PreparedMedia {
  path: string;
  size: number;
  filename: string;
  mimetype: string;
  cleanup(): Promise<void>;
}

export interface MediaLimits {
  maxBytes: number;
  tempDir: string;
}

/**
 * Downloads (and, for an EncryptedFile, verifies and decrypts) an event's media into a temp
 * file, never holding it in memory. Throws MediaError with a machine-readable code.
 */
export async function prepareMedia(ref: MediaRef, downloader: MediaDownloader, limits: MediaLimits): Promise<PreparedMedia> {
  if (ref.declaredSize !== null && ref.declaredSize > limits.maxBytes) {
    throw new MediaError("too_large", `the media declares ${ref.declaredSize} bytes, over the ${limits.maxBytes}-byte cap`);
  }
  const crypto = ref.encrypted ? checkEncryptedFile(ref.encrypted) : null;
  await mkdir(limits.tempDir, { recursive: true, mode: 0o700 });
  const path = join(limits.tempDir, `media-${randomBytes(12).toString("hex")}`);
  const cleanup = () => rm(path, { force: true });
  try {
    await downloader.downloadTo(ref.mxc, path, {
      maxBytes: limits.maxBytes,
      transform: crypto ? new DecryptStream(crypto.key, crypto.iv, crypto.sha256) : undefined,
    });
    const { size } = await stat(path);
    return { path, size, filename: ref.filename, mimetype: ref.mimetype, cleanup };
  } catch (err) {
    await cleanup();
    throw err instanceof MediaError ? err : new MediaError("download_failed", (err as Error).message);
  }
}
