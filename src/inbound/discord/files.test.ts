import { describe, expect, it } from "vitest";
import { cleanFilename, fileContent, fileMimetype, sniffImage } from "./files.js";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
// A GIF header of 3×2, and a JPEG with an APP0 segment before its SOF0 of 640×480.
const GIF = Buffer.from("GIF89a\x03\x00\x02\x00\x00\x00\x00", "latin1");
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x03, 0x00, 0x00]);

describe("files of a Discord message", () => {
  it("recognizes PNG, GIF, JPEG and WebP by their bytes, with their size where the header holds it", () => {
    expect(sniffImage(PNG)).toEqual({ mimetype: "image/png", width: 1, height: 1 });
    expect(sniffImage(GIF)).toEqual({ mimetype: "image/gif", width: 3, height: 2 });
    expect(sniffImage(JPEG)).toEqual({ mimetype: "image/jpeg", width: 640, height: 480 });
    expect(sniffImage(Buffer.from("RIFF\0\0\0\0WEBPVP8 ", "latin1"))).toEqual({ mimetype: "image/webp" });
    expect(sniffImage(Buffer.from("<svg onload=alert(1)>"))).toBeNull();
    expect(sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x00, 0, 0, 0, 0]))).toEqual({ mimetype: "image/jpeg" });
  });

  it("trusts a declared type only when the bytes are not an image it cannot show safely", () => {
    const file = (bytes: Buffer, declaredType: string) => ({ index: 0, filename: "f", declaredType, bytes });
    expect(fileMimetype(file(PNG, "application/octet-stream"))).toBe("image/png");
    expect(fileMimetype(file(Buffer.from("<svg/>"), "image/svg+xml"))).toBe("application/octet-stream");
    expect(fileMimetype(file(Buffer.from("log"), "text/plain; charset=utf-8"))).toBe("text/plain");
    expect(fileMimetype(file(Buffer.from("x"), "not a type"))).toBe("application/octet-stream");
  });

  it("keeps a file name without directories or control characters", () => {
    expect(cleanFilename("../../etc/passwd")).toBe("passwd");
    expect(cleanFilename("C:\\x\\report.pdf")).toBe("report.pdf");
    expect(cleanFilename("a\u0000b\nc.txt")).toBe("abc.txt");
    expect(cleanFilename(undefined)).toBe("file");
    expect(cleanFilename("..")).toBe("file");
    expect([...cleanFilename("é".repeat(300))].length).toBe(255);
  });

  it("posts images as m.image with their size, anything else as m.file", () => {
    expect(fileContent({ filename: "a.png", mimetype: "image/png", size: 70, mxc: "mxc://x/a", width: 1, height: 1 })).toEqual({
      msgtype: "m.image", body: "a.png", filename: "a.png", url: "mxc://x/a", info: { mimetype: "image/png", size: 70, w: 1, h: 1 },
    });
    expect(fileContent({ filename: "log.txt", mimetype: "text/plain", size: 3, mxc: "mxc://x/b", description: "the build log" })).toEqual({
      msgtype: "m.file", body: "the build log", filename: "log.txt", url: "mxc://x/b", info: { mimetype: "text/plain", size: 3 },
    });
  });

  it("carries an encrypted upload as `file` (with its key), never as a plain `url`", () => {
    const encryptedFile = { url: "mxc://x/c", key: { kty: "oct", alg: "A256CTR", k: "k", key_ops: ["encrypt", "decrypt"], ext: true }, iv: "iv", hashes: { sha256: "h" }, v: "v2" };
    const content = fileContent({ filename: "a.png", mimetype: "image/png", size: 70, mxc: "mxc://x/c", width: 1, height: 1, encryptedFile });
    expect(content).toEqual({ msgtype: "m.image", body: "a.png", filename: "a.png", file: encryptedFile, info: { mimetype: "image/png", size: 70, w: 1, h: 1 } });
    expect(content).not.toHaveProperty("url");
  });
});
