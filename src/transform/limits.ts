/** Longest transformation function kept in hook state (a state event holds 64 KiB in all). */
export const MAX_TRANSFORMATION_FUNCTION_CHARS = 32_000;
