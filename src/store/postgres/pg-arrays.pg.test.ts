// pgArray's literals read back by a real PostgreSQL as the very values pg's own encoding gives.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgArray } from "./pg-arrays.js";
import { freshDatabase } from "./pg-test-fixtures.js";

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: await freshDatabase("arrays") });
  await client.connect();
});
afterAll(() => client.end());

const TEXTS = [
  'a "quoted" \\ text', "NULL", "null", "", " spaced ", "{,}", "comma, brace } and \\\\ two", "🙂 é ü 中文", "\u2028\u2029", '{"json":"\\"x\\""}',
];

describe("pgArray on PostgreSQL", () => {
  it("gives texts, nulls, numbers and booleans back unchanged", async () => {
    const { rows } = await client.query<{ t: Array<string | null>; b: string[]; i: number[]; f: boolean[] }>(
      "SELECT $1::text[] AS t, $2::bigint[]::text[] AS b, $3::int[] AS i, $4::boolean[] AS f",
      [pgArray([...TEXTS, null]), pgArray([1_700_000_000_000, 2 ** 53 - 1]), pgArray([0, -5, 200]), pgArray([true, false])],
    );
    expect(rows[0]!.t).toEqual([...TEXTS, null]);
    expect(rows[0]!.b).toEqual(["1700000000000", String(2 ** 53 - 1)]);
    expect(rows[0]!.i).toEqual([0, -5, 200]);
    expect(rows[0]!.f).toEqual([true, false]);
  });

  it("reads the same values as pg's own encoding, including the arrays it leaves to pg", async () => {
    const arrays = [TEXTS, ["two\nlines", "tab\there"], ["lone \ud800 surrogate"], []];
    for (const values of arrays) {
      const { rows } = await client.query<{ ours: string[]; theirs: string[] }>("SELECT $1::text[] AS ours, $2::text[] AS theirs", [pgArray(values), values]);
      expect(rows[0]!.ours).toEqual(rows[0]!.theirs);
    }
  });
});
