import { describe, expect, it } from "vitest";
import { classifyFailure } from "./failure-category.js";
import { duration, failureNoticeText, NO_EPISODE, noticeDue, originOf, recoveryNoticeText, withFailedAttempt } from "./failure-episode.js";

describe("failure episodes", () => {
  it("count failed attempts, and deliveries by their first failed attempt", () => {
    let episode = withFailedAttempt(NO_EPISODE, 3); // a retry opens the episode: one delivery
    episode = withFailedAttempt(episode, 1);
    episode = withFailedAttempt(episode, 2);
    expect(episode).toEqual({ failedAttempts: 3, failedDeliveries: 2, noticedAt: null });
  });

  it("are due for a notice at the threshold, once, and never with a threshold of 0", () => {
    const three = { failedAttempts: 3, failedDeliveries: 1, noticedAt: null };
    expect(noticeDue({ ...three, failedAttempts: 2 }, 3)).toBe(false);
    expect(noticeDue(three, 3)).toBe(true);
    expect(noticeDue({ ...three, noticedAt: 5 }, 3)).toBe(false);
    expect(noticeDue(three, 0)).toBe(false);
  });

  it("show only the origin of a URL", () => {
    expect(originOf("https://user:pw@ci.example:8443/hooks/abc?token=s3cr3t#x")).toBe("https://ci.example:8443");
    expect(originOf("http://[::1]:80/x")).toBe("http://[::1]");
    expect(originOf("not a url")).toBe("its URL");
  });

  it("word their notices", () => {
    const category = classifyFailure({ result: { kind: "response", status: 503 }, error: null });
    const episode = { failedAttempts: 1, failedDeliveries: 1, noticedAt: null };
    expect(failureNoticeText('Outbound hook "ci"', "https://h.example/p?q=1", category, episode)).toBe(
      'Outbound hook "ci" cannot deliver: HTTP status 503 at https://h.example. The receiver failed on the request (an error or overload on its side); ' +
        "deliveries are retried. 1 attempt in a row failed; this room hears once deliveries get through again.",
    );
    expect(recoveryNoticeText('Outbound hook "ci"', "https://h.example/p", episode, null)).toBe('Outbound hook "ci" delivers again to https://h.example; 1 delivery waited (1 failed attempt).');
  });

  it("say how long in rounded units", () => {
    expect(duration(40_400)).toBe("40 s");
    expect(duration(12 * 60_000)).toBe("12 minutes");
    expect(duration(3 * 3_600_000)).toBe("3 hours");
    expect(duration(49 * 3_600_000)).toBe("2 days");
  });
});
