"use strict";
// Stand-in for @matrix-org/matrix-sdk-crypto-nodejs, whose install downloads a native binary from
// outside the npm registry. matrix-bot-sdk requires the package at load time but only touches it
// when end-to-end encryption is switched on, so loading succeeds and any use fails loudly.
class EncryptionUnavailableError extends Error {
  constructor(name) {
    super(`End-to-end encryption is not available in this build of matrix-webhook-bridge ` +
      `(@matrix-org/matrix-sdk-crypto-nodejs is not installed; '${String(name)}' was used).`);
    this.name = "EncryptionUnavailableError";
  }
}
function unavailable(name) {
  return new Proxy(function () {}, {
    construct() { throw new EncryptionUnavailableError(name); },
    apply() { throw new EncryptionUnavailableError(name); },
    get(_target, prop) {
      if (prop === "prototype") return {};
      throw new EncryptionUnavailableError(`${String(name)}.${String(prop)}`);
    },
  });
}
module.exports = new Proxy({ EncryptionUnavailableError, isStub: true }, {
  get(target, prop) {
    if (prop in target) return target[prop];
    if (prop === "__esModule" || typeof prop === "symbol" || prop === "then") return undefined;
    return unavailable(prop);
  },
});
