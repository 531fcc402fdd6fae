import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Attachment, EncryptedAttachment } from "./attachment.js";
import { DeviceId, DeviceLists, RoomId, UserId } from "./ids.js";
import { KeyDirectory } from "./key-directory-test-fixtures.js";
import { OlmMachine } from "./olm-machine.js";
import { EncryptionSettings, RequestType } from "./settings.js";
import { configureCryptoStore, cryptoStoreExists } from "./store.js";

const run = promisify(execFile);
const FIXTURE = join(__dirname, "store-process-test-fixtures.ts");
const ALICE = "@alice:example.org";
const BOT = "@bot:example.org";
const ROOM = "!room:example.org";

/** The fixture in a process of its own: what it printed. */
async function inProcess(directory: string, path: string, event?: string): Promise<{ ed25519: string; curve25519: string; pendingAtStart: number[]; decrypted: { content?: { body?: string } } | null }> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", FIXTURE, directory, path, "once", ...(event ? [event] : [])], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

describe("OlmMachine on the WebAssembly crypto core", () => {
  let dir: string;
  let alice: OlmMachine;
  let bot: OlmMachine;
  const keys = new KeyDirectory();
  let encryptedEvent: string;
  // As the bot SDK lays stores out: <base>/<user>/<device>.
  const botStore = () => join(dir, "bot-user", "BOTDEVICE");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mwb-crypto-"));
    configureCryptoStore({ passphrase: "test passphrase", directory: dir });
    alice = await OlmMachine.initialize(new UserId(ALICE), new DeviceId("ALICEDEVICE"));
    bot = await OlmMachine.initialize(new UserId(BOT), new DeviceId("BOTDEVICE"), botStore(), "", 0);
  }, 60_000);

  afterAll(async () => {
    alice?.close();
    bot?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("uploads its device keys and one-time keys, with the native binding's request shapes", async () => {
    const requests = await bot.outgoingRequests();
    expect(requests.map((r) => r.type)).toContain(RequestType.KeysUpload);
    const upload = JSON.parse(requests.find((r) => r.type === RequestType.KeysUpload)!.body);
    expect(upload.device_keys).toMatchObject({ user_id: BOT, device_id: "BOTDEVICE" });
    expect(upload.device_keys.keys[`ed25519:BOTDEVICE`]).toBe(bot.identityKeys.ed25519.toBase64());
    await keys.pump(bot, BOT, "BOTDEVICE");
    await keys.pump(alice, ALICE, "ALICEDEVICE");
    expect(keys.oneTimeKeyCount(BOT, "BOTDEVICE")).toBeGreaterThan(0);
    expect(await bot.outgoingRequests()).toEqual([]);
  });

  it("receives a room key over a new Olm session and decrypts the room's messages, with the ids reused across calls as the bot SDK does", async () => {
    // The bot SDK builds one array of ids and passes it to three calls.
    const members = [new UserId(BOT)];
    await alice.updateTrackedUsers(members);
    await keys.pump(alice, ALICE, "ALICEDEVICE");
    const claim = await alice.getMissingSessions(members);
    expect(claim?.type).toBe(RequestType.KeysClaim);
    await alice.markRequestAsSent(claim!.id, claim!.type, JSON.stringify(keys.answer(ALICE, "ALICEDEVICE", claim!.type, JSON.parse(claim!.body))));
    const toDevice = await alice.shareRoomKey(new RoomId(ROOM), members, new EncryptionSettings());
    expect(toDevice.length).toBeGreaterThan(0);
    for (const request of toDevice) {
      expect(request).toMatchObject({ type: RequestType.ToDevice, eventType: "m.room.encrypted", txnId: expect.any(String) });
      await alice.markRequestAsSent(request.txnId, RequestType.ToDevice, JSON.stringify(keys.answer(ALICE, "ALICEDEVICE", request.type, JSON.parse(request.body), request)));
    }
    const synced = JSON.parse(await bot.receiveSyncChanges(JSON.stringify(keys.takeInbox(BOT, "BOTDEVICE")), new DeviceLists([new UserId(ALICE)], []), { signed_curve25519: 10 }, []));
    expect(synced).toHaveLength(2);
    expect(synced[0].map((e: { type: string }) => e.type)).toEqual(["m.room_key"]);
    // Ten one-time keys left on the server: it tops them up (the bot SDK sends what it asks for after each sync).
    expect((await bot.outgoingRequests()).map((r) => r.type)).toContain(RequestType.KeysUpload);
    await keys.pump(bot, BOT, "BOTDEVICE");
    // Transactions without key counts (the bot SDK passes {} and []) ask for no more keys.
    const before = keys.oneTimeKeyCount(BOT, "BOTDEVICE");
    for (let i = 0; i < 3; i++) JSON.parse(await bot.receiveSyncChanges("[]", new DeviceLists(), {}, []));
    expect((await bot.outgoingRequests()).map((r) => r.type)).not.toContain(RequestType.KeysUpload);
    expect(keys.oneTimeKeyCount(BOT, "BOTDEVICE")).toBe(before);
    const content = await alice.encryptRoomEvent(new RoomId(ROOM), "m.room.message", JSON.stringify({ msgtype: "m.text", body: "hello, encrypted" }));
    encryptedEvent = JSON.stringify({ type: "m.room.encrypted", sender: ALICE, event_id: "$e1", origin_server_ts: Date.now(), room_id: ROOM, content: JSON.parse(content) });
    const decrypted = await bot.decryptRoomEvent(encryptedEvent, new RoomId(ROOM));
    expect(JSON.parse(decrypted.event)).toMatchObject({ type: "m.room.message", content: { body: "hello, encrypted" } });
    expect(decrypted.sender).toBe(ALICE);
  });

  it("rejects an event it has no key for, and exports one session's keys", async () => {
    // (Encrypting in a room whose key was never shared is not asked of it: the WebAssembly core
    // panics then, and the bot SDK always shares the room key first.)
    const unknown = { ...JSON.parse(encryptedEvent).content, session_id: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
    await expect(bot.decryptRoomEvent(JSON.stringify({ type: "m.room.encrypted", sender: ALICE, event_id: "$e2", origin_server_ts: 1, room_id: ROOM, content: unknown }), new RoomId(ROOM)))
      .rejects.toMatchObject({ description: expect.stringMatching(/session|key/i) });
    const sessionId = JSON.parse(encryptedEvent).content.session_id as string;
    const exported = JSON.parse(await bot.exportRoomKeysForSession(ROOM, sessionId));
    expect(exported).toHaveLength(1);
    expect(exported[0]).toMatchObject({ room_id: ROOM, session_id: sessionId });
    expect(JSON.parse(await bot.exportRoomKeysForSession(ROOM, "no-such-session"))).toEqual([]);
  });

  it("signs with its device key, as the native binding shows signatures", async () => {
    const signatures = await bot.sign(JSON.stringify({ a: 1 }));
    const mine = signatures.get(new UserId(BOT));
    expect(Object.keys(mine ?? {})).toEqual(["ed25519:BOTDEVICE"]);
    expect(mine!["ed25519:BOTDEVICE"]!.isValid).toBe(true);
    expect(mine!["ed25519:BOTDEVICE"]!.signature!.toBase64()).toMatch(/^[A-Za-z0-9+/]{86}$/);
    expect(signatures.get(new UserId(ALICE))).toBeNull();
  });

  it("keeps its device, identity keys and room keys in another process", async () => {
    const identity = { ed25519: bot.identityKeys.ed25519.toBase64(), curve25519: bot.identityKeys.curve25519.toBase64() };
    bot.close();
    const again = await inProcess(dir, botStore(), encryptedEvent);
    expect({ ed25519: again.ed25519, curve25519: again.curve25519 }).toEqual(identity);
    // Its keys were uploaded before: nothing to upload again.
    expect(again.pendingAtStart).not.toContain(RequestType.KeysUpload);
    expect(again.decrypted?.content?.body).toBe("hello, encrypted");
    bot = await OlmMachine.initialize(new UserId(BOT), new DeviceId("BOTDEVICE"), botStore());
  }, 90_000);

  it("keeps its keys after SIGKILL, once they are uploaded", async () => {
    const store = join(dir, "killed-user", "BOTDEVICE");
    const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, dir, store, "hang"], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    let first: { ed25519: string; pendingAtStart: number[] };
    try {
      first = await new Promise((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const line = out.split("\n").find((l) => l.startsWith("{"));
          if (line) resolve(JSON.parse(line));
        });
        child.on("exit", (code) => reject(new Error(`the fixture exited (${code}) before printing`)));
        setTimeout(() => reject(new Error("the fixture printed nothing in 60 s")), 60_000).unref();
      });
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    expect(first.pendingAtStart).toContain(RequestType.KeysUpload);
    const again = await inProcess(dir, store);
    expect(again.ed25519).toBe(first.ed25519);
    expect(again.pendingAtStart).not.toContain(RequestType.KeysUpload);
  }, 120_000);

  it("keeps several users' stores in one process, opened at once, and refuses one elsewhere or with another passphrase, saying why", async () => {
    const open = (user: string) => OlmMachine.initialize(new UserId(`@${user}:example.org`), new DeviceId("DEV"), join(dir, `${user}-user`, "DEV"));
    const [one, two] = await Promise.all([open("one"), open("two")]);
    const keysOf = (m: OlmMachine) => m.identityKeys.ed25519.toBase64();
    const before = [keysOf(one), keysOf(two)];
    expect(new Set([...before, keysOf(bot)]).size).toBe(3);
    one.close();
    two.close();
    const [oneAgain, twoAgain] = await Promise.all([open("one"), open("two")]);
    expect([keysOf(oneAgain), keysOf(twoAgain)]).toEqual(before);
    oneAgain.close();
    twoAgain.close();
    await expect(OlmMachine.initialize(new UserId("@one:example.org"), new DeviceId("DEV"), join(dir, "one-user", "DEV"), "another passphrase")).rejects.toThrow(/cannot be opened with this passphrase/);
    await expect(OlmMachine.initialize(new UserId(BOT), new DeviceId("X"), join(tmpdir(), "elsewhere", "store"))).rejects.toThrow(/must be inside/);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(() => oneAgain.identityKeys).toThrow(/closed/);
    expect(() => configureCryptoStore({ passphrase: "", directory: dir })).toThrow(/must not be empty/);
    expect(() => configureCryptoStore({ passphrase: "x", directory: join(dir, "other") })).toThrow(/already in/);
    expect(() => new UserId("not a user id")).toThrow();
  });

  it("tells a store that exists from one never made", async () => {
    expect(await cryptoStoreExists(botStore())).toBe(true);
    expect(await cryptoStoreExists(join(dir, "bot-user", "NEVERMADE"))).toBe(false);
    // A store whose name starts like another's is not taken for it.
    expect(await cryptoStoreExists(join(dir, "bot-user", "BOTDEV"))).toBe(false);
  });

  it("encrypts and decrypts attachments, and refuses tampered ones", () => {
    const plain = new Uint8Array(Buffer.from("an image, say"));
    const encrypted = Attachment.encrypt(plain);
    const info = JSON.parse(encrypted.mediaEncryptionInfo!);
    expect(info).toMatchObject({ v: "v2", key: { alg: "A256CTR" }, hashes: { sha256: expect.any(String) } });
    expect(Buffer.from(Attachment.decrypt(new EncryptedAttachment(encrypted.encryptedData, encrypted.mediaEncryptionInfo!)))).toEqual(Buffer.from(plain));
    const tampered = new Uint8Array(encrypted.encryptedData);
    tampered[0]! ^= 1;
    expect(() => Attachment.decrypt(new EncryptedAttachment(tampered, encrypted.mediaEncryptionInfo!))).toThrow();
  });
});
