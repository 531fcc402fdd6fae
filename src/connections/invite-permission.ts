/**
 * May `userId` invite the bot? Entries are "*" (anyone), a server name ("example.org") or a full
 * user id ("@alice:example.org").
 */
export function mayInvite(entries: readonly string[], userId: string): boolean {
  const server = userId.slice(userId.indexOf(":") + 1);
  return entries.some((entry) => entry === "*" || entry === userId || (!entry.startsWith("@") && entry === server));
}
