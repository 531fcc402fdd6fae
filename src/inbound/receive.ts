import type { IncomingHttpHeaders } from "node:http";
import type { ActiveInboundHook } from "../connections/inbound-hook-registry.js";
import type { Logger } from "../observability/logger.js";
import { buildContent } from "./content.js";
import { genericMessage } from "./generic.js";
import { githubSignatureValid } from "./github/signature.js";
import { githubMessage } from "./github/render.js";
import { badRequest, InboundError } from "./errors.js";
import { hookMay } from "../connections/inbound-permissions.js";
import type { InboundMessage } from "./message.js";
import { parsePayload } from "./payload.js";
import { slackMessage } from "./slack.js";
import { postResultOf, type PostSubmitter } from "./submitter.js";
import type { TransformationFunctions } from "../transform/transformation-functions.js";
import { transformedMessage } from "../transform/inbound-message.js";
import type { WebhookResponse } from "../transform/hookshot-result.js";

export const INBOUND_ROUTES = ["generic", "slack", "github"] as const;

/**
 * What became of a request: posted (the event id), or stored to be posted as soon as the
 * homeserver takes it (the post's id; answered 202), or nothing to post (a transformation
 * function's `empty`; answered 200 without an event id).
 */
export type PostResult = ({ kind: "posted"; eventId: string } | { kind: "queued"; id: string } | { kind: "skipped"; reason: string }) & {
  /** The transformation function's webhookResponse: the answer once posted or skipped (a queued post gets the 202). */
  response?: WebhookResponse;
};
export type InboundRoute = (typeof INBOUND_ROUTES)[number];

export interface InboundReceiverDeps {
  /** Posts the message as the hook's ghost, or stores it to post later. */
  submitter: PostSubmitter;
  githubSecret(hookId: string): Promise<string | null>;
  /** The mxc:// URI for a per-message avatar URL, or null when it cannot be had. */
  overrideAvatar(url: string): Promise<string | null>;
  allowIdentityOverride: boolean;
  rawPayloadMaxBytes: number;
  /** Hooks' transformation functions (src/transform/); absent: none are run. */
  transforms?: TransformationFunctions;
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
    if (route === "github") await this.verifyGithub(hook, headers, body);
    const { content, response } = await this.render(hook, route, headers, body);
    const answer = response ? { response } : {};
    if (content === null) return { kind: "skipped", reason: "the hook's transformation function returned empty", ...answer };
    const result = postResultOf(await this.deps.submitter.submit(hook, [content], { deliveryKey: deliveryKey(route, headers) }));
    return result.kind === "queued" ? result : { ...result, ...answer };
  }

  /**
   * The message's content, or null when the hook's transformation function says to post nothing.
   * Also for an edit of a posted message (its new content). The hook's permissions apply: none to
   * send messages or to masquerade is a 403; none for embeds posts the plain text only.
   */
  async contentOf(hook: ActiveInboundHook, route: InboundRoute, headers: IncomingHttpHeaders, body: Buffer): Promise<Record<string, unknown> | null> {
    return (await this.render(hook, route, headers, body)).content;
  }

  /** The content (null: nothing to post) and the transformation function's answer to the sender, if it gave one. */
  private async render(hook: ActiveInboundHook, route: InboundRoute, headers: IncomingHttpHeaders, body: Buffer): Promise<{ content: Record<string, unknown> | null; response?: WebhookResponse }> {
    if (!hookMay(hook.permissions, "send_messages", this.deps.allowIdentityOverride)) {
      throw new InboundError("forbidden", "this hook may not post messages (its send_messages permission is off)");
    }
    const payload = parsePayload(body, header(headers, "content-type"));
    let message: InboundMessage;
    // A hook's function replaces the route's rendering (Hookshot's contract); when it fails, the
    // route's rendering is posted, so nothing sent is lost (the room is told once: transform/).
    const source = this.deps.transforms?.sourceOf(hook) ?? null;
    const transformed = source === null ? null : await this.deps.transforms!.inbound(hook, source, payload.value);
    let mentions: unknown;
    const response = transformed?.ok ? transformed.value.response : undefined;
    const answer = response ? { response } : {};
    if (transformed?.ok && transformed.value.kind === "empty") return { content: null, ...answer };
    if (transformed?.ok && transformed.value.kind === "message") {
      message = transformedMessage(transformed.value);
      mentions = transformed.value.mentions;
    } else if (route === "generic") message = genericMessage(payload);
    else if (payload.kind !== "json") throw badRequest(`the ${route === "slack" ? "Slack" : "GitHub"} route takes JSON or a payload= form`);
    else if (route === "slack") message = slackMessage(payload.value);
    else {
      const event = header(headers, "x-github-event");
      if (!event || !/^[a-z_]{1,64}$/.test(event)) throw badRequest("the X-GitHub-Event header is missing or malformed");
      message = githubMessage(event, payload.value);
    }
    const content = buildContent(message, {
      defaultMsgtype: hook.msgtype,
      raw: payload.kind === "json" ? payload.raw : payload.value,
      rawMaxBytes: this.deps.rawPayloadMaxBytes,
      profile: await this.profileOf(hook, message),
    });
    if (mentions !== undefined) content["m.mentions"] = mentions;
    if (!hookMay(hook.permissions, "send_embeds", this.deps.allowIdentityOverride)) {
      delete content.format;
      delete content.formatted_body;
    }
    return { content, ...answer };
  }

  private async verifyGithub(hook: ActiveInboundHook, headers: IncomingHttpHeaders, body: Buffer): Promise<void> {
    const secret = await this.deps.githubSecret(hook.id);
    if (secret === null) return;
    if (!githubSignatureValid(secret, body, header(headers, "x-hub-signature-256"))) {
      throw new InboundError("bad_signature", "X-Hub-Signature-256 is missing or does not match the hook's GitHub secret");
    }
  }

  private async profileOf(hook: ActiveInboundHook, message: InboundMessage): Promise<{ displayname: string; avatarUrl: string | null } | undefined> {
    if (!message.username) return undefined;
    // Denied on the hook: refused. Not granted by the bridge's default: the name is left out, as Hookshot does.
    if (hook.permissions.masquerade === false) throw new InboundError("forbidden", "this hook may not set a per-message name or avatar (its masquerade permission is off)");
    if (!hookMay(hook.permissions, "masquerade", this.deps.allowIdentityOverride)) return undefined;
    const url = message.avatarUrl;
    const avatarUrl = !url ? null : url.startsWith("mxc://") ? url : await this.deps.overrideAvatar(url);
    return { displayname: [...message.username].slice(0, 64).join(""), avatarUrl };
  }
}
