import { openSecret } from "./sealed-secret.js";

/**
 * Opened GitHub secrets by hook id, so a verified request does not decrypt (or read the store)
 * every time; memory only. A read that ran while the secret changed or was forgotten is not kept:
 * with an asynchronous store the change may land before the read's answer does.
 */
export class GithubSecretCache {
  private readonly secrets = new Map<string, string | null>();
  private generation = 0;

  /**
   * The hook's opened secret: from memory, else `readSealed` (the store's sealed column, null when
   * none) opened with the store key. The answer is kept only if nothing changed while it was read.
   */
  async read(hookId: string, key: Buffer, readSealed: () => Buffer | null | Promise<Buffer | null>): Promise<string | null> {
    const cached = this.secrets.get(hookId);
    if (cached !== undefined) return cached;
    const generation = this.generation;
    const sealed = await readSealed();
    const secret = sealed ? openSecret(key, sealed) : null;
    if (generation === this.generation) this.secrets.set(hookId, secret);
    return secret;
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
