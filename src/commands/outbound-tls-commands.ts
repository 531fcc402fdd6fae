import { pemOfPart, TLS_PARTS, type TlsPart } from "../delivery/tls-material.js";
import { CommandError } from "./command-error.js";
import type { CommandContext } from "./context.js";
import { keyRedactionNote } from "./key-redaction.js";
import { existing } from "./outbound-commands.js";
import type { CommandSpec } from "./spec.js";

const PART_LABEL: Readonly<Record<TlsPart, string>> = { ca: "CA bundle", cert: "client certificate", key: "client key" };

const isPart = (word: string): word is TlsPart => (TLS_PARTS as readonly string[]).includes(word);

/**
 * "!hooks outbound tls <hook> ca|cert|key|clear" with the PEM on the next lines: a hook's TLS
 * material, uploaded by a room admin and kept sealed in the store. A key message is redacted at
 * once (by the dispatcher, before this runs); a key the bot could not redact is not kept.
 */
export const outboundTlsCommands: CommandSpec<CommandContext>[] = [
  {
    words: ["outbound", "tls"],
    args: ["name", "part"],
    text: "PEM",
    summary:
      "Give a hook a CA bundle to trust (ca), a client certificate (cert) or its unencrypted key (key), the PEM on the lines after the command " +
      "(a code block is fine; a key's message is redacted at once), or forget them (clear). Uploaded material wins over the hook's tls_profile; " +
      "profiles in the bridge's config are the better way for keys.",
    privileged: true,
    async run(ctx, { name, part }) {
      const note = keyRedactionNote(ctx.keyRedaction);
      const hook = existing(ctx, name!);
      const which = part!.toLowerCase();
      if (which === "clear") {
        const cleared = await ctx.outbound.tls.clear(hook.id);
        if (cleared === 0) throw new CommandError(`Outbound hook "${name}" has no uploaded TLS material.`);
        await ctx.reply(`Forgot the uploaded TLS material of outbound hook "${name}" (${cleared} part${cleared === 1 ? "" : "s"}). ${ctx.outbound.tls.describe(hook)}${note}`);
        return;
      }
      if (!isPart(which)) throw new CommandError(`The part must be ca, cert, key or clear, not "${part}".`);
      let pem: string;
      try {
        pem = pemOfPart(which, ctx.text);
      } catch (err) {
        throw new CommandError(`Cannot set the ${PART_LABEL[which]} of "${name}": ${(err as Error).message}. Put the PEM on the lines after the command (a code block is fine).`);
      }
      if (which === "key" && ctx.keyRedaction?.redacted !== true) {
        throw new CommandError(`I did not keep the key of "${name}".`);
      }
      const problems = await ctx.outbound.tls.upload(hook.id, which, pem, ctx.sender);
      if (problems.length > 0) {
        const encrypted = problems.some((p) => p.includes("encrypted")) ? " Upload it decrypted (openssl pkey -in key.pem -out plain-key.pem), or give it with its passphraseFile in a config profile." : "";
        throw new CommandError(`Cannot set the ${PART_LABEL[which]} of "${name}": ${problems.join("; ")}.${encrypted}`);
      }
      await ctx.reply(`Outbound hook "${name}" has a new ${PART_LABEL[which]}. ${ctx.outbound.tls.describe(hook)}${note}`);
    },
  },
];
