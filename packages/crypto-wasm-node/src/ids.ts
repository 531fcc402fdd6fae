import * as wasm from "@matrix-org/matrix-sdk-crypto-wasm";

/*
 * Identifiers as the native binding has them: plain values the caller may pass to any number of
 * calls. The WebAssembly build's own identifiers are consumed by the calls they are given to
 * (a second use fails with "null pointer passed to rust"), so each call gets fresh ones.
 */

/** An id kept as its text: each call gets a fresh WebAssembly id made from it. */
class TextId<W> {
  constructor(private readonly id: string, private readonly make: (id: string) => W) {}

  toString(): string {
    return this.id;
  }

  /** A fresh WebAssembly id, for one call. */
  toWasm(): W {
    return this.make(this.id);
  }
}

/** A Matrix user id (`@user:server`). */
export class UserId extends TextId<wasm.UserId> {
  constructor(id: string) {
    super(id, (text) => new wasm.UserId(text));
    // Parsed once here, so that a malformed id fails where it is made, as in the native binding.
    this.toWasm().free();
  }
}

/** A device id. */
export class DeviceId extends TextId<wasm.DeviceId> {
  constructor(id: string) {
    super(id, (text) => new wasm.DeviceId(text));
  }
}

/** A room id (`!room:server`). */
export class RoomId extends TextId<wasm.RoomId> {
  constructor(id: string) {
    super(id, (text) => new wasm.RoomId(text));
    this.toWasm().free();
  }
}

/** Users whose devices changed, and users no longer shared a room with (from a sync or a transaction). */
export class DeviceLists {
  readonly changed: readonly UserId[];
  readonly left: readonly UserId[];

  constructor(changed?: UserId[] | null, left?: UserId[] | null) {
    this.changed = [...(changed ?? [])];
    this.left = [...(left ?? [])];
  }

  isEmpty(): boolean {
    return this.changed.length === 0 && this.left.length === 0;
  }

  toWasm(): wasm.DeviceLists {
    return new wasm.DeviceLists(this.changed.map((u) => u.toWasm()), this.left.map((u) => u.toWasm()));
  }
}

/** Fresh WebAssembly ids for one call. */
export function wasmUsers(users: readonly UserId[]): wasm.UserId[] {
  return users.map((u) => u.toWasm());
}
