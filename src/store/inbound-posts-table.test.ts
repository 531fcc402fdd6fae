import { describe, expect, it } from "vitest";
import { openDatabase } from "./database.js";
import { InboundPostsTable } from "./inbound-posts-table.js";

describe("InboundPostsTable.postedWith", () => {
  it("gives the event ids of the hook's post whose first part is the event, else none", () => {
    const table = new InboundPostsTable(openDatabase(":memory:"));
    const { post } = table.store({ hookId: "ih_1", roomId: "!r:x", deliveryKey: null, parts: [{ body: "text" }, { body: "file" }] });
    table.partPosted(post, "$text");
    table.partPosted(post, "$file");
    table.finish(post, "posted");
    expect(table.postedWith("ih_1", "$text")).toEqual(["$text", "$file"]);
    expect(table.postedWith("ih_2", "$text")).toEqual([]);
    // Only a post's first part names it; an id that is a prefix of another names nothing.
    expect(table.postedWith("ih_1", "$file")).toEqual([]);
    expect(table.postedWith("ih_1", "$tex")).toEqual([]);
    expect(table.postedWith("ih_1", '$text","$file')).toEqual([]);
  });
});
