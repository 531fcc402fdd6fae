import { describe, expect, it } from "vitest";
import { readHookEdit } from "./hook-edit.js";

describe("readHookEdit", () => {
  it("reads the webhooks RFC's edit body", () => {
    const read = readHookEdit({ name: "CI", avatar: "https://img.example/a.png", permissions: { masquerade: false } });
    expect(read.ok && { ...read.edit, permissions: [...read.edit.permissions] }).toEqual({ name: "CI", avatar: "https://img.example/a.png", removeAvatar: false, permissions: [["masquerade", false]] });
    expect(readHookEdit({ remove: ["Avatar"] })).toMatchObject({ ok: true, edit: { removeAvatar: true } });
    expect(readHookEdit({ remove: [] })).toMatchObject({ ok: true, edit: { removeAvatar: false } });
    expect(readHookEdit({})).toMatchObject({ ok: true, edit: { removeAvatar: false } });
  });

  it("names every problem", () => {
    expect(readHookEdit([1])).toEqual({ ok: false, problems: ["the body must be a JSON object"] });
    expect(readHookEdit(null)).toMatchObject({ ok: false });
    const read = readHookEdit({ name: " x", avatar: "ftp://a", remove: ["name"], permissions: { react: true, send_embeds: "no" }, constructor: 1 });
    expect(read.ok ? [] : read.problems).toEqual([
      '"constructor" is not a field of a webhook edit (name, avatar, remove, permissions)',
      "name: the name starts or ends with a space",
      "avatar: an mxc:// URI, an http(s) image URL or a data:image/…;base64 URI",
      'remove: a list of fields to clear; only "avatar" can be',
      'permissions: "react" is not a permission (send_messages, send_embeds, masquerade, upload_files)',
      "permissions.send_embeds: true or false",
    ]);
    expect(readHookEdit({ avatar: "mxc://a/b", remove: ["avatar"] })).toEqual({ ok: false, problems: ["avatar: cannot be set and removed at once"] });
    expect(readHookEdit({ name: 3, permissions: [] })).toEqual({ ok: false, problems: ["name: it must be a string", "permissions: an object of send_messages, send_embeds, masquerade, upload_files, each true or false"] });
    expect(readHookEdit(JSON.parse('{"__proto__": {"name": "x"}}'))).toMatchObject({ ok: false, problems: [expect.stringContaining('"__proto__" is not a field')] });
  });
});
