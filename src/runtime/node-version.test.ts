import { describe, expect, it } from "vitest";
import { NEEDED_FOR_BUILD, NEEDED_FOR_SOURCES, nodeVersionProblem } from "./node-version.js";

describe("nodeVersionProblem", () => {
  it("accepts the versions the bridge runs on", () => {
    for (const v of ["v22.18.0", "v22.20.1", "v23.0.0", "v24.11.1", "v30.1.0"]) expect(nodeVersionProblem(v, NEEDED_FOR_SOURCES, true)).toBeNull();
    expect(nodeVersionProblem("v22.0.0", NEEDED_FOR_BUILD, false)).toBeNull();
  });

  it("refuses older ones in one line that says what is needed and how to get it", () => {
    const problem = nodeVersionProblem("v20.20.2", NEEDED_FOR_SOURCES, true)!;
    expect(problem).toMatch(/needs Node\.js >= 22\.18 .*this is Node v20\.20\.2.*npx -y -p node@24 -- npm run demo/);
    expect(problem).not.toContain("\n");
    expect(nodeVersionProblem("v22.17.9", NEEDED_FOR_SOURCES, true)).toMatch(/>= 22\.18/);
    expect(nodeVersionProblem("v21.7.3", NEEDED_FOR_BUILD, false)).toMatch(/>= 22\.0 .*node dist\/main\.js/);
    expect(nodeVersionProblem("garbage", NEEDED_FOR_BUILD, false)).toMatch(/this is Node garbage/);
  });
});
