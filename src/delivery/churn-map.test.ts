import { describe, expect, it } from "vitest";
import { ChurnMap } from "./churn-map.js";

describe("ChurnMap", () => {
  it("behaves as a map for number keys: size, get, has, delete, iteration with numbers back", () => {
    const map = new ChurnMap<number, string>();
    map.set(5_000_000_001, "a").set(7, "b").set(7, "c");
    expect(map.size).toBe(2);
    expect(map.get(7)).toBe("c");
    expect(map.has(5_000_000_001)).toBe(true);
    expect(map.get(8)).toBeUndefined();
    expect(map.has(8)).toBe(false);
    expect([...map].sort((x, y) => x[0] - y[0])).toEqual([[7, "c"], [5_000_000_001, "a"]]);
    expect(map.delete(7)).toBe(true);
    expect(map.delete(7)).toBe(false);
    expect(map.size).toBe(1);
    expect([...map.values()]).toEqual(["a"]);
  });

  it("takes any string key, including ones an ordinary object would inherit", () => {
    const map = new ChurnMap<string, number>();
    for (const key of ["__proto__", "constructor", "toString", "hasOwnProperty", "", "42"]) {
      expect(map.has(key)).toBe(false);
      map.set(key, key.length);
    }
    expect(map.size).toBe(6);
    expect(map.get("__proto__")).toBe(9);
    expect(new Map([...map])).toEqual(new Map([["42", 2], ["__proto__", 9], ["constructor", 11], ["toString", 8], ["hasOwnProperty", 14], ["", 0]]));
    map.clear();
    expect(map.size).toBe(0);
    expect([...map]).toEqual([]);
  });

  it("allows deleting entries while iterating, and keeps its count through heavy churn", () => {
    const map = new ChurnMap<number, { key: number }>();
    for (let key = 0; key < 10_000; key++) {
      map.set(key, { key });
      if (key >= 32) map.delete(key - 32);
    }
    expect(map.size).toBe(32);
    for (const [key, value] of map) {
      expect(value.key).toBe(key);
      if (key % 2 === 0) map.delete(key);
    }
    expect(map.size).toBe(16);
    expect([...map.values()].every((v) => v.key % 2 === 1)).toBe(true);
  });

  it("skips an entry deleted before the loop reaches it, and has() tells a stored undefined from no entry", () => {
    const map = new ChurnMap<number, string | undefined>();
    map.set(1, "a").set(2, "b").set(3, "c").set(4, undefined);
    const seen: Array<[number, string | undefined]> = [];
    for (const entry of map) {
      seen.push(entry);
      if (entry[0] === 1) map.delete(3);
    }
    expect(seen).toEqual([[1, "a"], [2, "b"], [4, undefined]]);
    expect(map.has(4)).toBe(true);
    expect(map.get(4)).toBeUndefined();
    expect(map.has(5)).toBe(false);
  });

  it("gives its keys back as they were set: numbers as numbers, strings in insertion order", () => {
    const numbers = new ChurnMap<number, string>();
    numbers.set(30, "c").set(10, "a").set(20, "b");
    numbers.delete(10);
    expect([...numbers.keys()]).toEqual([20, 30]);
    const strings = new ChurnMap<string, number>();
    strings.set("!b:x/hook", 1).set("!a:x/hook", 2).set("__proto__", 3);
    expect([...strings.keys()]).toEqual(["!b:x/hook", "!a:x/hook", "__proto__"]);
  });
});
