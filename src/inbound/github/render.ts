import { badRequest } from "../errors.js";
import { bold, bullets, code, concat, excerpt, lines, link, multiline, plain, quote, type InboundMessage, type Rich } from "../message.js";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

const MAX_COMMITS = 10;
const MAX_EXCERPT = 300;

/** A GitHub webhook event (X-GitHub-Event) rendered as a readable message. */
export function githubMessage(event: string, payload: unknown): InboundMessage {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw badRequest("a GitHub payload must be a JSON object");
  const p = payload as Obj;
  const rich = (RENDERERS.get(event) ?? other(event))(p);
  return { text: rich.text, html: rich.html };
}

// Keyed by X-GitHub-Event, a sender's word: a Map, so "constructor" or "__proto__" get the summary.
const RENDERERS = new Map<string, (p: Obj) => Rich>(Object.entries({
  ping: (p) => {
    const zen = str(p.zen);
    return lines([concat("GitHub webhook set up", repoSuffix(p), "."), ...(zen ? [quote(plain(zen))] : [])]);
  },
  push: (p) => {
    const ref = str(p.ref) ?? "";
    const tag = ref.startsWith("refs/tags/");
    const name = ref.replace(/^refs\/(heads|tags)\//, "");
    const what = `${tag ? "tag" : "branch"} `;
    if (p.deleted === true) return concat(actor(p), ` deleted ${what}`, code(name), repoSuffix(p));
    const commits = Array.isArray(p.commits) ? p.commits.map(obj) : [];
    if (tag) return concat(actor(p, str(obj(p.pusher).name)), " pushed tag ", code(name), repoSuffix(p));
    const count = commits.length === 1 ? "1 commit" : `${commits.length} commits`;
    const verb = p.forced === true ? "force-pushed" : "pushed";
    const compare = str(p.compare);
    const head = concat(actor(p, str(obj(p.pusher).name)), ` ${verb} `, compare ? link(compare, count) : plain(count), " to ",
      code(name), p.created === true ? " (new branch)" : "", repoSuffix(p));
    const shown = commits.slice(0, MAX_COMMITS).map(commitLine);
    if (commits.length > MAX_COMMITS) shown.push(plain(`… and ${commits.length - MAX_COMMITS} more`));
    return shown.length > 0 ? lines([head, bullets(shown)]) : head;
  },
  pull_request: (p) => {
    const pr = obj(p.pull_request);
    const action = str(p.action) ?? "updated";
    const verb = action === "closed" && pr.merged === true ? "merged" : action === "synchronize" ? "pushed to" : action === "review_requested"
      ? `requested a review${reviewer(p)} on` : words(action);
    const head = concat(actor(p), ` ${verb} pull request `, item(pr, num(p.number)), labelSuffix(p), repoSuffix(p));
    return withBody(head, action === "opened" ? str(pr.body) : undefined);
  },
  issues: (p) => {
    const issue = obj(p.issue);
    const head = concat(actor(p), ` ${words(str(p.action) ?? "updated")} issue `, item(issue), labelSuffix(p), repoSuffix(p));
    return withBody(head, p.action === "opened" ? str(issue.body) : undefined);
  },
  issue_comment: (p) => {
    const issue = obj(p.issue);
    const comment = obj(p.comment);
    const kind = issue.pull_request ? "pull request" : "issue";
    const action = str(p.action) ?? "created";
    const url = str(comment.html_url);
    const verb = action === "created" && url ? link(url, "commented") : plain(action === "created" ? "commented" : `${words(action)} a comment`);
    const head = concat(actor(p), " ", verb, ` on ${kind} `, item(issue), repoSuffix(p));
    return withBody(head, action === "deleted" ? undefined : str(comment.body));
  },
  release: (p) => {
    const release = obj(p.release);
    const tag = str(release.tag_name) ?? "?";
    const title = str(release.name) && release.name !== tag ? `${release.name as string} (${tag})` : tag;
    const url = str(release.html_url);
    const kind = release.prerelease === true ? "pre-release" : "release";
    const head = concat(actor(p), ` ${words(str(p.action) ?? "published")} ${kind} `, url ? link(url, title) : plain(title), repoSuffix(p));
    return withBody(head, p.action === "published" || p.action === "released" ? str(release.body) : undefined);
  },
} satisfies Record<string, (p: Obj) => Rich>));

/** The events rendered in full; any other gets a one-line summary. */
export const RENDERED_GITHUB_EVENTS: readonly string[] = [...RENDERERS.keys()];

function other(event: string): (p: Obj) => Rich {
  return (p) => concat(actor(p), " triggered ", code(event), str(p.action) ? ` (${p.action as string})` : "", repoSuffix(p));
}

/** The sender's login, bold; for pushes the pusher's name when there is no sender. */
function actor(p: Obj, fallback?: string): Rich {
  return bold(plain(str(obj(p.sender).login) ?? fallback ?? "Someone"));
}

function repoSuffix(p: Obj): Rich {
  const repo = obj(p.repository);
  const name = str(repo.full_name);
  if (!name) return plain("");
  const url = str(repo.html_url);
  return concat(" in ", url ? link(url, name) : plain(name));
}

/** "#12: Title", linked. */
function item(it: Obj, number = num(it.number)): Rich {
  const label = `${number !== undefined ? `#${number}` : ""}${str(it.title) ? `${number !== undefined ? ": " : ""}${it.title as string}` : ""}` || "(untitled)";
  const url = str(it.html_url);
  return url ? link(url, label) : plain(label);
}

function commitLine(c: Obj): Rich {
  const sha = (str(c.id) ?? "").slice(0, 7);
  const url = str(c.url);
  const author = str(obj(c.author).username) ?? str(obj(c.author).name);
  const message = excerpt((str(c.message) ?? "").split("\n")[0]!, 120);
  return concat(url ? { text: sha, html: `<a href="${plain(url).html}"><code>${plain(sha).html}</code></a>` } : code(sha), ` ${message}`, author ? ` — ${author}` : "");
}

function reviewer(p: Obj): string {
  const login = str(obj(p.requested_reviewer).login) ?? str(obj(p.requested_team).name);
  return login ? ` from ${login}` : "";
}

function labelSuffix(p: Obj): string {
  const label = str(obj(p.label).name);
  return label && (p.action === "labeled" || p.action === "unlabeled") ? ` (${label})` : "";
}

function withBody(head: Rich, body: string | undefined): Rich {
  const text = body ? excerpt(body, MAX_EXCERPT) : "";
  return text ? lines([head, quote(multiline(text))]) : head;
}

const words = (action: string) => action.replace(/_/g, " ");
