import type { FailureCategory } from "../delivery/failure-category.js";

export interface LastFailure {
  category: FailureCategory;
  at: number;
}

/**
 * Each hook's most recent failed attempt, classified, for "!hooks outbound status" (kept in
 * memory; after a restart, status classifies the newest failed attempt of the store instead).
 */
export class LastFailures {
  private readonly byHook = new Map<string, LastFailure>();

  record(hookId: string, category: FailureCategory, at: number): void {
    this.byHook.set(hookId, { category, at });
  }

  get(hookId: string): LastFailure | undefined {
    return this.byHook.get(hookId);
  }

  forget(hookId: string): void {
    this.byHook.delete(hookId);
  }
}
