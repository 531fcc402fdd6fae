// docs/tencent-callbacks.md's example receiver, taken from the doc and run as it is (node), gets
// real HTTP requests built by the tencent format's tencentRequest: freshly signed ones are
// answered with Tencent's OK; stale, future, wrongly signed, unsigned and other-app ones are
// refused. Needs no Synapse (the e2e project starts one anyway).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/demo/synapse.js";
import type { RoomEvent } from "../src/matrix/port.js";
import { afterCommandsFor, tencentRequest, tencentSign, type TencentCommand, type TencentRequestOptions } from "../src/outbound/formats/tencent/index.js";

const DOC = join(dirname(fileURLToPath(import.meta.url)), "../docs/tencent-callbacks.md");
const TOKEN = "tencent-doc-token-0123";
const SDK_APP_ID = "1400000001";

/** The fenced block right after `<!-- tested: <name> -->` in the doc. */
function exampleFromDoc(name: string): string {
  const text = readFileSync(DOC, "utf8");
  const match = new RegExp(`<!-- tested: ${name.replace(/\./g, "\\.")} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(text);
  if (!match) throw new Error(`docs/tencent-callbacks.md has no block marked "tested: ${name}"`);
  return match[1]!;
}

const workDir = mkdtempSync(join(tmpdir(), "mwb-tencent-doc-"));
let child: ChildProcess;
let baseUrl: string;
const lines: string[] = [];

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** Waits (bounded) until the receiver printed a line matching. */
async function printed(line: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!lines.some((l) => line.test(l))) {
    if (Date.now() > deadline) throw new Error(`the receiver printed no line matching ${line} (printed: ${JSON.stringify(lines)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const options = (change: Partial<TencentRequestOptions> = {}): TencentRequestOptions => ({
  sdkAppId: SDK_APP_ID,
  signToken: TOKEN,
  nowMs: Date.now(),
  optPlatform: "Unknown",
  clientIp: "127.0.0.1",
  mediaUrl: (mxc) => `https://bridge.example.org/media/${encodeURIComponent(mxc)}`,
  ...change,
});

async function send(command: TencentCommand, event: RoomEvent, opts: TencentRequestOptions, changeUrl: (url: URL) => void = () => {}): Promise<{ status: number; body: string }> {
  const req = tencentRequest(command, event, `${baseUrl}/tencent/callback?tenant=doc`, opts);
  const url = new URL(req.url);
  changeUrl(url);
  const res = await fetch(url, { method: "POST", headers: { "content-type": req.contentType }, body: req.body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

const ROOM = "!doc:example.org";
const message: RoomEvent = { event_id: "$m1:example.org", room_id: ROOM, sender: "@alice:example.org", type: "m.room.message", content: { msgtype: "m.text", body: "red packet" }, origin_server_ts: Date.now() };
const join_: RoomEvent = { event_id: "$j1:example.org", room_id: ROOM, sender: "@bob:example.org", type: "m.room.member", state_key: "@bob:example.org", content: { membership: "join" }, origin_server_ts: Date.now(), unsigned: { prev_content: { membership: "invite" }, prev_sender: "@alice:example.org" } };
const kick: RoomEvent = { event_id: "$k1:example.org", room_id: ROOM, sender: "@alice:example.org", type: "m.room.member", state_key: "@bob:example.org", content: { membership: "leave" }, origin_server_ts: Date.now(), unsigned: { prev_content: { membership: "join" } } };
const rename: RoomEvent = { event_id: "$n1:example.org", room_id: ROOM, sender: "@alice:example.org", type: "m.room.name", state_key: "", content: { name: "Town" }, origin_server_ts: Date.now() };
const redaction = { event_id: "$r1:example.org", room_id: ROOM, sender: "@alice:example.org", type: "m.room.redaction", redacts: "$m1:example.org", content: {}, origin_server_ts: Date.now() } as RoomEvent;

beforeAll(async () => {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const path = join(workDir, "tencent-receiver.mjs");
  writeFileSync(path, exampleFromDoc("tencent-receiver.mjs"));
  child = spawn(process.execPath, [path], { env: { ...process.env, TENCENT_CALLBACK_TOKEN: TOKEN, TENCENT_SDK_APP_ID: SDK_APP_ID, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => lines.push(...chunk.split("\n").filter(Boolean)));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  // Bounded: listening within 10 s, or the example's own error.
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tencent-receiver.mjs did not start (exit ${child.exitCode}): ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(() => {
  child?.kill();
  rmSync(workDir, { recursive: true, force: true });
});

describe("docs/tencent-callbacks.md: the example receiver", () => {
  it("answers Tencent's OK to freshly signed requests of every kind, and logs each command", async () => {
    const cases: [TencentCommand, RoomEvent][] = [
      ["Group.CallbackBeforeSendMsg", message],
      ...[message, join_, kick, rename, redaction].map((e) => [afterCommandsFor(e)[0]!, e] as [TencentCommand, RoomEvent]),
    ];
    expect(cases.map(([c]) => c)).toEqual(["Group.CallbackBeforeSendMsg", "Group.CallbackAfterSendMsg", "Group.CallbackAfterNewMemberJoin", "Group.CallbackAfterMemberExit", "Group.CallbackAfterGroupInfoChanged", "Group.CallbackAfterRecallMsg"]);
    for (const [command, event] of cases) {
      const res = await send(command, event, options());
      expect(res, command).toEqual({ status: 200, body: '{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}' });
      await printed(new RegExp(`^verified ${command.replace(".", "\\.")} in ${ROOM}$`));
    }
  });

  it("refuses a RequestTime 120 s old, and one 120 s ahead", async () => {
    const stale = await send("Group.CallbackAfterSendMsg", message, options({ nowMs: Date.now() - 120_000 }));
    expect(stale.status).toBe(401);
    expect(JSON.parse(stale.body)).toEqual({ ActionStatus: "FAIL", ErrorCode: 1, ErrorInfo: "stale RequestTime" });
    expect((await send("Group.CallbackAfterSendMsg", message, options({ nowMs: Date.now() + 120_000 }))).status).toBe(401);
    await printed(/^refused: stale RequestTime$/);
  });

  it("refuses a wrong Sign: another token's, a Sign for another time, a fresh time on an old Sign", async () => {
    expect((await send("Group.CallbackAfterSendMsg", message, options({ signToken: "not-the-token" }))).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    expect((await send("Group.CallbackAfterSendMsg", message, options(), (u) => u.searchParams.set("Sign", tencentSign(TOKEN, now - 1)))).status).toBe(401);
    expect((await send("Group.CallbackAfterSendMsg", message, options({ nowMs: Date.now() - 120_000 }), (u) => u.searchParams.set("RequestTime", String(now)))).status).toBe(401);
    await printed(/^refused: wrong Sign$/);
  });

  it("refuses a request without Sign (a hook with no token), or without RequestTime", async () => {
    const unsigned = await send("Group.CallbackAfterSendMsg", message, options({ signToken: null }));
    expect(unsigned.status).toBe(401);
    expect(JSON.parse(unsigned.body)).toMatchObject({ ErrorCode: 1, ErrorInfo: "no Sign or RequestTime" });
    expect((await send("Group.CallbackAfterSendMsg", message, options(), (u) => u.searchParams.delete("RequestTime"))).status).toBe(401);
    await printed(/^refused: no Sign or RequestTime$/);
  });

  it("refuses another app's SdkAppid, even correctly signed", async () => {
    expect((await send("Group.CallbackAfterSendMsg", message, options({ sdkAppId: "1400000002" }))).status).toBe(401);
    await printed(/^refused: another app's SdkAppid$/);
  });
});
