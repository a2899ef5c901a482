// The CLI built to JavaScript (tsup): it runs from its build, assets included, and
// bin/rlm.js uses that build only while it is newer than every file it was made from.
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteKeys, uniquePrefix } from "../../../test/support/redis-prefix.js";
import { freshBuild } from "../bin/fresh-build.js";
import { nodeFlags } from "../bin/node-flags.js";
import { cleanEnv, REPO_ROOT } from "./support/run-cli.js";

const run = promisify(execFile);
const temporary: string[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(prefix);
  temporary.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

describe("the CLI's build", () => {
  let main: string;

  beforeAll(async () => {
    // Inside the repository: the build's npm imports resolve from its node_modules.
    const cache = join(REPO_ROOT, "node_modules", ".cache");
    await mkdir(cache, { recursive: true });
    const outDir = join(await tempDir(join(cache, "rlm-cli-build-")), "dist");
    // Low priority: the suite's timing-sensitive tests run beside this build.
    await run("nice", ["-n", "10", "npx", "tsup", "--silent"], {
      cwd: join(REPO_ROOT, "apps", "cli"),
      env: { ...process.env, RLM_CLI_OUT_DIR: outDir },
      timeout: 60_000,
    });
    main = join(outDir, "main.js");
  });

  it("runs the demo from plain JavaScript, finding the sample report", async () => {
    const help = await run(process.execPath, ["--no-node-snapshot", main, "--help"], {
      env: cleanEnv(),
    });
    expect(help.stdout).toMatch(/^Usage: rlm/);
    // The report is read relative to its source file: found from the bundle too.
    const demo = await run(
      process.execPath,
      [...nodeFlags(undefined), main, "demo", "--latency", "5"],
      { env: cleanEnv(), cwd: tmpdir(), timeout: 120_000 },
    );
    expect(demo.stdout).toMatch(/✓ count\s+final/);
    expect(demo.stdout).toMatch(/✓ summary\s+final/);
  });

  it("serves the viewer (its assets read beside its source) and the API docs", async () => {
    const prefix = uniquePrefix("cli-build");
    const token = "cli-build-token-0123456789";
    const child = spawn(
      process.execPath,
      ["--no-node-snapshot", main, "serve", "--port", "0", "--host", "127.0.0.1"],
      { env: cleanEnv({ RLM_API_TOKEN: token, RLM_PREFIX: prefix }), cwd: tmpdir() },
    );
    const exited = once(child, "exit");
    try {
      let stderr = "";
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          stderr += chunk;
          const match = stderr.match(/API listening on (http:\/\/127\.0\.0\.1:\d+)/);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
      });
      const headers = { authorization: `Bearer ${token}` };
      const viewer = await fetch(`${url}/admin/viewer`, { headers });
      expect(viewer.status).toBe(200);
      const css = await readFile(join(REPO_ROOT, "apps", "api", "assets", "viewer.css"), "utf8");
      expect(await viewer.text()).toContain(css.slice(0, 200));
      const docs = await fetch(`${url}/docs`, { headers });
      expect(docs.status).toBe(200);
      const spec = await fetch(`${url}/v1/openapi.json`, { headers });
      expect(await spec.json()).toMatchObject({ openapi: "3.1.0" });
    } finally {
      child.kill("SIGTERM");
      await exited;
      await deleteKeys(prefix);
    }
  });
});

describe("freshBuild (bin/rlm.js's choice between the build and the sources)", () => {
  /** apps/cli-like folder: a build made at `builtAt` from two inputs. */
  async function layout(builtAt: Date) {
    const root = await tempDir(join(tmpdir(), "rlm-cli-fresh-"));
    const cli = join(root, "cli");
    await mkdir(join(cli, "dist"), { recursive: true });
    await mkdir(join(cli, "src"), { recursive: true });
    await mkdir(join(root, "lib"), { recursive: true });
    const inputs = ["src/main.ts", "../lib/shared.ts"];
    for (const input of inputs) {
      await writeFile(join(cli, input), "export {};\n");
      const before = new Date(builtAt.getTime() - 60_000);
      await utimes(join(cli, input), before, before);
    }
    await writeFile(join(cli, "dist", "main.js"), "");
    await utimes(join(cli, "dist", "main.js"), builtAt, builtAt);
    const metafile = { inputs: Object.fromEntries(inputs.map((input) => [input, {}])) };
    await writeFile(join(cli, "dist", "metafile-esm.json"), JSON.stringify(metafile));
    return { cli, url: pathToFileURL(`${cli}/`) };
  }

  it("takes a build newer than all its inputs", async () => {
    const { cli, url } = await layout(new Date());
    expect(freshBuild(url)).toBe(join(cli, "dist", "main.js"));
  });

  it("refuses it once an input changed, or is gone, or without a build", async () => {
    const built = new Date(Date.now() - 3_600_000);
    const edited = await layout(built);
    await utimes(join(edited.cli, "..", "lib", "shared.ts"), new Date(), new Date());
    expect(freshBuild(edited.url)).toBeUndefined();

    const removed = await layout(built);
    await rm(join(removed.cli, "src", "main.ts"));
    expect(freshBuild(removed.url)).toBeUndefined();

    const unbuilt = await layout(built);
    await rm(join(unbuilt.cli, "dist"), { recursive: true });
    expect(freshBuild(unbuilt.url)).toBeUndefined();
  });
});
