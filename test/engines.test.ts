import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// `npm install` on Node 20 prints no engine warnings (issue 16): every package the
// lockfile installs accepts this Node. A merge that takes another branch's lockfile can
// bring back a version that needs Node 22 (content-disposition 3, cookie 2 did once).
const require = createRequire(import.meta.url);
const semver = require("semver") as {
  satisfies(version: string, range: string, options?: { includePrerelease?: boolean }): boolean;
};

describe("the lockfile", () => {
  it("installs only packages whose engines accept this Node", () => {
    const lock = JSON.parse(
      readFileSync(new URL("../package-lock.json", import.meta.url), "utf8"),
    ) as {
      packages: Record<
        string,
        { version?: string; engines?: { node?: string } | string[]; dev?: boolean }
      >;
    };
    const refused = Object.entries(lock.packages)
      .filter(([path, entry]) => {
        const node = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
        return (
          path !== "" &&
          node !== undefined &&
          !semver.satisfies(process.versions.node, node, { includePrerelease: true })
        );
      })
      .map(
        ([path, entry]) =>
          `${path}@${entry.version ?? "?"} needs node ${(entry.engines as { node: string }).node}`,
      );
    expect(refused).toEqual([]);
  });
});
