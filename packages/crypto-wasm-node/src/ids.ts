import * as wasm from "@matrix-org/matrix-sdk-crypto-wasm";

/*
 * Identifiers as the native binding has them: plain values the caller may pass to any number of
 * calls. The WebAssembly build's own identifiers are consumed by the calls they are given to
 * (a second use fails with "null pointer passed to rust"), so each call gets fresh ones.
 */

/** A Matrix user id (`@user:server`). */
export class UserId {
  private readonly id: string;

  constructor(id: string) {
    // Parsed once here, so that a malformed id fails where it is made, as in the native binding.
    new wasm.UserId(id).free();
    this.id = id;
  }

  toString(): string {
    return this.id;
  }

  /** A fresh WebAssembly id, for one call. */
  toWasm(): wasm.UserId {
    return new wasm.UserId(this.id);
  }
}

/** A device id. */
export class DeviceId {
  constructor(private readonly id: string) {}

  toString(): string {
    return this.id;
  }

  toWasm(): wasm.DeviceId {
    return new wasm.DeviceId(this.id);
  }
}

/** A room id (`!room:server`). */
export class RoomId {
  private readonly id: string;

  constructor(id: string) {
    new wasm.RoomId(id).free();
    this.id = id;
  }

  toString(): string {
    return this.id;
  }

  toWasm(): wasm.RoomId {
    return new wasm.RoomId(this.id);
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
