import type { EventFormat } from "../outbound/formats/format-names.js";
import type { TlsProfile } from "./tls-profiles.js";

/**
 * The bridge configuration after loading: validated, every default filled in, paths resolved and
 * the store key decoded. `config.sample.yml` documents each key; `schema.ts` holds the defaults.
 */

/** all: one process does everything; the others split it between processes sharing a PostgreSQL store. */
export type BridgeRole = "all" | "appservice" | "worker" | "inbound";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface BridgeConfig {
  homeserver: {
    /** http(s) URL the bridge uses to reach the homeserver, without a trailing slash. */
    url: string;
    /** The homeserver's server_name (may carry a port). */
    domain: string;
  };
  bridge: {
    bindAddress: string;
    /** Listener for appservice transactions, /health, /metrics and inbound webhooks. */
    port: number;
    /** http(s) URL where the listener is reachable from outside, without a trailing slash. */
    publicUrl: string | null;
    /** What this process does (docs/postgres.md, "Several processes"): everything, or one part. */
    role: BridgeRole;
  };
  bot: {
    /** Set on the bot user at start; null leaves it alone. */
    displayName: string | null;
    /** mxc:// URI set on the bot user at start; null leaves it alone. */
    avatarUrl: string | null;
  };
  permissions: {
    /** "*", a server name, or a full user id. */
    invite: string[];
    /** null: the level the room requires to send the hook state events. */
    commandPowerLevel: number | null;
  };
  store: {
    /** SQLite file, absolute when loaded from a file (":memory:" is kept as is). */
    path: string;
    /** The 32-byte key that encrypts hook secrets at rest. Never log it. */
    encryptionKeyBytes: Buffer;
    /** Where the key came from, when it came from a file (absolute when loaded from a file). */
    encryptionKeyFile: string | null;
    /** SQLite durability: NORMAL survives a killed bridge, FULL also a power loss (slower). */
    synchronous: "NORMAL" | "FULL";
    /** Where the delivery queue lives: the SQLite file, or a PostgreSQL database (docs/postgres.md). */
    engine: "sqlite" | "postgres";
    /** The PostgreSQL database, when engine is postgres. The URL may hold a password: never log it. */
    postgres: { url: string | null; poolSize: number };
  };
  delivery: {
    timeoutSeconds: number;
    retries: number;
    /** Seconds before retry n; the last entry repeats. Never empty. */
    retrySchedule: number[];
    jitter: number;
    concurrency: number;
    maxResponseBodyBytes: number;
    /** CIDRs (syntax checked) that hook URLs may resolve to even though private. */
    allowedNetworks: string[];
    /** Upper bound on a receiver's Retry-After. */
    maxRetryAfterSeconds: number;
    /** A hook failing without a single success for this long is disabled. */
    disableAfterFailingHours: number;
    /** Failed attempts in a row before the room gets one notice naming the cause (and one on recovery); 0: no such notices. */
    failureNoticeAfterAttempts: number;
    /** Also send those notices by DM to the user who added the hook. */
    failureNoticeToOwner: boolean;
    /** How long a rotated-out signing secret keeps signing alongside the new one. */
    signingKeyGraceHours: number;
    /** How long delivered/dead jobs, attempts and handled transaction ids are kept. */
    retentionDays: number;
    /** Pending deliveries of one hook held in memory; the rest wait in the store file. */
    heldPerHook: number;
    /** Pending deliveries of all hooks together held in memory (each hook may still hold a few). */
    heldTotal: number;
    /** Bytes of event JSON held in memory, all hooks together (each job counts its event's JSON). */
    heldBytes: number;
    /** The format of hooks whose state event names none (Hookshot receivers: "hookshot-multipart"). */
    defaultFormat: EventFormat;
    /** Named CA bundles and client certificates (read and checked at start); a hook names one in its state (`tls_profile`). */
    tlsProfiles: ReadonlyMap<string, TlsProfile>;
  };
  media: {
    /** Cap on one media file, checked against info.size first and enforced while streaming. */
    maxBytes: number;
    /** Also send the event's thumbnail (a `thumbnail` part). */
    includeThumbnail: boolean;
    /** Where media is staged while it is sent (absolute); defaults to the OS temp dir. */
    tempDir: string;
    /** Lifetime of the media links the `json` format sends. */
    linkTtlSeconds: number;
  };
  inbound: {
    /** Largest inbound webhook body accepted; larger ones get 413. */
    maxBodyBytes: number;
    /** Per hook: requests refilled per minute, and how many may come at once. */
    rateLimitPerMinute: number;
    rateLimitBurst: number;
    /** Whether a payload's username/avatar_url may show on its message (MSC4144 per-message profile). */
    allowIdentityOverride: boolean;
    /** The payload is attached to its message when its JSON is at most this big. */
    rawPayloadMaxBytes: number;
    /** Largest avatar image downloaded from a URL. */
    avatarMaxBytes: number;
    /** How long a request waits for its post to reach the room before it is answered 202 (queued). */
    postWaitMs: number;
    /** Hooks whose queued posts are posted at the same time (each hook's in order). */
    postConcurrency: number;
    /** A queued post the homeserver has not taken after this long is given up (logged, told in the room). */
    postGiveUpHours: number;
    /** Hookshot's JavaScript transformation functions (inbound and outbound hooks), run in a QuickJS sandbox. */
    transformationFunctions: {
      /** Off by default, as Hookshot's allowJsTransformationFunctions: functions in state are then ignored. */
      enabled: boolean;
      /** Time one run may take before it is interrupted. */
      timeoutMs: number;
      /** Memory one run's JavaScript heap may use. */
      memoryBytes: number;
    };
  };
  /** Chat hooks' replies (slack, mattermost, zulip formats), posted by the hook's own user. */
  replies: {
    /** Characters of a reply's text per message; a longer reply is split (Mattermost's 4,000). */
    maxChars: number;
    /** Messages per reply at most; the last says what was cut. */
    maxParts: number;
    /** Bytes of a receiver's answer read for its reply; a longer answer posts nothing. */
    maxBytes: number;
    /** Whether a reply's username / icon_url may show (marked as a webhook's). */
    allowIdentityOverride: boolean;
  };
  /** Before- and after-event callbacks (format tencent). */
  callbacks: {
    /** The Synapse pre-send module's requests: the secret both configs share (from `secret` or `secretFile`); null: no module expected. */
    precheck: { secret: string | null };
  };
  /** End-to-end encrypted rooms (docs/encryption.md). */
  encryption: {
    /** Off: the bot leaves encrypted rooms, saying why. */
    enabled: boolean;
    /** Directory of the devices' crypto state, absolute when loaded from a file; sealed with a passphrase derived from the store key. */
    storagePath: string;
  };
  logging: {
    level: LogLevel;
  };
  metrics: {
    enabled: boolean;
  };
}
