import type { TlsProfile } from "../config/tls-profiles.js";
import { describeBundle, describeCertificate, tlsMaterial, tlsProblems, type TlsMaterial, type TlsPart, type TlsParts } from "../delivery/tls-material.js";
import type { HookTlsStore } from "../store/hook-tls-table.js";

/** Where a hook's TLS material comes from. Uploaded material, when there is any, wins over the state's profile. */
export type HookTlsSource =
  | { kind: "uploaded"; parts: TlsParts; material: TlsMaterial | null }
  | { kind: "profile"; profile: TlsProfile }
  | { kind: "none" };

const NO_PARTS: TlsParts = { ca: null, cert: null, key: null, passphrase: null };
const hasAny = (parts: TlsParts): boolean => parts.ca !== null || parts.cert !== null || parts.key !== null;

/**
 * A hook's TLS material: uploaded by command (sealed in the store) or a config profile named by
 * its state (`tls_profile`). Decides which is used, checks uploads, and says what is in use
 * without ever showing a PEM.
 */
export class HookTls {
  /** Material made from uploaded parts, per hook (null: none uploaded), so a delivery hashes no PEM. */
  private readonly uploaded = new Map<string, { parts: TlsParts; material: TlsMaterial | null } | null>();

  constructor(
    private readonly table: HookTlsStore,
    readonly profiles: ReadonlyMap<string, TlsProfile>,
  ) {}

  /** Why the state's `tls_profile` cannot be used, listing the profiles there are; null when it can (or names none). */
  profileProblem(name: string | null): string | null {
    if (name === null || this.profiles.has(name)) return null;
    const known = [...this.profiles.keys()];
    return `tls_profile: "${name}" is not one of this bridge's TLS profiles (${known.length > 0 ? `it has ${known.map((k) => `"${k}"`).join(", ")}` : "it has none: its admin adds them under delivery.tlsProfiles in the config"})`;
  }

  source(hook: { id: string; tlsProfile: string | null }): HookTlsSource {
    const uploaded = this.uploadedOf(hook.id);
    if (uploaded) return { kind: "uploaded", ...uploaded };
    const profile = hook.tlsProfile === null ? undefined : this.profiles.get(hook.tlsProfile);
    return profile ? { kind: "profile", profile } : { kind: "none" };
  }

  /** What a delivery to the hook sends with (undefined: the public CAs, no client certificate). */
  materialFor(hook: { id: string; tlsProfile: string | null }): TlsMaterial | undefined {
    const source = this.source(hook);
    if (source.kind === "uploaded") return source.material ?? undefined;
    return source.kind === "profile" ? source.profile.material : undefined;
  }

  /**
   * Stores one uploaded part after checking it (and it against the other part of the pair, when
   * uploaded already). Returns the problems instead when there are any; nothing is stored then.
   */
  async upload(hookId: string, part: TlsPart, pem: string, by: string): Promise<string[]> {
    const parts = { ...(this.uploadedOf(hookId)?.parts ?? NO_PARTS), [part]: pem };
    const problems = tlsProblems(parts, { partial: true });
    if (problems.length > 0) return problems.map((p) => p.message);
    await this.table.set(hookId, part, pem, by);
    this.uploaded.delete(hookId);
    return [];
  }

  /** Forgets the uploaded parts; returns how many there were. */
  async clear(hookId: string): Promise<number> {
    const cleared = await this.table.clear(hookId);
    this.uploaded.delete(hookId);
    return cleared;
  }

  /** The hook is gone (its rows went with it). */
  forget(hookId: string): void {
    this.uploaded.delete(hookId);
    this.table.forget(hookId);
  }

  /** Another process changed the hook's parts (or any hook's, without an id): they are read again. */
  async reload(hookId?: string): Promise<void> {
    await this.table.reload(hookId);
    if (hookId === undefined) this.uploaded.clear();
    else this.uploaded.delete(hookId);
  }

  /** One line for list and status: where the material comes from and what it holds. */
  describe(hook: { id: string; tlsProfile: string | null }): string {
    const source = this.source(hook);
    if (source.kind === "none") {
      return hook.tlsProfile === null ? "TLS: public CAs, no client certificate." : `TLS: ${this.profileProblem(hook.tlsProfile)}.`;
    }
    const parts = source.kind === "uploaded" ? source.parts : source.profile.parts;
    const what = [
      parts.ca !== null ? `trusts ${describeBundle(parts.ca)}` : "trusts the public CAs",
      parts.cert !== null ? `client certificate ${describeCertificate(parts.cert)}` : "no client certificate",
    ];
    if (parts.cert !== null && parts.key === null) what.push("its key is not uploaded yet, so no client certificate is sent");
    if (parts.key !== null && parts.cert === null) what.push("a key is uploaded without its certificate, so no client certificate is sent");
    const from = source.kind === "profile" ? `profile "${source.profile.name}"`
      : `uploaded by command${hook.tlsProfile !== null ? ` (wins over tls_profile "${hook.tlsProfile}")` : ""}`;
    return `TLS: ${from}: ${what.join("; ")}.`;
  }

  private uploadedOf(hookId: string): { parts: TlsParts; material: TlsMaterial | null } | null {
    let entry = this.uploaded.get(hookId);
    if (entry === undefined) {
      const parts = this.table.parts(hookId);
      entry = hasAny(parts) ? { parts, material: tlsMaterial(parts) } : null;
      this.uploaded.set(hookId, entry);
    }
    return entry;
  }
}
