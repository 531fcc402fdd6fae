// The build that ships (`npm run build`, run as `node dist/main.js`): its worker threads load
// compiled .js files, unlike every other test, which runs the TypeScript sources.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { OUTBOUND_HOOK_EVENT_TYPE } from "../src/connections/outbound-hook-state.js";
import { loadRegistration } from "../src/matrix/registration.js";
import { spawnBridge, type BridgeProcess } from "./harness/bridge-process.js";
import { buildInto } from "./harness/compiled-build.js";
import { Receiver } from "./harness/receiver.js";
import { botNotice, roomWithBot } from "./harness/rooms.js";
import { registerUser, uniqueName } from "./harness/users.js";

const dir = mkdtempSync(join(tmpdir(), "mwb-dist-"));
let entry: string;
let receiver: Receiver;
let bridge: BridgeProcess | undefined;

beforeAll(async () => {
  entry = buildInto(dir);
  receiver = await Receiver.start();
}, 120_000);

afterAll(async () => {
  await bridge?.kill("SIGKILL");
  await receiver?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the compiled build", () => {
  it("delivers a room message and shuts down cleanly, its queue threads included", async () => {
    const { url, serverName, bridgePort, registrationPath } = inject("synapse");
    const registration = await loadRegistration(registrationPath);
    const configPath = join(dir, "config.yml");
    writeFileSync(configPath, yaml.dump({
      homeserver: { url, domain: serverName },
      bridge: { bindAddress: "127.0.0.1", port: bridgePort },
      store: { path: join(dir, "data", "bridge.db"), encryptionKey: randomBytes(32).toString("base64") },
      delivery: { allowedNetworks: ["127.0.0.1/32"] },
      logging: { level: "info" },
    }));
    bridge = await spawnBridge({ configPath, registrationPath, port: bridgePort, logPath: join(dir, "bridge.log"), entry });

    const botUserId = `@${registration.senderLocalpart}:${serverName}`;
    const admin = (await registerUser(uniqueName("admin"))).client;
    const roomId = await roomWithBot(admin, botUserId);
    await admin.sendStateEvent(roomId, OUTBOUND_HOOK_EVENT_TYPE, "built", { name: "built", url: `${receiver.url}/built` });
    await botNotice(admin, roomId, botUserId, /Outbound hook "built" active/);
    const eventId = await admin.sendMessage(roomId, "from the compiled build");
    const [request] = await receiver.waitFor((r) => r.headers["x-matrix-hookshot-eventid"] === eventId, 1, 20_000);
    expect(JSON.parse(request!.body.toString()).content.body).toBe("from the compiled build");

    await bridge.kill("SIGTERM");
    expect(await bridge.exited).toBe(0);
    bridge = undefined;

    // The log stream is JSON lines from start to stop: no dependency's warning line in between.
    const lines = readFileSync(join(dir, "bridge.log"), "utf8").split("\n").filter((line) => line.trim() !== "");
    expect(lines.some((line) => line.includes("webhook bridge started"))).toBe(true);
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== "object";
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
  });
});
