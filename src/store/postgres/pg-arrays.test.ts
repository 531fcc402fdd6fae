import { describe, expect, it } from "vitest";
import { pgArray } from "./pg-arrays.js";

describe("pgArray", () => {
  it("writes numbers, booleans, null and texts as a PostgreSQL array literal", () => {
    expect(pgArray([1, 1_700_000_000_000, null])).toBe("{1,1700000000000,null}");
    expect(pgArray([true, false])).toBe("{true,false}");
    expect(pgArray([])).toBe("{}");
    expect(pgArray(['a "quoted" \\ text', "NULL", "", "{,}"])).toBe('{"a \\"quoted\\" \\\\ text","NULL","","{,}"}');
  });

  it("leaves an array with a control character or a lone surrogate to pg, as it was", () => {
    const withNewline = ["ok", "two\nlines"];
    expect(pgArray(withNewline)).toBe(withNewline);
    const lone = ["\ud800x"];
    expect(pgArray(lone)).toBe(lone);
    // A surrogate pair is well formed: written the fast way.
    expect(pgArray(["🙂"])).toBe('{"🙂"}');
  });
});
