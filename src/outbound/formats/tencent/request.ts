import { matrixSafe } from "../../../inbound/matrix-safe.js";
import type { RoomEvent } from "../../../matrix/port.js";
import { withoutKeyMaterial } from "../../media/encrypted-file.js";
import { eventMillis, stableIntId } from "../chat/chat-fields.js";
import type { TencentCommand } from "./commands.js";
import { memberChange, redactedEventId, roomInfoChange } from "./event-meaning.js";
import { tencentMsgBody, type MediaUrl } from "./msg-body.js";
import { tencentSign } from "./sign.js";

/**
 * One Tencent callback request for a room event: the hook's URL with Tencent's query parameters
 * and a JSON body with Tencent's field names ("Webhook Overview",
 * https://www.tencentcloud.com/document/product/1047/34354, and each command's page), the whole
 * Matrix event beside them under MATRIX_EVENT_KEY. Pure. The mapping is in docs/tencent-callbacks.md.
 */
export interface TencentRequestOptions {
  /** The hook's SdkAppid (Tencent's app id; receivers check it). */
  sdkAppId: string;
  /** The hook's authentication token; null: no Sign / RequestTime. */
  signToken: string | null;
  nowMs: number;
  /** Tencent's client platform: RESTAPI or Unknown (Matrix does not tell which client sent an event). */
  optPlatform: "RESTAPI" | "Unknown";
  /** Tencent's ClientIP: the homeserver does not tell us the sender's address. */
  clientIp: string;
  /** An mxc:// URI → a URL the receiver can fetch it at, or null (then ""). */
  mediaUrl: MediaUrl;
}

export interface TencentRequest {
  url: string;
  body: string;
  contentType: "application/json; charset=utf-8";
}

/** Where the Matrix event goes in the body (a namespaced key no Tencent field can clash with). */
export const MATRIX_EVENT_KEY = "dev.matrix-webhook-bridge.event";

/** Tencent's group type for every room: "Public" (a group members can apply to join); the bridge does not read join rules per event. */
export const TENCENT_GROUP_TYPE = "Public";

/** How deep the copied Matrix event may nest (matrixSafe stops at 200; deeper values become null). */
const EVENT_DEPTH_START = 200 - 64;

/** Throws only for a base URL that is not an absolute URL (hook URLs are checked when a hook is added). */
export function tencentRequest(command: TencentCommand, event: RoomEvent, baseUrl: string, opts: TencentRequestOptions): TencentRequest {
  const body = {
    CallbackCommand: command,
    GroupId: event.room_id,
    Type: TENCENT_GROUP_TYPE,
    ...commandFields(command, event, opts.mediaUrl),
    EventTime: eventMillis(event.origin_server_ts),
    [MATRIX_EVENT_KEY]: matrixEventCopy(event),
  };
  return { url: tencentUrl(baseUrl, command, opts), body: JSON.stringify(body), contentType: "application/json; charset=utf-8" };
}

/**
 * The hook's URL with SdkAppid, CallbackCommand, contenttype=json, ClientIP, OptPlatform and,
 * when signing, Sign and RequestTime (Unix seconds) set in its query; its own parameters stay
 * (one of ours in it is replaced, so a receiver sees one value).
 */
export function tencentUrl(baseUrl: string, command: TencentCommand, opts: Pick<TencentRequestOptions, "sdkAppId" | "signToken" | "nowMs" | "optPlatform" | "clientIp">): string {
  const url = new URL(baseUrl);
  const query = url.searchParams;
  query.set("SdkAppid", opts.sdkAppId);
  query.set("CallbackCommand", command);
  query.set("contenttype", "json");
  query.set("ClientIP", opts.clientIp);
  query.set("OptPlatform", opts.optPlatform);
  if (opts.signToken !== null) {
    const requestTime = Math.floor(opts.nowMs / 1000);
    query.set("Sign", tencentSign(opts.signToken, requestTime));
    query.set("RequestTime", String(requestTime));
  }
  return url.toString();
}

/** Tencent's message sequence number for an event: a stable positive integer from its id (stable, not ordered: order by MsgTime). */
export const msgSeqOf = (eventId: string): number => stableIntId(eventId);

/** Tencent's 32-bit Random of a send request, derived from the event id (the same on every retry). */
const randomOf = (eventId: string): number => stableIntId(eventId) % 2 ** 32;

function commandFields(command: TencentCommand, event: RoomEvent, mediaUrl: MediaUrl): Record<string, unknown> {
  const member = event.state_key ?? event.sender;
  switch (command) {
    case "Group.CallbackBeforeSendMsg":
      return { From_Account: event.sender, Operator_Account: event.sender, Random: randomOf(event.event_id), OnlineOnlyFlag: 0, MsgBody: tencentMsgBody(event, mediaUrl) };
    case "Group.CallbackAfterSendMsg":
      return {
        From_Account: event.sender,
        Operator_Account: event.sender,
        Random: randomOf(event.event_id),
        MsgSeq: msgSeqOf(event.event_id),
        MsgTime: Math.floor(eventMillis(event.origin_server_ts) / 1000),
        OnlineOnlyFlag: 0,
        MsgBody: tencentMsgBody(event, mediaUrl),
      };
    case "Group.CallbackAfterNewMemberJoin": {
      const change = memberChange(event);
      const invited = change?.kind === "joined" && change.joinType === "Invited";
      const inviter = change?.kind === "joined" ? change.inviter : null;
      return { JoinType: invited ? "Invited" : "Apply", Operator_Account: inviter ?? event.sender, NewMemberList: [{ Member_Account: member }] };
    }
    case "Group.CallbackAfterMemberExit": {
      const change = memberChange(event);
      const exitType = change?.kind === "left" ? change.exitType : event.sender === member ? "Quit" : "Kicked";
      return { ExitType: exitType, Operator_Account: event.sender, ExitMemberList: [{ Member_Account: member }] };
    }
    case "Group.CallbackAfterMemberFieldChanged": {
      const change = memberChange(event);
      const nameCard = change?.kind === "renamed" ? change.nameCard : typeof event.content.displayname === "string" ? event.content.displayname : "";
      return { Operator_Account: event.sender, Member_Account: member, NameCard: nameCard };
    }
    case "Group.CallbackAfterGroupInfoChanged": {
      const change = roomInfoChange(event);
      if (!change) return { Operator_Account: event.sender };
      const value = change.field === "FaceUrl" ? faceUrl(change.value, mediaUrl) : change.value;
      return { Operator_Account: event.sender, [change.field]: value };
    }
    case "Group.CallbackAfterRecallMsg": {
      const redacted = redactedEventId(event);
      return { Operator_Account: event.sender, MsgSeqList: redacted ? [{ MsgSeq: msgSeqOf(redacted) }] : [] };
    }
  }
}

/** A room avatar's URL for the receiver: only mxc:// URIs are resolved; anything else is "" (never passed on to be fetched). */
const faceUrl = (url: string, mediaUrl: MediaUrl): string => (url.startsWith("mxc://") ? (mediaUrl(url) ?? "") : "");

/** The event as the homeserver sent it, without EncryptedFile keys; an encrypted event keeps only its algorithm. */
function matrixEventCopy(event: RoomEvent): unknown {
  const content =
    event.type === "m.room.encrypted"
      ? typeof event.content.algorithm === "string"
        ? { algorithm: event.content.algorithm }
        : {}
      : withoutKeyMaterial(event.content);
  return matrixSafe({ ...event, content }, EVENT_DEPTH_START);
}
