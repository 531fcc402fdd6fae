import type { IncomingHttpHeaders } from "node:http";
import type { ActiveInboundHook } from "../../connections/inbound-hook-registry.js";
import { hookMay } from "../../connections/inbound-permissions.js";
import type { RoomEvent, RoomMedia } from "../../matrix/port.js";
import type { Logger } from "../../observability/logger.js";
import { PER_MESSAGE_PROFILE_KEY } from "../content.js";
import { InboundError } from "../errors.js";
import { homeserverAnswer } from "../homeserver-answer.js";
import type { PostedMessages } from "../posted-messages.js";
import { deliveryKey } from "../receive.js";
import type { PostSubmitter } from "../submitter.js";
import { readDiscordBody } from "./body.js";
import { discordContents, hasText, textContent } from "./compose.js";
import { DiscordError, emptyMessage, fromInboundError, invalidFormBody, missingPermissions, unknownMessage } from "./errors.js";
import { fileMimetype, sniffImage, type DiscordFile, type UploadedFile } from "./files.js";
import { currentContent, messageObject, recordOf } from "./message-object.js";
import { readDiscordPayload, type DiscordPayload } from "./payload.js";

/** An answer of the Discord routes: a status and a JSON body (none for 204). */
export interface DiscordAnswer {
  status: number;
  body?: Record<string, unknown>;
  retryAfterSeconds?: number;
}

export interface DiscordEndpointDeps {
  submitter: PostSubmitter;
  messages: Pick<PostedMessages, "owned" | "edit" | "remove">;
  /** Uploads a file for a message in the room (encrypted where the room is). */
  uploadMedia(roomId: string, bytes: Buffer, contentType: string, filename: string): Promise<RoomMedia>;
  /** The mxc:// URI for a per-message avatar URL, or null when it cannot be had. */
  overrideAvatar(url: string): Promise<string | null>;
  /** The event ids posted with a message (its files), from the posts' record; [] when unknown. */
  postedWith?(hookId: string, eventId: string): Promise<string[]>;
  /** config inbound.allowIdentityOverride: the masquerade permission's default. */
  allowIdentityOverride: boolean;
  log: Logger;
}

/**
 * Discord's webhook routes on an inbound hook: execute (post a message and its files), and get,
 * edit and delete one of the hook's messages by its id (the Matrix event id). Every failure is
 * answered in Discord's error shape.
 */
export class DiscordEndpoint {
  constructor(private readonly deps: DiscordEndpointDeps) {}

  execute(hook: ActiveInboundHook, wait: boolean, headers: IncomingHttpHeaders, body: Buffer): Promise<DiscordAnswer> {
    return answering(async () => {
      const { payload: raw, files } = await readDiscordBody(body, headers);
      const payload = checked(raw);
      const embeds = payload.embeds ?? [];
      this.require(hook, "send_messages");
      if (payload.username !== undefined || payload.avatarUrl !== undefined) this.require(hook, "masquerade");
      if (embeds.length > 0) this.require(hook, "send_embeds");
      if (files.length > 0) this.require(hook, "upload_files");
      const content = payload.content ?? "";
      if (!hasText({ content, embeds }) && files.length === 0) throw emptyMessage();
      const uploaded = await this.upload(hook.roomId, files, payload);
      const profile = await this.profileOf(payload);
      const contents = discordContents({ content, embeds, files: uploaded, flags: payload.flags, allowedMentions: payload.allowedMentions, defaultMsgtype: hook.msgtype, ...(profile ? { profile } : {}) });
      const submitted = await this.deps.submitter.submit(hook, contents, { deliveryKey: deliveryKey("generic", headers) });
      if (submitted.kind === "queued") return { status: 202, body: { id: submitted.id, queued: true } };
      const id = submitted.eventIds[0]!;
      if (!wait) return { status: 204 };
      const event = (await this.deps.messages.owned(hook, id).catch(() => null)) ?? synthesized(hook, id, contents[0]!);
      return { status: 200, body: messageObject(hook, event) };
    });
  }

  get(hook: ActiveInboundHook, messageId: string): Promise<DiscordAnswer> {
    return answering(async () => ({ status: 200, body: messageObject(hook, await this.owned(hook, messageId)) }));
  }

  /** PATCH: `content` and `embeds` replace what they name (null clears); the rest stays. Files cannot be added. */
  edit(hook: ActiveInboundHook, messageId: string, headers: IncomingHttpHeaders, body: Buffer): Promise<DiscordAnswer> {
    return answering(async () => {
      const { payload: raw, files } = await readDiscordBody(body, headers);
      const payload = checked(raw);
      if (files.length > 0) throw invalidFormBody([{ path: ["files"], code: "UNSUPPORTED", message: "This bridge cannot add files to a posted message." }]);
      this.require(hook, "send_messages");
      const event = await this.owned(hook, messageId);
      const now = currentContent(event);
      const record = recordOf(now);
      const content = payload.content === undefined ? record.content : (payload.content ?? "");
      const embeds = payload.embeds === undefined ? record.embeds : (payload.embeds ?? []);
      if (payload.embeds && payload.embeds.length > 0) this.require(hook, "send_embeds");
      if (event.content.msgtype === "m.image" || event.content.msgtype === "m.file") {
        throw invalidFormBody([{ path: ["content"], code: "UNSUPPORTED", message: "This message is a file: its text cannot be changed." }]);
      }
      if (!hasText({ content, embeds })) throw emptyMessage();
      const profile = profileIn(now);
      const msgtype = typeof now.msgtype === "string" && ["m.text", "m.notice", "m.emote"].includes(now.msgtype) ? (now.msgtype as ActiveInboundHook["msgtype"]) : hook.msgtype;
      const next = textContent(
        { content, embeds, flags: record.flags, allowedMentions: payload.allowedMentions, defaultMsgtype: msgtype, ...(profile ? { profile } : {}) },
        { content, embeds, attachments: record.attachments, flags: record.flags },
      );
      await this.deps.messages.edit(hook, messageId, next).catch((err: unknown) => Promise.reject(err instanceof InboundError ? err : homeserverAnswer(err)));
      const edited: RoomEvent = { ...event, unsigned: { ...event.unsigned, "m.relations": { "m.replace": { content: { "m.new_content": next }, origin_server_ts: Date.now() } } } };
      return { status: 200, body: messageObject(hook, edited) };
    });
  }

  remove(hook: ActiveInboundHook, messageId: string): Promise<DiscordAnswer> {
    return answering(async () => {
      await this.owned(hook, messageId);
      await this.deps.messages.remove(hook, messageId).catch((err: unknown) => Promise.reject(err instanceof InboundError ? err : homeserverAnswer(err)));
      // The message's files go with it, as in Discord (best effort: one already gone stays gone).
      for (const fileId of (await this.deps.postedWith?.(hook.id, messageId))?.slice(1) ?? []) {
        await this.deps.messages.remove(hook, fileId).catch((err: unknown) => this.deps.log.warn({ err, hookId: hook.id, eventId: fileId }, "a deleted Discord message's file could not be redacted"));
      }
      return { status: 204 };
    });
  }

  private async owned(hook: ActiveInboundHook, messageId: string): Promise<RoomEvent> {
    const event = await this.deps.messages.owned(hook, messageId).catch((err: unknown) => Promise.reject(homeserverAnswer(err)));
    if (!event) throw unknownMessage();
    return event;
  }

  private require(hook: ActiveInboundHook, permission: Parameters<typeof hookMay>[1]): void {
    if (!hookMay(hook.permissions, permission, this.deps.allowIdentityOverride)) throw missingPermissions();
  }

  /** Uploads the files in order; the payload's attachments[] (by id = index) may name and describe them. */
  private async upload(roomId: string, files: readonly DiscordFile[], payload: DiscordPayload): Promise<UploadedFile[]> {
    const meta = new Map(payload.attachments.map((a) => [a.id, a]));
    const out: UploadedFile[] = [];
    for (const file of files) {
      const about = meta.get(String(file.index));
      const filename = about?.filename ?? file.filename;
      const mimetype = fileMimetype(file);
      const { mxc, encryptedFile } = await this.deps.uploadMedia(roomId, file.bytes, mimetype, filename).catch((err: unknown) => Promise.reject(homeserverAnswer(err)));
      const image = sniffImage(file.bytes);
      out.push({
        filename, mimetype, size: file.bytes.length, mxc,
        ...(encryptedFile ? { encryptedFile } : {}),
        ...(image?.width && image.height ? { width: image.width, height: image.height } : {}),
        ...(about?.description ? { description: about.description } : {}),
      });
    }
    return out;
  }

  private async profileOf(payload: DiscordPayload): Promise<{ displayname: string; avatarUrl: string | null } | undefined> {
    if (payload.username === undefined) return undefined;
    const url = payload.avatarUrl;
    const avatarUrl = !url ? null : url.startsWith("mxc://") ? url : await this.deps.overrideAvatar(url);
    return { displayname: [...payload.username.trim()].slice(0, 64).join(""), avatarUrl };
  }
}

function checked(raw: unknown): DiscordPayload {
  const { payload, issues } = readDiscordPayload(raw);
  if (issues.length > 0) throw invalidFormBody(issues);
  return payload;
}

/** The per-message profile a message was posted with, so its edit shows the same name. */
function profileIn(content: Record<string, unknown>): { displayname: string; avatarUrl: string | null } | undefined {
  const p = content[PER_MESSAGE_PROFILE_KEY] as { displayname?: unknown; avatar_url?: unknown } | undefined;
  if (typeof p?.displayname !== "string") return undefined;
  return { displayname: p.displayname, avatarUrl: typeof p.avatar_url === "string" ? p.avatar_url : null };
}

/** The message as posted, when the homeserver does not show it back at once. */
function synthesized(hook: ActiveInboundHook, eventId: string, content: Record<string, unknown>): RoomEvent {
  return { event_id: eventId, room_id: hook.roomId, sender: "", type: "m.room.message", content, origin_server_ts: Date.now() };
}

/** Runs a route's work; the bridge's own errors are answered in Discord's shape, anything else is thrown (a 500). */
async function answering(work: () => Promise<DiscordAnswer>): Promise<DiscordAnswer> {
  try {
    return await work();
  } catch (err) {
    const discord = err instanceof InboundError ? fromInboundError(err) : err;
    if (discord instanceof DiscordError) return { status: discord.status, body: discord.body, ...(discord.retryAfterSeconds !== undefined ? { retryAfterSeconds: discord.retryAfterSeconds } : {}) };
    throw err;
  }
}
