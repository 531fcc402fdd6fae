import * as wasm from "@matrix-org/matrix-sdk-crypto-wasm";

/** Encrypted media and its key material (the `file` of an encrypted `m.file`/`m.image`, as JSON). */
export class EncryptedAttachment {
  readonly encryptedData: Uint8Array;
  readonly mediaEncryptionInfo: string | null;

  constructor(encryptedData: Uint8Array, mediaEncryptionInfo: string) {
    this.encryptedData = encryptedData;
    this.mediaEncryptionInfo = mediaEncryptionInfo;
  }
}

/** Attachment encryption (AES-CTR with a SHA-256 check of the ciphertext), as the native binding's. */
export const Attachment = {
  encrypt(data: Uint8Array): EncryptedAttachment {
    const encrypted = wasm.Attachment.encrypt(data);
    try {
      const info = encrypted.mediaEncryptionInfo;
      if (info === undefined) throw new Error("the crypto core gave no media encryption info");
      return new EncryptedAttachment(encrypted.encryptedData, info);
    } finally {
      encrypted.free();
    }
  },

  /** The plaintext; throws if the data does not match its hash or the key material is malformed. */
  decrypt(attachment: EncryptedAttachment): Uint8Array {
    if (attachment.mediaEncryptionInfo === null) throw new Error("the attachment has no media encryption info");
    // Freed at once: it holds a copy of the whole file in the WebAssembly memory.
    const encrypted = new wasm.EncryptedAttachment(attachment.encryptedData, attachment.mediaEncryptionInfo);
    try {
      return wasm.Attachment.decrypt(encrypted);
    } finally {
      encrypted.free();
    }
  },
};
