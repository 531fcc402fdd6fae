import { describe, expect, it } from "vitest";
import { createLogger } from "../observability/logger.js";
import { JoinedRoomsLoader } from "./joined-rooms-loader.js";

const log = createLogger("silent");

/** A room load that finishes when the test says so. */
function controlledLoads() {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const load = (roomId: string) => {
    started.push(roomId);
    return new Promise<void>((resolve) => finish.set(roomId, resolve));
  };
  return { started, load, finish: (roomId: string) => finish.get(roomId)!() };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("JoinedRoomsLoader", () => {
  it("loads a bounded number of rooms at a time, a room asked for first, each once", async () => {
    const loads = controlledLoads();
    const loader = new JoinedRoomsLoader(loads.load, { concurrency: 2, log });
    const all = loader.loadAll(async () => ["!a", "!b", "!c", "!d"]);
    await tick();
    expect(loads.started).toEqual(["!a", "!b"]);
    // An event of !d came: !d loads now, ahead of !c, and whoever asks waits for it.
    let dReady = false;
    void loader.loaded("!d")!.then(() => (dReady = true));
    await tick();
    expect(loads.started).toEqual(["!a", "!b", "!d"]);
    expect(dReady).toBe(false);
    loads.finish("!d");
    await tick();
    expect(dReady).toBe(true);
    loads.finish("!a");
    loads.finish("!b");
    await tick();
    loads.finish("!c");
    expect(await all).toBe(4);
    // !d was not loaded a second time when its turn came.
    expect(loads.started).toEqual(["!a", "!b", "!d", "!c"]);
    expect(loader.loaded("!a")).toBeNull();
  });

  it("lets events of rooms it does not load through, and waits for the list first", async () => {
    let list!: (rooms: string[]) => void;
    const loader = new JoinedRoomsLoader(async () => undefined, { concurrency: 4, log });
    const all = loader.loadAll(() => new Promise((resolve) => (list = resolve)));
    // Before the list is known, every room waits for it.
    const early = loader.loaded("!new");
    expect(early).not.toBeNull();
    list(["!a", "!ok"]);
    await early;
    expect(await all).toBe(2);
    expect(loader.loaded("!new")).toBeNull();
    expect(loader.loading).toBe(false);
  });

  it("tries a room that fails for now again; one still failing refuses its events, after loading too, until it loads", async () => {
    let homeserverUp = false;
    const tries: string[] = [];
    const loader = new JoinedRoomsLoader(async (roomId) => {
      tries.push(roomId);
      if (roomId === "!flaky" && !homeserverUp) throw Object.assign(new Error("bad gateway"), { statusCode: 502 });
    }, { concurrency: 2, log, retryDelaysMs: [0, 0] });
    expect(await loader.loadAll(async () => ["!flaky", "!ok"])).toBe(2);
    expect(tries.filter((r) => r === "!flaky")).toHaveLength(3); // first try and two retries
    // Loading is over, but !flaky's hooks are unknown: its events must not be acknowledged.
    expect(loader.loading).toBe(true);
    expect(loader.loaded("!ok")).toBeNull();
    await expect(loader.loaded("!flaky")).rejects.toThrow(/could not be loaded yet/);
    homeserverUp = true;
    await expect(loader.loaded("!flaky")).resolves.toBeUndefined();
    expect(loader.loaded("!flaky")).toBeNull();
    expect(loader.loading).toBe(false);
  });

  it("counts a room the homeserver refuses for good (4xx, the bot was removed) as loaded without hooks", async () => {
    const loader = new JoinedRoomsLoader(async (roomId) => {
      if (roomId === "!gone") throw Object.assign(new Error("not in room"), { statusCode: 403, errcode: "M_FORBIDDEN" });
    }, { concurrency: 1, log, retryDelaysMs: [0] });
    expect(await loader.loadAll(async () => ["!gone"])).toBe(1);
    expect(loader.loaded("!gone")).toBeNull();
    expect(loader.loading).toBe(false);
  });

  it("makes waiting transactions fail (the homeserver retries) when the rooms cannot be listed", async () => {
    const loader = new JoinedRoomsLoader(async () => undefined, { concurrency: 1, log });
    const all = loader.loadAll(() => Promise.reject(new Error("homeserver down")));
    const waiting = loader.loaded("!a");
    await expect(all).rejects.toThrow(/homeserver down/);
    await expect(waiting).rejects.toThrow(/homeserver down/);
  });
});
