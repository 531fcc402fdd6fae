import { describe, expect, it } from "vitest";
import { CoalescingSender } from "./coalescing-sender.js";

/** A send that waits until released, recording what it was asked to send. */
function heldSends() {
  const sent: Array<{ key: string; text: string }> = [];
  const releases: Array<(err?: Error) => void> = [];
  const send = (key: string, text: string) => {
    sent.push({ key, text });
    return new Promise<void>((resolve, reject) => releases.push((err) => (err ? reject(err) : resolve())));
  };
  const releaseNext = async (err?: Error) => {
    releases.shift()!(err);
    await new Promise((r) => setImmediate(r));
  };
  return { sent, send, releaseNext };
}

describe("CoalescingSender", () => {
  it("sends the first text at once and the ones made meanwhile together in the next message, in order", async () => {
    const { sent, send, releaseNext } = heldSends();
    const sender = new CoalescingSender(send);
    const done = Array.from({ length: 100 }, (_, i) => sender.enqueue("!room", `notice ${i}`));
    expect(sent).toEqual([{ key: "!room", text: "notice 0" }]);
    await releaseNext();
    expect(sent).toHaveLength(2);
    expect(sent[1]!.text.split("\n\n")).toEqual(Array.from({ length: 99 }, (_, i) => `notice ${i + 1}`));
    await releaseNext();
    await Promise.all(done);
    expect(sender.busy).toBe(0);
  });

  it("keeps destinations apart: one busy room does not hold another's notices", async () => {
    const { sent, send } = heldSends();
    const sender = new CoalescingSender(send);
    void sender.enqueue("!a", "a1");
    void sender.enqueue("!a", "a2");
    void sender.enqueue("!b", "b1");
    expect(sent).toEqual([{ key: "!a", text: "a1" }, { key: "!b", text: "b1" }]);
  });

  it("splits what waited into messages of at most the size given, cutting and dropping nothing", async () => {
    const { sent, send, releaseNext } = heldSends();
    const sender = new CoalescingSender(send, 25);
    const texts = ["first", "0123456789", "abcdefghij", "klmnopqrst", "a text longer than the limit on its own"];
    const done = texts.map((t) => sender.enqueue("!room", t));
    for (let i = 0; i < 4; i++) await releaseNext();
    await Promise.all(done);
    expect(sent.map((s) => s.text)).toEqual(["first", "0123456789\n\nabcdefghij", "klmnopqrst", "a text longer than the limit on its own"]);
  });

  it("rejects the texts of a message that failed, and goes on with the next", async () => {
    const { sent, send, releaseNext } = heldSends();
    const sender = new CoalescingSender(send);
    const first = sender.enqueue("!room", "one");
    const second = sender.enqueue("!room", "two");
    const firstFailed = expect(first).rejects.toThrow("homeserver down");
    await releaseNext(new Error("homeserver down"));
    await firstFailed;
    await releaseNext();
    await expect(second).resolves.toBeUndefined();
    expect(sent.map((s) => s.text)).toEqual(["one", "two"]);
  });

  it("gives up on a send that never settles, and goes on with the next message", async () => {
    const sent: string[] = [];
    const sender = new CoalescingSender<string>((_, text) => {
      sent.push(text);
      return text === "hangs" ? new Promise(() => undefined) : Promise.resolve();
    }, 16_000, 50);
    const hung = sender.enqueue("!room", "hangs");
    const next = sender.enqueue("!room", "next");
    await expect(hung).rejects.toThrow("did not answer within 0.05 s");
    await expect(next).resolves.toBeUndefined();
    expect(sent).toEqual(["hangs", "next"]);
  });

  it("survives a send that throws before returning a promise", async () => {
    const sender = new CoalescingSender<string>(() => {
      throw new Error("not connected");
    });
    await expect(sender.enqueue("!room", "one")).rejects.toThrow("not connected");
    expect(sender.busy).toBe(0);
  });
});
