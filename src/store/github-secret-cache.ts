/**
 * Opened GitHub secrets by hook id, so a verified request does not decrypt (or read the store)
 * every time; memory only. A read that ran while the secret changed or was forgotten is not kept:
 * with an asynchronous store the change may land before the read's answer does.
 */
export class GithubSecretCache {
  private readonly secrets = new Map<string, string | null>();
  private generation = 0;

  get(hookId: string): string | null | undefined {
    return this.secrets.get(hookId);
  }

  /** Taken before reading the store; `keep` stores the answer only if nothing changed since. */
  ticket(): number {
    return this.generation;
  }

  keep(hookId: string, secret: string | null, ticket: number): void {
    if (ticket === this.generation) this.secrets.set(hookId, secret);
  }

  set(hookId: string, secret: string | null): void {
    this.generation++;
    this.secrets.set(hookId, secret);
  }

  forget(hookId: string): void {
    this.generation++;
    this.secrets.delete(hookId);
  }

  clear(): void {
    this.generation++;
    this.secrets.clear();
  }
}
