import type { SchemaObject } from "ajv";
import { DEFAULT_OUTBOUND_FORMAT, EVENT_FORMATS } from "../outbound/formats/format-names.js";
import type { FormatName } from "./formats.js";
import { TLS_PROFILE_NAME_PATTERN, tlsProfileSchema } from "./tls-profiles.js";
import type { LogLevel } from "./types.js";

/**
 * The configuration schema: the one place that lists every key, its type, its limits and its
 * default. Sections default to `{}` so their keys' defaults apply when a section is left out.
 * `config.sample.yml` documents the same keys (a test keeps the two in step).
 */

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const satisfies readonly LogLevel[];

const section = (properties: Record<string, SchemaObject>, required: string[] = []): SchemaObject => ({
  type: "object",
  additionalProperties: false,
  ...(required.length > 0 ? { required } : { default: {} }),
  properties,
});

const formatted = (format: FormatName, extra: SchemaObject = {}): SchemaObject => ({ type: "string", format, ...extra });
const orNull = (schema: SchemaObject): SchemaObject => ({ ...schema, type: [schema.type as string, "null"] });

export const configSchema: SchemaObject = {
  type: "object",
  additionalProperties: false,
  required: ["homeserver"],
  properties: {
    homeserver: section(
      {
        url: formatted("http-url"),
        domain: formatted("server-name"),
      },
      ["url", "domain"],
    ),
    bridge: section({
      bindAddress: formatted("host", { default: "127.0.0.1" }),
      port: { type: "integer", minimum: 0, maximum: 65535, default: 9993 },
      publicUrl: orNull(formatted("http-url", { default: null })),
      role: { type: "string", enum: ["all", "appservice", "worker", "inbound"], default: "all" },
    }),
    bot: section({
      displayName: { type: ["string", "null"], minLength: 1, maxLength: 256, default: "Webhook bridge" },
      avatarUrl: orNull(formatted("mxc-uri", { default: null })),
    }),
    permissions: section({
      invite: { type: "array", items: formatted("invite-entry"), default: ["*"] },
      commandPowerLevel: { type: ["integer", "null"], default: null },
    }),
    store: section({
      path: { type: "string", minLength: 1, default: "./data/bridge.db" },
      encryptionKey: { type: ["string", "null"], default: null },
      encryptionKeyFile: { type: ["string", "null"], minLength: 1, default: null },
      synchronous: { type: "string", enum: ["NORMAL", "FULL"], default: "NORMAL" },
      engine: { type: "string", enum: ["sqlite", "postgres"], default: "sqlite" },
      postgres: section({
        url: { type: ["string", "null"], minLength: 1, pattern: "^postgres(ql)?://", default: null },
        poolSize: { type: "integer", minimum: 1, maximum: 1000, default: 10 },
      }),
    }),
    delivery: section({
      timeoutSeconds: { type: "number", exclusiveMinimum: 0, maximum: 3600, default: 10 },
      retries: { type: "integer", minimum: 0, maximum: 100, default: 5 },
      retrySchedule: {
        type: "array",
        minItems: 1,
        items: { type: "number", exclusiveMinimum: 0, maximum: 604800 },
        default: [2, 10, 60, 300, 1800],
      },
      jitter: { type: "number", minimum: 0, maximum: 1, default: 0.2 },
      concurrency: { type: "integer", minimum: 1, maximum: 10000, default: 32 },
      maxResponseBodyBytes: { type: "integer", minimum: 0, maximum: 1048576, default: 4096 },
      allowedNetworks: { type: "array", items: formatted("cidr"), default: [] },
      maxRetryAfterSeconds: { type: "number", minimum: 0, maximum: 86400, default: 3600 },
      disableAfterFailingHours: { type: "number", exclusiveMinimum: 0, maximum: 8760, default: 72 },
      failureNoticeAfterAttempts: { type: "integer", minimum: 0, maximum: 1000, default: 3 },
      failureNoticeToOwner: { type: "boolean", default: true },
      signingKeyGraceHours: { type: "number", minimum: 0, maximum: 8760, default: 24 },
      retentionDays: { type: "number", exclusiveMinimum: 0, maximum: 3650, default: 7 },
      heldPerHook: { type: "integer", minimum: 10, maximum: 1000000, default: 4000 },
      heldTotal: { type: "integer", minimum: 100, maximum: 100000000, default: 100000 },
      heldBytes: { type: "integer", minimum: 1048576, maximum: 68719476736, default: 134217728 },
      defaultFormat: { type: "string", enum: [...EVENT_FORMATS], default: DEFAULT_OUTBOUND_FORMAT },
      tlsProfiles: { type: "object", propertyNames: { pattern: TLS_PROFILE_NAME_PATTERN }, additionalProperties: tlsProfileSchema, default: {} },
    }),
    media: section({
      maxBytes: { type: "integer", minimum: 1, maximum: 10737418240, default: 52428800 },
      includeThumbnail: { type: "boolean", default: false },
      tempDir: { type: ["string", "null"], minLength: 1, default: null },
      linkTtlSeconds: { type: "integer", minimum: 60, maximum: 604800, default: 3600 },
    }),
    inbound: section({
      maxBodyBytes: { type: "integer", minimum: 1024, maximum: 67108864, default: 1048576 },
      rateLimitPerMinute: { type: "number", exclusiveMinimum: 0, maximum: 1000000, default: 60 },
      rateLimitBurst: { type: "integer", minimum: 1, maximum: 100000, default: 20 },
      allowIdentityOverride: { type: "boolean", default: false },
      rawPayloadMaxBytes: { type: "integer", minimum: 0, maximum: 32768, default: 16384 },
      avatarMaxBytes: { type: "integer", minimum: 1024, maximum: 52428800, default: 2097152 },
      postWaitMs: { type: "integer", minimum: 0, maximum: 60000, default: 3000 },
      postConcurrency: { type: "integer", minimum: 1, maximum: 64, default: 4 },
      postGiveUpHours: { type: "integer", minimum: 1, maximum: 720, default: 72 },
      transformationFunctions: section({
        enabled: { type: "boolean", default: false },
        timeoutMs: { type: "integer", minimum: 10, maximum: 10000, default: 200 },
        memoryBytes: { type: "integer", minimum: 1048576, maximum: 268435456, default: 16777216 },
      }),
    }),
    replies: section({
      maxChars: { type: "integer", minimum: 100, maximum: 30000, default: 4000 },
      maxParts: { type: "integer", minimum: 1, maximum: 50, default: 10 },
      maxBytes: { type: "integer", minimum: 1024, maximum: 4194304, default: 262144 },
      allowIdentityOverride: { type: "boolean", default: false },
    }),
    callbacks: section({
      precheck: section({
        secret: orNull({ type: "string", minLength: 16, maxLength: 512, default: null }),
        secretFile: orNull({ type: "string", minLength: 1, default: null }),
      }),
    }),
    encryption: section({
      enabled: { type: "boolean", default: false },
      storagePath: { type: "string", minLength: 1, default: "./data/crypto" },
    }),
    logging: section({
      level: { type: "string", enum: [...LOG_LEVELS], default: "info" },
    }),
    metrics: section({
      enabled: { type: "boolean", default: true },
    }),
  },
};
