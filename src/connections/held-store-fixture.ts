// Tests of a room's steps in order: the store (asynchronous on PostgreSQL) answers what it read at
// once, but holds the answer back when told to, as a slow connection would.

/** The store's answers, held back once for the next call of a method; calls counted. */
export class HeldStore<S extends object> {
  readonly calls = new Map<string, number>();
  private readonly holdNext = new Set<string>();
  private readonly releases: Array<() => void> = [];
  private announceHeld: (() => void) | null = null;

  constructor(readonly inner: S) {}

  /** The next call of `method` reads now and answers once released; resolves when that call is held. */
  hold(method: keyof S & string): Promise<void> {
    this.holdNext.add(method);
    return new Promise((resolve) => (this.announceHeld = resolve));
  }

  release(): void {
    for (const release of this.releases.splice(0)) release();
  }

  store(): S {
    return new Proxy(this.inner, {
      get: (target, name: string) => {
        const member = (target as unknown as Record<string, unknown>)[name];
        if (typeof member !== "function") return member;
        return async (...args: unknown[]) => {
          this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
          const answer = await (member as (...a: unknown[]) => unknown).apply(target, args);
          if (this.holdNext.delete(name)) {
            const released = new Promise<void>((resolve) => this.releases.push(resolve));
            this.announceHeld?.();
            await released;
          }
          return answer;
        };
      },
    });
  }
}
