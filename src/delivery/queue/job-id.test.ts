import { describe, expect, it } from "vitest";
import { jobId } from "./job-id.js";

describe("jobId (the webhook-id receivers see)", () => {
  it("is the value earlier versions sent, so an upgrade does not change the ids of queued jobs", () => {
    // Pinned from the first implementation: sha256 over event id, NUL, hook id; base64url, 32 characters.
    expect(jobId("$event:localhost", "ep_1")).toBe("msg_sL-LcFhxHmD9n5pLAkALKcnVJ3_LBt4w");
  });

  it("differs per hook and per event", () => {
    expect(jobId("$event:localhost", "ep_2")).not.toBe(jobId("$event:localhost", "ep_1"));
    expect(jobId("$other:localhost", "ep_1")).not.toBe(jobId("$event:localhost", "ep_1"));
  });
});
