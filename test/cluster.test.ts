import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type MockLlmServer, startMockLlmServer } from "@rlm/mock-llm";
import { createApiServer } from "@rlm/api";
import {
  redisKeys,
  RlmQueueClient,
  type RlmWorker,
  startRlmWorker,
  type WorkerRole,
} from "@rlm/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LuaScript } from "../packages/queue/src/storage/lua-script.js";
import { keysUnder, within } from "../packages/queue/test/redis-helpers.js";
import { luaScripts } from "../packages/queue/src/storage/lua-scripts.js";
import { readSse } from "../apps/api/test/sse-reader.js";
import { WebhookReceiver } from "../apps/api/test/webhook-receiver.js";
import { newSecret, verifyDelivery } from "../apps/api/src/webhooks/signature.js";
import { cleanEnv, lines, REPO_ROOT, runCli, trackCli } from "../apps/cli/test/support/run-cli.js";
import { makeDocument } from "./support/documents.js";
import {
  cancelStopsRunning,
  fanOutAcrossTwoWorkers,
  idempotencyKeyDeduplicates,
  passesBudgetsDown,
  survivesSigkills,
} from "./support/queue-scenarios.js";
import { queueTestbed } from "./support/queue-testbed.js";
import {
  canStartRedisCluster,
  startRedisCluster,
  type TestRedisCluster,
} from "./support/redis-cluster.js";

const REPORT = join(REPO_ROOT, "apps", "cli", "assets", "sample-report.txt");
const NEEDLE_QUERY = 'What is the "vault access code" for the Rotterdam hub?';

// The cluster leg: a real Redis Cluster of three masters on loopback ports, and the queue
// path on it (worker processes started and killed, the mock LLM over HTTP, the API, the
// CLI), with the checks the same scenarios make on one Redis. Skipped only where
// redis-server cannot be run (.ci/run installs it).
describe.skipIf(!canStartRedisCluster())("on a Redis Cluster of three masters", () => {
  let cluster: TestRedisCluster;
  // Registered first: the cluster starts before the testbed's hooks and stops after them.
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 30_000);
  afterAll(async () => {
    await cluster?.destroy();
  });
  const bed = queueTestbed("cluster", { latencyMs: 20, strategy: "map-reduce" }, () => cluster);

  it("fans 50 sub-calls out across two worker processes, each call made once", async () => {
    await fanOutAcrossTwoWorkers(bed);
  });

  it("survives SIGKILL of workers mid-analysis with the same answer and no completed call repeated", async () => {
    await survivesSigkills(bed);
  });

  it("passes what is left of the budgets down to a nested analysis (depth 2)", async () => {
    await passesBudgetsDown(bed);
  });

  it("cancel stops a running analysis and its children", async () => {
    await cancelStopsRunning(bed);
  });

  it("an idempotency key, in a slot of its own, gives the same analysis", async () => {
    await idempotencyKeyDeduplicates(bed);
  });

  it("a session's questions run in order, the second's REPL rebuilt in another process from the first's journal", async () => {
    // The mock's session-aware habit: a later question's peek uses `text`, `history` and
    // the earlier `total`, so a REPL that did not carry over fails with a ReferenceError.
    bed.mock.configure({ chunkChars: 20_000, habits: ["session-aware"] });
    const document = makeDocument({ chars: 100_000, markerCount: 13, seed: 12 });
    const countOf = (term: string) => document.text.split(term).length - 1;
    const ask = (term: string) => ({ query: `How many times does "${term}" appear?` });
    // The session and its idempotency key lie in two slots: bound in two steps.
    const input = { context: document.text, idempotencyKey: "session-1" };
    const session = await bed.client.sessions.create(input);
    const again = await bed.client.sessions.create(input);
    expect([again.id, again.deduplicated]).toEqual([session.id, true]);
    const first = await bed.worker();
    const q1 = await bed.client.sessions.ask(session.id, ask(document.marker));
    const one = await bed.client.waitForResult(q1.id, { timeoutMs: 60_000 });
    expect(one.answer.trim()).toBe(String(countOf(document.marker)));
    first.kill("SIGKILL");
    await first.exited;
    await bed.worker();
    const q2 = await bed.client.sessions.ask(session.id, ask("warehouse"));
    const two = await bed.client.waitForResult(q2.id, { timeoutMs: 60_000 });
    expect(two.answer.trim()).toBe(String(countOf("warehouse")));
    const peek = two.replHistory[0];
    expect(peek?.error).toBeUndefined();
    expect(peek?.output).toContain("question 2 of a session; history: 1");
    expect(peek?.output).toContain(`earlier total: ${countOf(document.marker)}`);
    const view = await bed.client.sessions.get(session.id);
    expect(view?.questions.map((question) => question.status)).toEqual(["completed", "completed"]);
  });

  it("answers made in another worker reach the run live, by sharded pub/sub", async () => {
    // A prefix of its own: no analysis left by an earlier test is run here.
    const prefix = `${bed.prefix}-live`;
    const client = new RlmQueueClient({ connection: cluster.shared, prefix });
    const started: RlmWorker[] = [];
    const start = async (roles: WorkerRole[]) => {
      const worker = await startRlmWorker({
        connection: cluster.shared,
        prefix,
        roles,
        model: { baseURL: bed.mock.url, apiKey: "test-key" },
        defaults: { rootModel: "mock-root", subModel: "mock-sub" },
      });
      started.push(worker);
      return worker;
    };
    try {
      // Every call in the other process: each answer comes back over the channel.
      const roots = await start(["root"]);
      await start(["llm"]);
      bed.mock.configure({ chunkChars: 20_000 });
      const document = makeDocument({ chars: 400_000, markerCount: 17, seed: 17 });
      const before = bed.mock.requests().length;
      const { id } = await client.enqueueAnalysis({
        query: `How many times does "${document.marker}" appear?`,
        context: document.text,
      });
      const result = await client.waitForResult(id, { timeoutMs: 60_000 });
      expect(result.answer.trim()).toBe("17");
      const subRequests = bed.mock
        .requests()
        .slice(before)
        .filter((request) => request.kind === "sub");
      expect(subRequests.length).toBeGreaterThan(10);
      expect(roots.runStats()).toMatchObject({
        liveAnswers: subRequests.length,
        callsHere: 0,
        rebuilt: 0,
        parked: 0,
      });
    } finally {
      for (const worker of started) await worker.close({ timeoutMs: 5_000 });
      await client.close();
      await cluster.deleteKeys(prefix);
    }
  });

  it("spreads ten analyses' documents and journals over more than one master, each analysis's keys in one slot", async () => {
    await bed.worker();
    const analyses = await Promise.all(
      Array.from({ length: 10 }, async (_, index) => {
        const document = makeDocument({ chars: 40_000, markerCount: index + 1, seed: 100 + index });
        const { id } = await bed.client.enqueueAnalysis({
          query: `How many times does "${document.marker}" appear?`,
          context: document.text,
        });
        const result = await bed.client.waitForResult(id, { timeoutMs: 60_000 });
        expect(result.answer.trim()).toBe(String(index + 1));
        return id;
      }),
    );
    const redis = cluster.shared;
    const keys = redisKeys(bed.prefix);
    const documentMasters = new Set<number>();
    const journalMasters = new Set<number>();
    for (const id of analyses) {
      const contextRef = JSON.parse((await redis.hget(keys.analysis(id), "contextRef")) ?? "{}");
      const documentKey = keys.context(contextRef.sha256);
      expect(await redis.exists(documentKey)).toBe(1);
      expect(await redis.hlen(keys.journal(id))).toBeGreaterThan(0);
      documentMasters.add(await cluster.masterOf(documentKey));
      journalMasters.add(await cluster.masterOf(keys.journal(id)));
      // Record, events, journal and answers channel of one analysis: one slot.
      const slots = await Promise.all(
        [keys.analysis(id), keys.events(id), keys.journal(id), keys.answers(id)].map((key) =>
          redis.call("CLUSTER", "KEYSLOT", key),
        ),
      );
      expect(new Set(slots).size).toBe(1);
    }
    expect(documentMasters.size).toBeGreaterThan(1);
    expect(journalMasters.size).toBeGreaterThan(1);
  });

  it("every Lua script touches keys of one slot only (run strict, as #!lua, with the keys its callers give)", async () => {
    const keys = redisKeys(bed.prefix);
    const id = "an_aaaaaaaaaaaaaaaaaaaa";
    const session = "se_aaaaaaaaaaaaaaaaaaaa";
    const now = Date.now();
    const status = JSON.stringify({ type: "status", status: "running" });
    const progress = JSON.stringify({ subCallsDone: 1 });
    // KEYS and ARGV as the package's callers build them, one case per script.
    const cases: Record<keyof typeof luaScripts, [string[], Array<string | number>]> = {
      admitCall: [[keys.llmWindow()], [100, 1_000]],
      analysisProgress: [
        [keys.analysis(id), keys.events(id)],
        [now, 60, "{}", progress, 100, "1"],
      ],
      analysisReport: [
        [keys.analysis(id), keys.events(id)],
        [now, 60, 100, "event", "status", status, "progress", "{}", progress],
      ],
      analysisTransition: [
        [keys.analysis(id), keys.events(id), keys.journal(id)],
        [now, 60, "", "status", status, 100, keys.stops(), "", "", "status", "running"],
      ],
      contextTouch: [[keys.context("0".repeat(64))], [60]],
      journalAnswers: [[keys.journal(id)], [60, keys.answers(id), "1", "sub:1", '{"kind":"sub"}']],
      journalPut: [[keys.journal(id)], ["root:1", '{"kind":"root"}', 60]],
      recordCreate: [[keys.analysis(id)], [60, "id", id, "status", "queued", "progress", "{}"]],
      sessionAppend: [[keys.session(session)], [id, 60, now]],
      sessionEnd: [[keys.session(session)], [0, "{}", 60, now]],
    };
    expect(Object.keys(cases).sort()).toEqual(Object.keys(luaScripts).sort());
    for (const [name, [scriptKeys, args]] of Object.entries(cases)) {
      const script = luaScripts[name as keyof typeof luaScripts];
      // With a shebang Redis refuses a script that reaches a key of another slot than its
      // KEYS' (without one, only a key on another node: the check would depend on luck).
      const strict = new LuaScript(script.name, `#!lua\n${script.source}`);
      await expect(strict.run(cluster.shared, scriptKeys, args), name).resolves.toBeDefined();
    }
  });

  it("serves an analysis's events over SSE to its end, delivers its webhook, and Bull Board and the viewer see its job", async () => {
    bed.mock.configure({ chunkChars: 20_000 });
    await bed.worker();
    // The delivery job (rlm-webhooks) is the root job's parent: a flow across two queues,
    // which BullMQ runs only when both are in one slot.
    const receiver = await WebhookReceiver.start();
    const secret = newSecret();
    const app = createApiServer({
      connection: cluster.shared,
      prefix: bed.prefix,
      apiToken: "cluster-token",
      logger: false,
      webhooks: { secret, allowPrivate: true },
    });
    try {
      await app.listen({ host: "127.0.0.1", port: 0 });
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const headers = { authorization: "Bearer cluster-token" };
      const document = makeDocument({ chars: 60_000, markerCount: 4, seed: 33 });
      const posted = await fetch(`${base}/v1/analyses`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({
          query: `How many times does "${document.marker}" appear?`,
          context: document.text,
          webhook: { url: `http://127.0.0.1:${receiver.port}/hook` },
        }),
      });
      expect(posted.status).toBe(202);
      const { id } = (await posted.json()) as { id: string };
      const messages = await readSse(await fetch(`${base}/v1/analyses/${id}/events`, { headers }));
      const events = messages.flatMap((message) => (message.event ? [message.event] : []));
      expect(events[0]).toBe("status");
      expect(events.at(-1)).toBe("completed");
      // Its fan-out's progress came through too.
      const done = messages.flatMap((message) =>
        message.event === "progress"
          ? [(message.data as { progress: { subCallsDone: number } }).progress.subCallsDone]
          : [],
      );
      expect(Math.max(...done)).toBeGreaterThan(0);
      const view = (await (await fetch(`${base}/v1/analyses/${id}`, { headers })).json()) as {
        result?: { answer: string };
      };
      expect(view.result?.answer.trim()).toBe("4");
      const delivery = await within(receiver.next(), 30_000, "the webhook");
      const signed = delivery.headers as Record<string, string>;
      expect(verifyDelivery(secret, signed, delivery.body)).toBe(true);
      expect(JSON.parse(delivery.body)).toMatchObject({
        type: "analysis.completed",
        data: { id, status: "completed" },
      });
      const board = await fetch(`${base}/admin/queues/api/queues`, { headers });
      expect(board.status).toBe(200);
      const queues = ((await board.json()) as { queues: Array<{ name: string; counts: object }> })
        .queues;
      expect(queues.map((queue) => queue.name).sort()).toEqual([
        "rlm-llm",
        "rlm-root",
        "rlm-webhooks",
      ]);
      const trajectory = await fetch(`${base}/admin/api/analyses/${id}/trajectory`, { headers });
      expect(trajectory.status).toBe(200);
    } finally {
      await app.close();
      await receiver.stop();
    }
  });

  it("rlm demo runs its three analyses through the queue on the cluster", async () => {
    const run = await runCli(
      ["demo", "--latency", "5"],
      cleanEnv({ REDIS_CLUSTER_NODES: cluster.nodesSetting }),
      120_000,
    );
    expect(run.code, run.stderr).toBe(0);
    const mode = run.stdout.split("\n")[0] ?? "";
    expect(mode).toMatch(/^mode: queue \(Redis at cluster 127\.0\.0\.1:\d+,/);
    expect(run.stdout).toMatch(/✓ count\s+final/);
    expect(run.stdout).toMatch(/✓ needle\s+final/);
    expect(run.stdout).toMatch(/✓ summary\s+final/);
    // Its throw-away prefix is gone from every master.
    const prefix = mode.match(/key prefix (rlm-demo-\d+)/)?.[1];
    expect(prefix).toBeDefined();
    expect(await keysUnder(cluster.shared, prefix ?? "")).toEqual([]);
  });
});

// Credentials go to every node as REDIS_URL's do (an ACL user and TLS by the same road:
// `rediss://user:pass@`). The real CLI against a cluster whose nodes require a password.
describe.skipIf(!canStartRedisCluster())("on a Redis Cluster that requires a password", () => {
  const password = "cluster-secret-7Q";
  let cluster: TestRedisCluster;
  let mock: MockLlmServer;
  const prefix = `rlmt-cluster-auth-${process.pid}`;
  const nodes = (secret: string) =>
    cluster.nodes
      .map(({ host, port }, index) =>
        index === 0 ? `redis://:${secret}@${host}:${port}` : `${host}:${port}`,
      )
      .join(",");
  const env = (secret: string, extra: Record<string, string> = {}) =>
    cleanEnv({ REDIS_CLUSTER_NODES: nodes(secret), RLM_PREFIX: prefix, ...extra });

  beforeAll(async () => {
    cluster = await startRedisCluster({ password });
    mock = await startMockLlmServer({ latencyMs: 2 });
  }, 30_000);
  afterAll(async () => {
    await mock?.stop();
    await cluster?.destroy();
  });

  it("rlm worker, analyze and serve run on it; a wrong password is one line, exit 2", async () => {
    const worker = trackCli(
      ["worker", "--concurrency", "2", "--rate-limit", "500/s"],
      env(password, {
        OPENAI_API_KEY: "test-key",
        OPENAI_BASE_URL: mock.url,
        RLM_ROOT_MODEL: "mock-root",
        RLM_SUB_MODEL: "mock-sub",
      }),
    );
    try {
      await worker.waitFor("stderr", /worker ready/, 30_000);
      const ready = lines(worker.stderr).find((line) => line.includes("worker ready")) ?? "{}";
      expect(JSON.parse(ready).redis).toMatch(/^cluster 127\.0\.0\.1:\d+,/);
      expect(worker.stderr).not.toContain(password);
      const run = await runCli(
        ["analyze", "--file", REPORT, "--query", NEEDLE_QUERY],
        env(password),
        60_000,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/finish reason\s+final/);
      const refused = await runCli(["analyze", "--file", REPORT, "--query", "q"], env("wrong"));
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim()).toMatch(
        /^error: cannot reach Redis at cluster 127\.0\.0\.1:\d+,.*: authentication failed$/,
      );
      expect(refused.stderr).not.toContain("wrong");
      // rlm serve on the same cluster: health, an analysis through the API to its end.
      const serve = trackCli(
        ["serve", "--port", "0", "--host", "127.0.0.1"],
        env(password, { RLM_API_TOKEN: "serve-token" }),
      );
      try {
        const [, url] = await serve.waitFor("stderr", /API listening on (http:\/\/[\d.:]+)/);
        expect((await fetch(`${url}/health`)).status).toBe(200);
        const headers = { authorization: "Bearer serve-token" };
        const posted = await fetch(`${url}/v1/analyses`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ query: NEEDLE_QUERY, context: await readFile(REPORT, "utf8") }),
        });
        expect(posted.status).toBe(202);
        const { id } = (await posted.json()) as { id: string };
        const messages = await readSse(await fetch(`${url}/v1/analyses/${id}/events`, { headers }));
        expect(messages.at(-1)?.event).toBe("completed");
        serve.child.kill("SIGTERM");
        await serve.waitFor("stderr", /API server closed/, 15_000);
      } finally {
        if (serve.child.exitCode === null && serve.child.signalCode === null) {
          serve.child.kill("SIGKILL");
        }
      }
      // SIGTERM drains the worker and closes its cluster connections.
      worker.child.kill("SIGTERM");
      await worker.waitFor("stderr", /worker drained/, 30_000);
    } finally {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.child.kill("SIGKILL");
      }
    }
  });
});
