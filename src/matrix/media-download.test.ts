// The downloader against a real HTTP server on 127.0.0.1 that answers as Synapse 1.67 does: it has
// no authenticated media, and answers its client v1 path with 400 M_UNRECOGNIZED.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isUnknownEndpoint, MediaDownloader } from "./media-download.js";

const FILE = Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x80, 0x81, 0xfe]);
let server: Server;
let baseUrl: string;
let dir: string;
const hits: string[] = [];
/** What the v1 path answers: Synapse 1.67's exact answer unless a test changes it. */
let v1Answer = { status: 400, body: JSON.stringify({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" }) };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mwb-media-dl-"));
  server = createServer((req, res) => {
    const path = req.url ?? "";
    hits.push(path);
    if (path.startsWith("/_matrix/client/v1/media/download/")) {
      res.writeHead(v1Answer.status, { "content-type": "application/json" }).end(v1Answer.body);
    } else if (path === "/_matrix/media/v3/download/old.example/abc") {
      res.writeHead(200, { "content-type": "image/jpeg", "content-length": String(FILE.length) }).end(FILE);
    } else if (path.startsWith("/_matrix/media/v3/download/")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errcode: "M_NOT_FOUND", error: "Not found" }));
    } else {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  hits.length = 0;
  v1Answer = { status: 400, body: JSON.stringify({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" }) };
});

describe("MediaDownloader on a homeserver without authenticated media (Synapse 1.67)", () => {
  it("falls back to media/v3 on 400 M_UNRECOGNIZED, and the next download goes straight there", async () => {
    const downloader = new MediaDownloader(baseUrl, "as_token");
    try {
      const first = join(dir, "first");
      expect(await downloader.downloadTo("mxc://old.example/abc", first, { maxBytes: 1000 })).toEqual({ bytes: FILE.length, contentType: "image/jpeg" });
      expect((await readFile(first)).equals(FILE)).toBe(true);
      expect(hits).toEqual(["/_matrix/client/v1/media/download/old.example/abc", "/_matrix/media/v3/download/old.example/abc"]);

      hits.length = 0;
      await downloader.downloadTo("mxc://old.example/abc", join(dir, "second"), { maxBytes: 1000 });
      expect(hits).toEqual(["/_matrix/media/v3/download/old.example/abc"]);
    } finally {
      await downloader.close();
    }
  });

  it("reports media the old homeserver does not have as not_found, not as a failed download", async () => {
    const downloader = new MediaDownloader(baseUrl, "as_token");
    try {
      await expect(downloader.downloadTo("mxc://old.example/gone", join(dir, "gone"), { maxBytes: 1000 })).rejects.toMatchObject({ code: "not_found" });
    } finally {
      await downloader.close();
    }
  });

  it("does not fall back when v1 knows the path but not the media (404 M_NOT_FOUND)", async () => {
    v1Answer = { status: 404, body: JSON.stringify({ errcode: "M_NOT_FOUND", error: "Not found" }) };
    const downloader = new MediaDownloader(baseUrl, "as_token");
    try {
      await expect(downloader.downloadTo("mxc://old.example/abc", join(dir, "nf"), { maxBytes: 1000 })).rejects.toMatchObject({ code: "not_found" });
      expect(hits).toEqual(["/_matrix/client/v1/media/download/old.example/abc"]);
    } finally {
      await downloader.close();
    }
  });
});

describe("MediaDownloader on a homeserver with authenticated media", () => {
  it("keeps using it after one stray 404 without a Matrix error (a proxy): that download fails, the endpoint stays", async () => {
    v1Answer = { status: 200, body: "file bytes" };
    const downloader = new MediaDownloader(baseUrl, "as_token");
    try {
      await downloader.downloadTo("mxc://new.example/abc", join(dir, "v1-ok"), { maxBytes: 1000 });
      v1Answer = { status: 404, body: "<html>Not Found</html>" };
      await expect(downloader.downloadTo("mxc://new.example/abc", join(dir, "v1-stray"), { maxBytes: 1000 })).rejects.toBeDefined();
      v1Answer = { status: 200, body: "file bytes" };
      hits.length = 0;
      await downloader.downloadTo("mxc://new.example/abc", join(dir, "v1-again"), { maxBytes: 1000 });
      expect(hits).toEqual(["/_matrix/client/v1/media/download/new.example/abc"]);
    } finally {
      await downloader.close();
    }
  });
});

describe("isUnknownEndpoint", () => {
  it.each([
    [400, '{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}', true],
    [404, '{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}', true],
    [405, '{"errcode":"M_UNRECOGNIZED"}', true],
    [404, "<html>Not Found</html>", true],
    [405, "", true],
    [404, '{"errcode":"M_NOT_FOUND","error":"Not found"}', false],
    [400, "", false],
    [403, '{"errcode":"M_FORBIDDEN"}', false],
    [500, '{"errcode":"M_UNRECOGNIZED"}', false],
    [502, "", false],
  ])("%i %s → %s", (status, body, unknown) => {
    expect(isUnknownEndpoint(status, body)).toBe(unknown);
  });
});
