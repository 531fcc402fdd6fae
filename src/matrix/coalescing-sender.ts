/** Characters of text per message at most (well below Matrix's 64 KiB event limit, with JSON's escaping). */
export const MAX_COALESCED_CHARS = 16_000;
/** A send that has not settled by then counts as failed, so one hung request cannot hold a room's notices for good. */
export const SEND_TIMEOUT_MS = 60_000;

interface Waiting {
  text: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Sends texts to one destination (a room, a user) one message at a time. Texts that arrive while a
 * message is on its way go together in the next one, a blank line apart, up to MAX_COALESCED_CHARS
 * each; none is dropped or cut. So a burst — 100 hooks of a room failing at once, when the host
 * behind them goes down — is a message or two instead of 100 requests at once, and a room's
 * notices arrive in the order they were made.
 */
export class CoalescingSender<Key> {
  private readonly waiting = new Map<Key, Waiting[]>();

  constructor(
    private readonly send: (key: Key, text: string) => Promise<unknown>,
    private readonly maxChars = MAX_COALESCED_CHARS,
    private readonly timeoutMs = SEND_TIMEOUT_MS,
  ) {}

  /** Settles when the message that carries `text` was sent (or could not be). */
  enqueue(key: Key, text: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const queue = this.waiting.get(key);
      if (queue) {
        queue.push({ text, resolve, reject });
        return;
      }
      this.waiting.set(key, [{ text, resolve, reject }]);
      void this.drain(key);
    });
  }

  /** Destinations with texts waiting or on their way. */
  get busy(): number {
    return this.waiting.size;
  }

  private async drain(key: Key): Promise<void> {
    const queue = this.waiting.get(key)!;
    // Each turn takes at least one text off the queue: the loop ends once the queue is empty.
    while (queue.length > 0) {
      const taken = takeUpTo(queue, this.maxChars);
      let timer: NodeJS.Timeout | undefined;
      try {
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the homeserver did not answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
        });
        await Promise.race([this.send(key, taken.map((w) => w.text).join("\n\n")), timedOut]);
        for (const w of taken) w.resolve();
      } catch (err) {
        for (const w of taken) w.reject(err);
      } finally {
        clearTimeout(timer);
      }
    }
    this.waiting.delete(key);
  }
}

/** Removes and returns the first texts that fit in `maxChars` together (always at least one). */
function takeUpTo(queue: Waiting[], maxChars: number): Waiting[] {
  let chars = queue[0]!.text.length;
  let n = 1;
  while (n < queue.length && chars + 2 + queue[n]!.text.length <= maxChars) chars += 2 + queue[n++]!.text.length;
  return queue.splice(0, n);
}
