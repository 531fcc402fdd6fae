import type { IncomingHttpHeaders } from "node:http";
import type { ActiveInboundHook } from "../connections/inbound-hook-registry.js";
import type { Logger } from "../observability/logger.js";
import { buildContent } from "./content.js";
import { genericMessage } from "./generic.js";
import { githubSignatureValid } from "./github/signature.js";
import { githubMessage } from "./github/render.js";
import { badRequest, InboundError } from "./errors.js";
import type { InboundMessage } from "./message.js";
import { parsePayload } from "./payload.js";
import { slackMessage } from "./slack.js";
import { postResultOf, type PostSubmitter } from "./submitter.js";

export const INBOUND_ROUTES = ["generic", "slack", "github"] as const;

/**
 * What became of a request: posted (the event id), or stored to be posted as soon as the
 * homeserver takes it (the post's id; answered 202).
 */
export type PostResult = { kind: "posted"; eventId: string } | { kind: "queued"; id: string };
export type InboundRoute = (typeof INBOUND_ROUTES)[number];

export interface InboundReceiverDeps {
  /** Posts the message as the hook's ghost, or stores it to post later. */
  submitter: PostSubmitter;
  githubSecret(hookId: string): string | null;
  /** The mxc:// URI for a per-message avatar URL, or null when it cannot be had. */
  overrideAvatar(url: string): Promise<string | null>;
  allowIdentityOverride: boolean;
  rawPayloadMaxBytes: number;
  log: Logger;
}

/** A sender's id for one delivery, so its redeliveries post nothing twice: GitHub's, or a generic Idempotency-Key. */
export function deliveryKey(route: InboundRoute, headers: IncomingHttpHeaders): string | null {
  const key = (route === "github" ? header(headers, "x-github-delivery") : undefined) ?? header(headers, "idempotency-key");
  return key && /^[\x21-\x7e]{1,200}$/.test(key) ? key : null;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * One inbound request, once its hook is known and its body read: verify (GitHub), parse, map to a
 * message, apply identity and size rules, post. Throws InboundError for everything a caller may see.
 */
export class InboundReceiver {
  constructor(private readonly deps: InboundReceiverDeps) {}

  async receive(hook: ActiveInboundHook, route: InboundRoute, headers: IncomingHttpHeaders, body: Buffer): Promise<PostResult> {
    if (route === "github") this.verifyGithub(hook, headers, body);
    const content = await this.contentOf(hook, route, headers, body);
    return postResultOf(await this.deps.submitter.submit(hook, [content], { deliveryKey: deliveryKey(route, headers) }));
  }

  private async contentOf(hook: ActiveInboundHook, route: InboundRoute, headers: IncomingHttpHeaders, body: Buffer): Promise<Record<string, unknown>> {
    const payload = parsePayload(body, header(headers, "content-type"));
    let message: InboundMessage;
    if (route === "generic") message = genericMessage(payload);
    else if (payload.kind !== "json") throw badRequest(`the ${route === "slack" ? "Slack" : "GitHub"} route takes JSON or a payload= form`);
    else if (route === "slack") message = slackMessage(payload.value);
    else {
      const event = header(headers, "x-github-event");
      if (!event || !/^[a-z_]{1,64}$/.test(event)) throw badRequest("the X-GitHub-Event header is missing or malformed");
      message = githubMessage(event, payload.value);
    }
    return buildContent(message, {
      defaultMsgtype: hook.msgtype,
      raw: payload.kind === "json" ? payload.raw : payload.value,
      rawMaxBytes: this.deps.rawPayloadMaxBytes,
      profile: await this.profileOf(message),
    });
  }

  private verifyGithub(hook: ActiveInboundHook, headers: IncomingHttpHeaders, body: Buffer): void {
    const secret = this.deps.githubSecret(hook.id);
    if (secret === null) return;
    if (!githubSignatureValid(secret, body, header(headers, "x-hub-signature-256"))) {
      throw new InboundError("bad_signature", "X-Hub-Signature-256 is missing or does not match the hook's GitHub secret");
    }
  }

  private async profileOf(message: InboundMessage): Promise<{ displayname: string; avatarUrl: string | null } | undefined> {
    if (!this.deps.allowIdentityOverride || !message.username) return undefined;
    const url = message.avatarUrl;
    const avatarUrl = !url ? null : url.startsWith("mxc://") ? url : await this.deps.overrideAvatar(url);
    return { displayname: [...message.username].slice(0, 64).join(""), avatarUrl };
  }
}
