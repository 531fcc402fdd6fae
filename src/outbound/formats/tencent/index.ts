/**
 * The `tencent` callback format: Tencent Cloud Chat's webhook ("callback") protocol for room
 * events, as data plus pure functions. docs/tencent-callbacks.md describes the mapping.
 */
export { TENCENT_COMMANDS, afterCommandsFor, isBeforeSendEvent, isTencentCommand, tencentCommandInfo, tencentCommandTable } from "./commands.js";
export type { TencentCommand, TencentCommandInfo, TencentPhase } from "./commands.js";
export { MATRIX_EVENT_KEY, TENCENT_GROUP_TYPE, msgSeqOf, tencentRequest, tencentUrl } from "./request.js";
export type { TencentRequest, TencentRequestOptions } from "./request.js";
export { tencentMsgBody } from "./msg-body.js";
export type { MediaUrl, TimElement } from "./msg-body.js";
export { TENCENT_SIGN_MAX_AGE_SECONDS, tencentSign, verifyTencentSign } from "./sign.js";
export { CUSTOM_REFUSAL_CODES, DEFAULT_DROP_REASON, DEFAULT_REJECT_REASON, beforeSendVerdict, readTencentAnswer } from "./answer.js";
export type { BeforeSendVerdict, TencentAnswer, TencentAnswerRead } from "./answer.js";
export { CUSTOM_ELEMENTS_KEY } from "./rewrite.js";
export { memberChange, roomInfoChange } from "./event-meaning.js";
export type { ExitType, JoinType, MemberChange, RoomInfoChange } from "./event-meaning.js";
