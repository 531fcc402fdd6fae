import { describe, expect, it } from "vitest";
import { isImageType, sniffImageType } from "./avatar-import.js";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

describe("avatar image types", () => {
  it("takes PNG, JPEG, GIF and WebP by declared type, and the bytes decide", () => {
    for (const t of ["image/png", "image/jpeg", "image/gif", "image/webp"]) expect(isImageType(t)).toBe(true);
    expect(isImageType("image/svg+xml")).toBe(false);
    expect(sniffImageType(PNG)).toBe("image/png");
    expect(sniffImageType(Buffer.from("GIF89a"))).toBe("image/gif");
    expect(sniffImageType(Buffer.from("<svg/>"))).toBeNull();
  });

  it("a content type named like an Object.prototype property is no image type", () => {
    for (const name of [...Object.getOwnPropertyNames(Object.prototype), "__proto__"]) expect(isImageType(name.toLowerCase()), name).toBe(false);
  });
});
