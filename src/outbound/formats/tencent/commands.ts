import type { RoomEvent } from "../../../matrix/port.js";
import { isEncryptedMessage, isMessage, memberChange, redactedEventId, roomInfoChange } from "./event-meaning.js";

/**
 * Tencent Cloud Chat's group callback command words that have a Matrix counterpart, as data.
 * Tencent's list: "Webhook Command List", https://www.tencentcloud.com/document/product/1047/34355
 * (each word's own page is in `source`). docs/tencent-callbacks.md's table is checked against
 * this one (commands.test.ts). Words without an honest counterpart are left out; the doc says why.
 */
export type TencentPhase = "before" | "after";

export interface TencentCommandInfo {
  word: string;
  phase: TencentPhase;
  /** The Matrix events that produce it, in words. */
  matrix: string;
  /** Tencent's body fields we send (beside CallbackCommand, GroupId, Type, EventTime and the Matrix event). */
  fields: readonly string[];
  source: string;
}

const PAGE = "https://www.tencentcloud.com/document/product/1047/";

export const TENCENT_COMMANDS = [
  {
    word: "Group.CallbackBeforeSendMsg",
    phase: "before",
    matrix: "m.room.message (edits too: the new text) and m.sticker, before anyone sees them; not m.room.encrypted",
    fields: ["From_Account", "Operator_Account", "Random", "OnlineOnlyFlag", "MsgBody"],
    source: `${PAGE}34374`,
  },
  {
    word: "Group.CallbackAfterSendMsg",
    phase: "after",
    matrix: "m.room.message (edits too), m.sticker; m.room.encrypted as a placeholder",
    fields: ["From_Account", "Operator_Account", "Random", "MsgSeq", "MsgTime", "OnlineOnlyFlag", "MsgBody"],
    source: `${PAGE}34375`,
  },
  {
    word: "Group.CallbackAfterNewMemberJoin",
    phase: "after",
    matrix: 'm.room.member → join: JoinType "Invited" after an invite, else "Apply"',
    fields: ["JoinType", "Operator_Account", "NewMemberList"],
    source: `${PAGE}34372`,
  },
  {
    word: "Group.CallbackAfterMemberExit",
    phase: "after",
    matrix: 'm.room.member join → leave (ExitType "Quit" by the member, "Kicked" by another) or → ban ("Kicked")',
    fields: ["ExitType", "Operator_Account", "ExitMemberList"],
    source: `${PAGE}34373`,
  },
  {
    word: "Group.CallbackAfterGroupInfoChanged",
    phase: "after",
    matrix: "m.room.name → Name, m.room.topic → Introduction, m.room.avatar → FaceUrl (only the one that changed)",
    fields: ["Operator_Account", "Name", "Introduction", "FaceUrl"],
    source: `${PAGE}34378`,
  },
  {
    word: "Group.CallbackAfterMemberFieldChanged",
    phase: "after",
    matrix: "m.room.member join → join with a new displayname → NameCard",
    fields: ["Operator_Account", "Member_Account", "NameCard"],
    source: `${PAGE}60393`,
  },
  {
    word: "Group.CallbackAfterRecallMsg",
    phase: "after",
    matrix: "m.room.redaction → the redacted event withdrawn",
    fields: ["Operator_Account", "MsgSeqList"],
    source: `${PAGE}46979`,
  },
] as const satisfies readonly TencentCommandInfo[];

export type TencentCommand = (typeof TENCENT_COMMANDS)[number]["word"];

const BY_WORD: ReadonlyMap<string, TencentCommandInfo> = new Map(TENCENT_COMMANDS.map((c) => [c.word, c]));

/** Whether a string from outside (a hook's list of command words) names a command we produce. */
export const isTencentCommand = (word: unknown): word is TencentCommand => typeof word === "string" && BY_WORD.has(word);

export function tencentCommandInfo(word: TencentCommand): TencentCommandInfo {
  const info = BY_WORD.get(word);
  if (!info) throw new Error(`unknown Tencent command word ${JSON.stringify(word)}`);
  return info;
}

/** The after-event command words an event produces (none, or one). */
export function afterCommandsFor(event: RoomEvent): TencentCommand[] {
  if (isMessage(event) || isEncryptedMessage(event)) return ["Group.CallbackAfterSendMsg"];
  const member = memberChange(event);
  if (member) {
    if (member.kind === "joined") return ["Group.CallbackAfterNewMemberJoin"];
    if (member.kind === "left") return ["Group.CallbackAfterMemberExit"];
    return ["Group.CallbackAfterMemberFieldChanged"];
  }
  if (roomInfoChange(event)) return ["Group.CallbackAfterGroupInfoChanged"];
  if (redactedEventId(event)) return ["Group.CallbackAfterRecallMsg"];
  return [];
}

/**
 * The events a before-hook judges (Group.CallbackBeforeSendMsg): messages and stickers, edits
 * included (an `m.replace` shows new text to everyone, so it is judged by its new text).
 * Encrypted messages are not: the bridge cannot read them, and a hook cannot judge ciphertext.
 */
export const isBeforeSendEvent = (event: RoomEvent): boolean => isMessage(event);

/** The README's short table: each command word and its Matrix events (commands.test.ts keeps the README in step). */
export function tencentMatrixTable(): string {
  const rows = TENCENT_COMMANDS.map((c) => `| \`${c.word}\` | ${c.phase} | ${c.matrix} |`);
  return ["| command word | phase | Matrix events |", "|---|---|---|", ...rows].join("\n");
}

/** docs/tencent-callbacks.md's command table, from TENCENT_COMMANDS. */
export function tencentCommandTable(): string {
  const rows = TENCENT_COMMANDS.map((c) => `| [\`${c.word}\`](${c.source}) | ${c.phase} | ${c.matrix} | ${c.fields.map((f) => `\`${f}\``).join(", ")} |`);
  return ["| command word | phase | Matrix event | fields |", "|---|---|---|---|", ...rows].join("\n");
}
