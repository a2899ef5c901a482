import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createApiServer } from "@rlm/api";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { type RlmWorker, startRlmWorker } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDocument } from "./support/documents.js";
import { deleteKeys, uniquePrefix } from "./support/redis-prefix.js";

// rlm-queue and rlm-queue-client as a service gets them: built, packed with `npm pack`,
// installed from the tarballs into an empty folder outside the workspace, and imported
// from plain .mjs files run by plain Node (no tsx, no workspace packages in reach).
const execFileAsync = promisify(execFile);

/**
 * Runs a command at low priority: builds, installs and the type check take seconds of
 * CPU, which the suite's timing-sensitive tests running beside this one should not lose.
 */
function run(
  command: string,
  args: string[],
  options: { cwd: string; timeout: number; env?: NodeJS.ProcessEnv },
) {
  return execFileAsync("nice", ["-n", "10", command, ...args], { ...options, encoding: "utf8" });
}
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const document = makeDocument({ chars: 60_000, markerCount: 9, seed: 12 });
const query = `How many times does "${document.marker}" appear?`;
let app: string;
let mock: MockLlmServer;

/** Runs `node --no-node-snapshot file` in the installed app (isolated-vm needs the flag). */
async function runApp(file: string, env: Record<string, string>) {
  const { stdout } = await run(process.execPath, ["--no-node-snapshot", file], {
    cwd: app,
    env: { PATH: process.env.PATH, ...env },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

beforeAll(async () => {
  await run("npm", ["run", "build", "-w", "packages/rlm", "-w", "packages/client"], {
    cwd: ROOT,
    timeout: 120_000,
  });
  app = await mkdtemp(join(tmpdir(), "rlm-installed-"));
  const { stdout } = await run(
    "npm",
    ["pack", "packages/rlm/dist", "packages/client/dist", "--pack-destination", app, "--json"],
    { cwd: ROOT, timeout: 60_000 },
  );
  const [engine, client] = (JSON.parse(stdout) as { filename: string }[]).map((p) => p.filename);
  await writeFile(
    join(app, "package.json"),
    JSON.stringify({
      name: "installed-app",
      private: true,
      type: "module",
      dependencies: { "rlm-queue": `file:./${engine}`, "rlm-queue-client": `file:./${client}` },
      // A service allows isolated-vm's install script (node-gyp, about 2 minutes here);
      // the test denies it and copies the workspace's build of the same version instead.
      allowScripts: { "isolated-vm": false },
    }),
  );
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], {
    cwd: app,
    timeout: 120_000,
  });
  const nativeDir = join(app, "node_modules", "isolated-vm", "out");
  await mkdir(nativeDir, { recursive: true });
  await copyFile(
    join(ROOT, "node_modules", "isolated-vm", "out", "isolated_vm.node"),
    join(nativeDir, "isolated_vm.node"),
  );
  await writeFile(join(app, "document.txt"), document.text);
  mock = await startMockLlmServer({ strategy: "map-reduce", chunkChars: 20_000 });
}, 300_000);

afterAll(async () => {
  await mock?.stop();
  if (app) await rm(app, { recursive: true, force: true });
});

describe("the packed packages, installed outside the workspace", () => {
  it("install on their own: no workspace package, no TypeScript runner", async () => {
    const installed = await readdir(join(app, "node_modules"));
    expect(installed).toEqual(expect.arrayContaining(["rlm-queue", "rlm-queue-client"]));
    // Nothing of the workspace, the server or the TypeScript tooling came along.
    for (const name of ["@rlm", "tsx", "fastify", "bullmq", "ioredis", "typescript"]) {
      expect(installed).not.toContain(name);
    }
    const files = await readdir(join(app, "node_modules", "rlm-queue"));
    expect(files).toEqual(expect.arrayContaining(["index.js", "index.d.ts", "package.json"]));
  });

  it("rlm-queue runs an analysis in process against the mock, from a plain .mjs file", async () => {
    await writeFile(
      join(app, "analyze.mjs"),
      `import { readFile } from "node:fs/promises";
import { Rlm } from "rlm-queue";

const rlm = new Rlm({
  baseURL: process.env.MODEL_URL,
  apiKey: "test-key",
  rootModel: "mock-root",
  subModel: "mock-sub",
});
const result = await rlm.completion(process.env.QUERY, await readFile("document.txt", "utf8"));
console.log(JSON.stringify({ answer: result.answer, finishReason: result.finishReason }));
`,
    );
    const before = mock.requests().length;
    const output = await runApp("analyze.mjs", { MODEL_URL: mock.url, QUERY: query });
    expect(output).toEqual({ answer: "9", finishReason: "final" });
    // Real model calls over HTTP, sub-calls included.
    const requests = mock.requests().slice(before);
    expect(requests.filter((request) => request.kind === "sub").length).toBeGreaterThan(1);
  });

  it("rlm-queue-client analyzes through a running API (worker, Redis, mock)", async () => {
    const prefix = uniquePrefix("installed");
    const connection = { host: "127.0.0.1", port: 6379 };
    const token = "installed-app-token-0123456789";
    let api: FastifyInstance | undefined;
    let worker: RlmWorker | undefined;
    try {
      api = createApiServer({ connection, prefix, apiToken: token, logger: false });
      await api.listen({ host: "127.0.0.1", port: 0 });
      worker = await startRlmWorker({
        connection,
        prefix,
        model: { baseURL: mock.url, apiKey: "test-key" },
        defaults: { rootModel: "mock-root", subModel: "mock-sub" },
      });
      await writeFile(
        join(app, "client.mjs"),
        `import { readFile } from "node:fs/promises";
import { RlmClient } from "rlm-queue-client";

const rlm = new RlmClient({ baseUrl: process.env.API_URL, token: process.env.API_TOKEN });
const document = await readFile("document.txt", "utf8");
const result = await rlm.analyze(process.env.QUERY, document, { timeoutMs: 60_000 });
const view = await rlm.getAnalysis(result.id);
console.log(JSON.stringify({ answer: result.answer, status: view.status }));
`,
      );
      const port = (api.server.address() as AddressInfo).port;
      const output = await runApp("client.mjs", {
        API_URL: `http://127.0.0.1:${port}`,
        API_TOKEN: token,
        QUERY: query,
      });
      expect(output).toEqual({ answer: "9", status: "completed" });
    } finally {
      await worker?.close({ timeoutMs: 5_000 });
      await api?.close();
      await deleteKeys(prefix);
    }
  });

  it("ship declarations that typecheck on their own, strict", async () => {
    await writeFile(
      join(app, "check.ts"),
      `import { Rlm, type RlmResult } from "rlm-queue";
import { RlmClient, type AnalysisView, RlmApiError } from "rlm-queue-client";

const rlm = new Rlm({ apiKey: "k", maxIterations: 3, budgets: { maxSubCalls: 10 } });
const result: Promise<RlmResult> = rlm.completion("q", ["a", "b"]);
const client = new RlmClient({ baseUrl: "http://localhost:3000", token: "t" });
const view: Promise<AnalysisView> = client.getAnalysis("an_x");
const code: string = new RlmApiError("x", "y", { retryable: false }).code;
// @ts-expect-error: an unknown option is a type error
new Rlm({ maxIterationz: 3 });
export { code, result, view };
`,
    );
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    await run(
      process.execPath,
      [
        tsc,
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "false",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--typeRoots",
        join(ROOT, "node_modules", "@types"),
        "--types",
        "node",
        "check.ts",
      ],
      { cwd: app, timeout: 60_000 },
    ).catch((error: { stdout?: string }) => {
      throw new Error(`tsc failed:\n${error.stdout ?? String(error)}`);
    });
  });
});
