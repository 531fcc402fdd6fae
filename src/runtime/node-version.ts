/**
 * The Node.js versions the bridge runs on. The compiled build needs 22; running from the
 * TypeScript sources (demo, tests, benchmarks) needs 22.18, whose built-in type stripping loads
 * the queue's worker threads. Pure: checked by the side-effect module require-node.ts.
 */
export const NEEDED_FOR_BUILD = { major: 22, minor: 0 } as const;
export const NEEDED_FOR_SOURCES = { major: 22, minor: 18 } as const;

/** Why this Node cannot run the bridge (one line with what is needed and how to get it), or null. */
export function nodeVersionProblem(version: string, needed: { major: number; minor: number }, fromSources: boolean): string | null {
  const match = /^v?(\d+)\.(\d+)/.exec(version);
  const major = match ? Number(match[1]) : 0;
  const minor = match ? Number(match[2]) : 0;
  if (major > needed.major || (major === needed.major && minor >= needed.minor)) return null;
  const how = fromSources
    ? 'install Node 24 LTS, or run the same command through npx, e.g. "npx -y -p node@24 -- npm run demo"'
    : 'install Node 24 LTS, or run it through npx: "npx -y -p node@24 -- node dist/main.js …"';
  return `matrix-webhook-bridge needs Node.js >= ${needed.major}.${needed.minor} (24 LTS recommended); this is Node ${version}: ${how}.`;
}
