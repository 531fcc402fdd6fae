import { describe, expect, it } from "vitest";
import { githubMessage } from "./render.js";
import { githubSignature, githubSignatureValid } from "./signature.js";

const repository = { full_name: "o/r", html_url: "https://github.com/o/r" };
const sender = { login: "alice" };

describe("GitHub events", () => {
  it("push: commits listed, capped, linked", () => {
    const commits = Array.from({ length: 12 }, (_, i) => ({ id: `${i}abcdef0123`, message: `Change ${i}\n\nbody`, url: `https://github.com/o/r/commit/${i}`, author: { name: "Alice", username: "alice" } }));
    const m = githubMessage("push", { ref: "refs/heads/main", compare: "https://github.com/o/r/compare/a...b", pusher: { name: "alice" }, sender, repository, commits });
    expect(m.text.split("\n")[0]).toBe("alice pushed 12 commits (https://github.com/o/r/compare/a...b) to `main` in o/r (https://github.com/o/r)");
    expect(m.text).toContain("- 0abcdef Change 0 — alice");
    expect(m.text).toContain("- … and 2 more");
    expect(m.html).toContain('<a href="https://github.com/o/r/commit/0"><code>0abcdef</code></a> Change 0 — alice');
  });

  it("push: tags, deleted and forced branches", () => {
    expect(githubMessage("push", { ref: "refs/tags/v1.0", sender, repository, commits: [] }).text).toBe("alice pushed tag `v1.0` in o/r (https://github.com/o/r)");
    expect(githubMessage("push", { ref: "refs/heads/old", deleted: true, sender, repository }).text).toBe("alice deleted branch `old` in o/r (https://github.com/o/r)");
    expect(githubMessage("push", { ref: "refs/heads/x", forced: true, sender, commits: [] }).text).toBe("alice force-pushed 0 commits to `x`");
  });

  it("pull requests, issues, comments and releases", () => {
    const pr = { number: 12, title: "Add X", html_url: "https://github.com/o/r/pull/12", body: "Adds X.\nAnd Y." };
    expect(githubMessage("pull_request", { action: "opened", number: 12, pull_request: pr, sender, repository }).text)
      .toBe("alice opened pull request #12: Add X (https://github.com/o/r/pull/12) in o/r (https://github.com/o/r)\n> Adds X.\n> And Y.");
    expect(githubMessage("pull_request", { action: "closed", number: 12, pull_request: { ...pr, merged: true }, sender }).text).toMatch(/^alice merged pull request #12/);
    expect(githubMessage("issues", { action: "labeled", issue: { number: 5, title: "Bug" }, label: { name: "p1" }, sender }).text).toBe("alice labeled issue #5: Bug (p1)");
    const comment = githubMessage("issue_comment", { action: "created", issue: { number: 5, title: "Bug", pull_request: {} }, comment: { body: "LGTM", html_url: "https://c" }, sender });
    expect(comment.text).toBe("alice commented (https://c) on pull request #5: Bug\n> LGTM");
    expect(githubMessage("release", { action: "published", release: { tag_name: "v2", name: "Two", html_url: "https://rel", body: "Notes" }, sender, repository }).text)
      .toBe("alice published release Two (v2) (https://rel) in o/r (https://github.com/o/r)\n> Notes");
  });

  it("ping and unknown events", () => {
    expect(githubMessage("ping", { zen: "Keep it simple.", repository }).text).toBe("GitHub webhook set up in o/r (https://github.com/o/r).\n> Keep it simple.");
    expect(githubMessage("workflow_run", { action: "completed", sender, repository }).text).toBe("alice triggered `workflow_run` (completed) in o/r (https://github.com/o/r)");
  });

  it("event names of Object.prototype's properties get the one-line summary, never the body as it is", () => {
    for (const name of [...Object.getOwnPropertyNames(Object.prototype), "__proto__"]) {
      const m = githubMessage(name, { text: "RAW", html: "<b>RAW</b>", sender });
      expect(m, name).toEqual({ text: `alice triggered \`${name}\``, html: `<strong>alice</strong> triggered <code>${name}</code>` });
    }
  });

  it("survives payloads of the wrong shape", () => {
    expect(githubMessage("push", { ref: 5, commits: "no", sender: [] }).text).toBe("Someone pushed 0 commits to ``");
    expect(() => githubMessage("push", [])).toThrow(/JSON object/);
  });
});

describe("GitHub signatures", () => {
  it("accepts the right HMAC and nothing else", () => {
    const body = Buffer.from('{"zen":"x"}');
    const header = githubSignature("s3cret", body);
    expect(githubSignatureValid("s3cret", body, header)).toBe(true);
    expect(githubSignatureValid("other", body, header)).toBe(false);
    expect(githubSignatureValid("s3cret", Buffer.from('{"zen":"y"}'), header)).toBe(false);
    expect(githubSignatureValid("s3cret", body, undefined)).toBe(false);
    expect(githubSignatureValid("s3cret", body, "sha256=zz")).toBe(false);
    expect(githubSignatureValid("s3cret", body, header.replace("sha256=", "sha1="))).toBe(false);
  });
});
