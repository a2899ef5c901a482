// The Dockerfile's dependency layer: `npm ci` runs before the sources are copied, so it
// needs every workspace's package.json (a workspace missing there breaks the image build,
// or installs without it). Docker itself is not run by the tests (no daemon here).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support/run-cli.js";

const read = (file: string) => readFile(join(REPO_ROOT, file), "utf8");

describe("Dockerfile", () => {
  it("copies the lockfile and every workspace's package.json before npm ci, and the sources after", async () => {
    const dockerfile = await read("Dockerfile");
    const { workspaces } = JSON.parse(await read("package.json")) as { workspaces: string[] };
    const lines = dockerfile.split("\n");
    const npmCi = lines.findIndex((line) => /^RUN npm ci\b/.test(line));
    const sources = lines.findIndex((line) => /^COPY \. \.$/.test(line));
    expect(npmCi).toBeGreaterThan(0);
    expect(sources).toBeGreaterThan(npmCi);
    const before = lines.slice(0, npmCi).join("\n");
    expect(before).toContain("COPY package.json package-lock.json ./");
    for (const workspace of workspaces) {
      expect(before).toContain(`COPY ${workspace}/package.json ${workspace}/`);
    }
  });

  it("keeps what the build needs in the build context", async () => {
    const ignored = (await read(".dockerignore"))
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    for (const needed of ["package-lock.json", "scripts", "apps", "packages"]) {
      expect(ignored).not.toContain(needed);
    }
    expect(ignored).toContain("**/node_modules");
    expect(ignored).toContain(".env");
  });
});
