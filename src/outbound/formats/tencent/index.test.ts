import { describe, expect, it } from "vitest";
import * as tencent from "./index.js";
import { mediaUrl, messageEvent } from "./tencent-test-fixtures.js";

describe("tencent format: the whole round, as the core uses it", () => {
  it("an event's commands give requests whose before-send answer decides", () => {
    const event = messageEvent({ msgtype: "m.text", body: "buy now" });
    expect(tencent.isBeforeSendEvent(event)).toBe(true);
    const req = tencent.tencentRequest("Group.CallbackBeforeSendMsg", event, "https://backend.example.org/cb", { sdkAppId: "1400000000", signToken: "tok", nowMs: 1_700_000_000_000, optPlatform: "Unknown", clientIp: "127.0.0.1", mediaUrl });
    expect(JSON.parse(req.body).MsgBody).toEqual([{ MsgType: "TIMTextElem", MsgContent: { Text: "buy now" } }]);
    const read = tencent.readTencentAnswer(200, '{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"buy ***"}}]}', "application/json");
    if (read.kind !== "answer") throw new Error(read.reason);
    expect(tencent.beforeSendVerdict(read, event.content)).toEqual({ verdict: "rewrite", content: { msgtype: "m.text", body: "buy ***" } });
    expect(tencent.afterCommandsFor(event)).toEqual(["Group.CallbackAfterSendMsg"]);
  });
});
