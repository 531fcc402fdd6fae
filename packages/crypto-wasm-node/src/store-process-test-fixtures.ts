// Run by the package's tests in a process of its own (node --import tsx): opens the store at
// argv[3] (inside the store directory argv[2]) as @bot:example.org / BOTDEVICE, uploads its keys
// if it has not (answered locally), decrypts the event in argv[5] if given, prints what it found
// as one JSON line, and with argv[4] = "hang" then waits to be killed.
import { DeviceId, RoomId, UserId } from "./ids.js";
import { KeyDirectory } from "./key-directory-test-fixtures.js";
import { OlmMachine } from "./olm-machine.js";
import { configureCryptoStore } from "./store.js";

// (A function, not top-level await: the package is CommonJS.)
async function main(): Promise<void> {
  const [directory, path, mode, event] = process.argv.slice(2);
  configureCryptoStore({ passphrase: "test passphrase", directory: directory! });
  const machine = await OlmMachine.initialize(new UserId("@bot:example.org"), new DeviceId("BOTDEVICE"), path);
  const pendingAtStart = (await machine.outgoingRequests()).map((r) => r.type);
  await new KeyDirectory().pump(machine, "@bot:example.org", "BOTDEVICE");
  let decrypted: unknown = null;
  if (event) {
    const parsed = JSON.parse(event) as { room_id: string };
    decrypted = JSON.parse((await machine.decryptRoomEvent(event, new RoomId(parsed.room_id))).event);
  }
  console.log(JSON.stringify({ ed25519: machine.identityKeys.ed25519.toBase64(), curve25519: machine.identityKeys.curve25519.toBase64(), pendingAtStart, decrypted }));
  if (mode === "hang") setInterval(() => undefined, 1000);
  else machine.close();
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
