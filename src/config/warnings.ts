import { SAMPLE_ENCRYPTION_KEY } from "./key.js";
import type { BridgeConfig } from "./types.js";

/**
 * Things that are valid but probably wrong, for the caller to log at startup. Never fatal, so
 * the sample config still starts as written.
 */
export function configWarnings(config: BridgeConfig): string[] {
  const warnings: string[] = [];
  if (config.store.encryptionKeyBytes.equals(Buffer.from(SAMPLE_ENCRYPTION_KEY, "base64"))) {
    warnings.push("store.encryptionKey is the placeholder from config.sample.yml; generate a real one with `openssl rand -base64 32`");
  }
  if (config.bridge.role === "appservice" && config.bridge.publicUrl === null) {
    warnings.push("bridge.role is appservice and bridge.publicUrl is not set: the inbound hook URLs this process sends by DM point at itself, and it does not serve them; set bridge.publicUrl to where the inbound process is reached");
  }
  return warnings;
}
