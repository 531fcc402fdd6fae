// `matrix-webhook-bridge --demo`: a throwaway Synapse, the bridge and a sample receiver on this
// machine, and one Matrix message going all the way to the receiver as a webhook.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebhookBridge } from "../app.js";
import { validateConfig } from "../config/index.js";
import { generateRegistration, loadRegistration, writeRegistrationFile } from "../matrix/registration.js";
import { botNotice, roomWithBot, secretFromDm, tokenFromDm } from "./demo-room.js";
import { startSampleReceiver, shortenSecret } from "./sample-receiver.js";
import { defaultSynapseCacheDir, ensureSynapseInstalled, freePort, startSynapse, SYNAPSE_VERSION } from "./synapse.js";
import { TestClient } from "./test-client.js";

const HOOK_NAME = "demo";
const MESSAGE = "Hello from Matrix!";
const INBOUND_NAME = "Demo webhook";
const INBOUND_TEXT = "Hello from a **webhook**!";
const DELIVERY_TIMEOUT_MS = 30_000;
const TOTAL_STEPS = 15;

const say = (line: string) => console.log(line);
const detail = (line: string) => console.log(`      ${line}`);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function runDemo(): Promise<number> {
  const started = Date.now();
  let stepNo = 0;
  let stepTitle = "";
  const step = (title: string) => {
    stepTitle = title;
    say(`[${++stepNo}/${TOTAL_STEPS}] ${title}`);
  };

  // Everything started is stopped in reverse order, exactly once, whatever happens.
  const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (const { what, run } of cleanups.reverse()) {
        try {
          await run();
          detail(`${what}: done`);
        } catch (err) {
          detail(`${what}: failed (${message(err)})`);
        }
      }
    })());
  // Set when a signal or a crash ends the demo early: the exit code to leave with after cleaning up.
  let abortCode: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    abortCode = signal === "SIGINT" ? 130 : 143;
    say(`\n${signal} received: stopping everything and cleaning up (press Ctrl-C again to quit at once)`);
    void cleanUp().finally(() => process.exit(abortCode));
  };
  // A crash inside a component (a timer, a stream) would skip `finally`: clean up here too.
  const onCrash = (err: unknown) => {
    if (abortCode !== undefined) return; // already on the way out
    abortCode = 1;
    console.error(`\nDemo failed at step ${stepNo} (${stepTitle}): unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    say("Cleaning up");
    void cleanUp().finally(() => process.exit(1));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);

  say(`matrix-webhook-bridge demo: a local Synapse, the bridge and a sample receiver; one message becomes one webhook.\n`);
  try {
    step("Creating a temporary directory");
    const dir = await mkdtemp(join(tmpdir(), "mwb-demo-"));
    cleanups.push({ what: `removing ${dir}`, run: () => rm(dir, { recursive: true, force: true, maxRetries: 5 }) });
    detail(dir);

    step(`Installing or reusing Synapse ${SYNAPSE_VERSION}`);
    detail(`The first run installs matrix-synapse from PyPI into ${defaultSynapseCacheDir()}`);
    detail("(needs Python >= 3.10 and takes a minute or so); later runs reuse it.");
    const t0 = Date.now();
    await ensureSynapseInstalled({ log: detail });
    detail(`Synapse is ready to run (${seconds(Date.now() - t0)})`);

    step("Writing an appservice registration for the bridge");
    const bridgePort = await freePort();
    const registrationPath = join(dir, "registration.yml");
    await writeRegistrationFile(registrationPath, generateRegistration({ url: `http://127.0.0.1:${bridgePort}` }));
    const registration = await loadRegistration(registrationPath);
    detail(`${registrationPath} (homeserver → bridge at http://127.0.0.1:${bridgePort})`);

    step("Starting Synapse (loopback only, SQLite, no federation)");
    const synapse = await startSynapse({ dataDir: join(dir, "synapse"), appserviceRegistrationFiles: [registrationPath], log: detail });
    cleanups.push({ what: "stopping Synapse", run: () => synapse.stop() });
    const botUserId = `@${registration.senderLocalpart}:${synapse.serverName}`;

    step("Starting the bridge");
    const config = validateConfig(
      {
        homeserver: { url: synapse.url, domain: synapse.serverName },
        bridge: { bindAddress: "127.0.0.1", port: bridgePort },
        store: { path: join(dir, "bridge.db"), encryptionKey: randomBytes(32).toString("base64") },
        delivery: { allowedNetworks: ["127.0.0.1/32"] }, // the sample receiver is on loopback
        logging: { level: "warn" },
      },
      "demo config",
    );
    const bridge = await WebhookBridge.start({ config, registration });
    cleanups.push({ what: "stopping the bridge", run: () => bridge.stop() });
    detail(`listening on http://127.0.0.1:${bridge.port} (health: /health, metrics: /metrics); bot ${botUserId}`);

    step("Starting the sample receiver");
    const receiver = await startSampleReceiver();
    cleanups.push({ what: "stopping the sample receiver", run: () => receiver.stop() });
    const hookUrl = `${receiver.url}/${HOOK_NAME}`;
    detail(`listening on ${receiver.url}; each delivery is printed below as it arrives`);

    step("Registering a demo user");
    const user = await synapse.registerUser("demo");
    const client = new TestClient(synapse.url, user.userId, user.accessToken);
    detail(user.userId);

    step("Creating a room and inviting the bot");
    const roomId = await roomWithBot(client, botUserId, { name: "Webhook bridge demo" });
    detail(`${roomId}: ${botUserId} joined`);

    step(`Adding an outbound hook: !hooks outbound add ${HOOK_NAME} ${hookUrl}`);
    await client.sendMessage(roomId, `!hooks outbound add ${HOOK_NAME} ${hookUrl}`);
    const notice = await botNotice(client, roomId, botUserId, new RegExp(`Outbound hook "${HOOK_NAME}" added`));
    detail(`bot: ${String(notice.content.body).split("\n")[0]}`);

    step("Reading the hook's token from the bot's direct message");
    const dmRooms = new Set<string>();
    const token = await tokenFromDm(client, botUserId, HOOK_NAME, dmRooms);
    detail(`token ${shortenSecret(token)} (sent by DM only; the receiver checks it on every delivery)`);

    step(`Sending "${MESSAGE}" and waiting for the webhook (up to ${DELIVERY_TIMEOUT_MS / 1000} s)`);
    const sentAt = Date.now();
    const eventId = await client.sendMessage(roomId, MESSAGE);
    detail(`sent ${eventId}`);
    const delivery = await receiver.waitFor((d) => d.headers["x-matrix-hookshot-eventid"] === eventId, DELIVERY_TIMEOUT_MS);
    detail(`delivered ${Date.now() - sentAt} ms after sending`);

    step("Checking the delivery");
    const problems: string[] = [];
    if (delivery.headers["x-matrix-hookshot-token"] !== token) problems.push("the X-Matrix-Hookshot-Token header is not the token sent by DM");
    if (delivery.headers["x-matrix-hookshot-roomid"] !== roomId) problems.push(`the X-Matrix-Hookshot-RoomId header is not ${roomId}`);
    if (delivery.method !== "PUT" || delivery.path !== `/${HOOK_NAME}`) problems.push(`expected PUT /${HOOK_NAME}, got ${delivery.method} ${delivery.path}`);
    let body: { content?: { body?: unknown } } = {};
    try {
      body = JSON.parse(delivery.body) as typeof body;
    } catch {
      problems.push("the body is not JSON");
    }
    if (body.content?.body !== MESSAGE) problems.push(`the body's content.body is not "${MESSAGE}"`);
    if (problems.length) throw new Error(problems.join("; "));
    detail("✓ the token header equals the token from the DM");
    detail("✓ room id, method, path and message body are as sent");

    step(`The other way: adding an inbound hook with !hooks inbound add "${INBOUND_NAME}"`);
    await client.sendMessage(roomId, `!hooks inbound add "${INBOUND_NAME}"`);
    await botNotice(client, roomId, botUserId, new RegExp(`Inbound hook "${INBOUND_NAME}" added`));
    const inboundUrl = await secretFromDm(client, botUserId, `URL of inbound hook "${INBOUND_NAME}"`, dmRooms);
    detail(`URL ${inboundUrl.replace(/[^/]+$/, (secret) => shortenSecret(secret))} (sent by DM only)`);

    step(`POSTing {"text": "${INBOUND_TEXT}"} to it`);
    const posted = await fetch(inboundUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: INBOUND_TEXT }) });
    const answer = (await posted.json()) as { ok?: boolean; event_id?: string };
    detail(`answer: ${posted.status} ${JSON.stringify(answer)}`);
    if (posted.status !== 200 || !answer.event_id) throw new Error(`the inbound hook answered ${posted.status}`);
    const inRoom = await client.waitForEvent(roomId, (e) => e.event_id === answer.event_id);
    const members = await client.getJoinedMembers(roomId);
    detail(`in the room, from ${inRoom.sender} ("${members[inRoom.sender]?.display_name ?? "?"}"): ${String(inRoom.content.body)}`);
    detail(`formatted: ${String(inRoom.content.formatted_body ?? "")}`);
    if (members[inRoom.sender]?.display_name !== INBOUND_NAME) throw new Error("the message does not come from the hook's own user");

    step("Stopping everything and cleaning up");
    await cleanUp();
    say(`\nDemo passed in ${seconds(Date.now() - started)}: a Matrix message reached the receiver as a webhook carrying the hook's token, ` +
      "and a webhook reached the room as a message from the hook's own user.");
    return 0;
  } catch (err) {
    // Ending early: the steps fail as their services go away; that is not what to report.
    if (abortCode !== undefined) return cleanUp().then(() => abortCode!);
    console.error(`\nDemo failed at step ${stepNo} (${stepTitle}): ${message(err)}`);
    say("Cleaning up");
    await cleanUp();
    return 1;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    process.removeListener("uncaughtException", onCrash);
    process.removeListener("unhandledRejection", onCrash);
  }
}
