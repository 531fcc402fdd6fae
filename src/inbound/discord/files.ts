/** A file of a multipart execute-webhook body, as read (bounded by the body cap). */
export interface DiscordFile {
  /** Position among the body's files: `files[n]` ↔ the payload's attachments[].id = n. */
  index: number;
  filename: string;
  /** What the sender said it is (may be wrong; images are recognized by their bytes). */
  declaredType: string;
  bytes: Buffer;
}

/** A file as posted: its media, and what the Discord message object says of it. */
export interface UploadedFile {
  filename: string;
  mimetype: string;
  size: number;
  mxc: string;
  /** Set when the file was encrypted for an encrypted room: the message carries it as `file`, not `url`. */
  encryptedFile?: Record<string, unknown>;
  width?: number;
  height?: number;
  description?: string;
}

/**
 * The image types clients show inline, recognized by their first bytes. Anything else (SVG
 * included: it can carry scripts) is posted as a plain file, whatever the sender declares.
 */
export function sniffImage(bytes: Buffer): { mimetype: string; width?: number; height?: number } | null {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a && bytes.toString("latin1", 12, 16) === "IHDR") {
    return { mimetype: "image/png", width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes.length >= 10 && /^GIF8[79]a$/.test(bytes.toString("latin1", 0, 6))) {
    return { mimetype: "image/gif", width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  }
  if (bytes.length >= 12 && bytes.toString("latin1", 0, 4) === "RIFF" && bytes.toString("latin1", 8, 12) === "WEBP") return { mimetype: "image/webp" };
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return { mimetype: "image/jpeg", ...jpegSize(bytes) };
  return null;
}

/** A JPEG's size from its first start-of-frame marker; each step moves forward, so the walk ends with the buffer. */
function jpegSize(bytes: Buffer): { width?: number; height?: number } {
  let at = 2;
  while (at + 9 <= bytes.length) {
    if (bytes[at] !== 0xff) return {};
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    const length = bytes.readUInt16BE(at + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    }
    if (length < 2) return {};
    at += 2 + length;
  }
  return {};
}

/** Printable name without directories, at most 255 characters; "file" when nothing is left. */
export function cleanFilename(name: string | undefined): string {
  const base = (name ?? "").split(/[\\/]/).pop() ?? "";
  const printable = [...base.replace(/[\u0000-\u001f\u007f]/g, "").trim()].slice(0, 255).join("");
  return printable === "" || printable === "." || printable === ".." ? "file" : printable;
}

/** The mimetype to post a file with: a recognized image's, else the declared one if well-formed, else octet-stream. */
export function fileMimetype(file: DiscordFile): string {
  const image = sniffImage(file.bytes);
  if (image) return image.mimetype;
  const declared = file.declaredType.toLowerCase().split(";")[0]!.trim();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/.test(declared) && !declared.startsWith("image/") ? declared : "application/octet-stream";
}

/** The m.image / m.file event content for an uploaded file. */
export function fileContent(file: UploadedFile): Record<string, unknown> {
  const image = file.mimetype.startsWith("image/");
  const info: Record<string, unknown> = { mimetype: file.mimetype, size: file.size };
  if (image && file.width && file.height) Object.assign(info, { w: file.width, h: file.height });
  const where = file.encryptedFile ? { file: file.encryptedFile } : { url: file.mxc };
  return { msgtype: image ? "m.image" : "m.file", body: file.description ?? file.filename, filename: file.filename, ...where, info };
}
