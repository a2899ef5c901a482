import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { openCluster } from "@rlm/queue";
import type { Cluster } from "ioredis";
import { deleteKeysUnder } from "../../packages/queue/test/redis-helpers.js";
import { freePorts, waitForPing } from "./redis-server-process.js";
import type { TestRedis } from "./test-redis.js";

const run = promisify(execFile);

/** Masters of the test cluster. */
const MASTERS = 3;

/**
 * True when `redis-server` (7.0 or newer: `--cluster-port`, sharded pub/sub) and
 * `redis-cli` can be run here; the cluster leg needs both (.ci/run installs them).
 */
export function canStartRedisCluster(): boolean {
  const server = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  const major = Number(/v=(\d+)\./.exec(server.stdout ?? "")?.[1] ?? 0);
  return server.status === 0 && major >= 7 && spawnSync("redis-cli", ["--version"]).status === 0;
}

/** A real Redis Cluster of three masters on loopback ports, for the cluster leg of the tests. */
export interface TestRedisCluster extends TestRedis {
  /** `host:port` of every master, as `REDIS_CLUSTER_NODES` takes them. */
  nodes: Array<{ host: string; port: number }>;
  /** `REDIS_CLUSTER_NODES` for this cluster. */
  nodesSetting: string;
  /** The cluster client of the test's own process (closed by `destroy`). */
  shared: Cluster;
  /** A new cluster client (the caller closes it). */
  client(): Cluster;
  /** Which master holds `key` (its port). */
  masterOf(key: string): Promise<number>;
  /** Stops the servers and deletes their data. */
  destroy(): Promise<void>;
}

/**
 * Starts three `redis-server --cluster-enabled yes` on free ports and joins them with
 * `redis-cli --cluster create … --cluster-replicas 0`; resolves once every node says
 * `cluster_state:ok` (about 2 s). Each node's cluster bus gets a free port of its own
 * (`--cluster-port`): the default, port + 10000, may be out of range or taken.
 * `password`: every node requires it (`requirepass`, the default user's).
 */
export async function startRedisCluster(
  options: { password?: string } = {},
): Promise<TestRedisCluster> {
  const { password } = options;
  const auth = password === undefined ? [] : ["-a", password, "--no-auth-warning"];
  const dir = await mkdtemp(join(tmpdir(), "rlm-cluster-"));
  const ports = await freePorts(2 * MASTERS);
  const clientPorts = ports.slice(0, MASTERS);
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => killed(child)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    clientPorts.forEach((port, index) => {
      children.push(
        spawn(
          "redis-server",
          [
            ...["--port", String(port), "--bind", "127.0.0.1"],
            ...["--cluster-enabled", "yes", "--cluster-port", String(ports[MASTERS + index])],
            ...["--cluster-config-file", join(dir, `nodes-${port}.conf`), "--dir", dir],
            ...["--save", "", "--appendonly", "no"],
            ...(password === undefined
              ? []
              : ["--requirepass", password, "--masterauth", password]),
          ],
          { stdio: "ignore" },
        ),
      );
    });
    await Promise.all(clientPorts.map((port) => waitForPing(port, password)));
    await run("redis-cli", [
      ...auth,
      "--cluster",
      "create",
      ...clientPorts.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    await Promise.all(clientPorts.map((port) => waitForClusterOk(port, auth)));
  } catch (error) {
    await stop();
    throw error;
  }
  const nodes = clientPorts.map((port) => ({ host: "127.0.0.1", port }));
  const client = () => openCluster({ nodes, ...(password === undefined ? {} : { password }) });
  const shared = client();
  return {
    nodes,
    nodesSetting: nodes.map(({ host, port }) => `${host}:${port}`).join(","),
    shared,
    client,
    connection: () => shared,
    workerEnv: () => ({
      TEST_CLUSTER_NODES: nodes.map((n) => `${n.host}:${n.port}`).join(","),
      ...(password === undefined ? {} : { TEST_CLUSTER_PASSWORD: password }),
    }),
    deleteKeys: (prefix) => deleteKeysUnder(shared, prefix),
    async masterOf(key: string) {
      const slot = Number(await shared.call("CLUSTER", "KEYSLOT", key));
      // CLUSTER SLOTS: [start, end, [host, port, id], …replicas] per range.
      const ranges = (await shared.call("CLUSTER", "SLOTS")) as Array<
        [number, number, [string, number, ...unknown[]]]
      >;
      const range = ranges.find(([start, end]) => slot >= start && slot <= end);
      if (!range) throw new Error(`no master serves slot ${slot}`);
      return Number(range[2][1]);
    },
    async destroy() {
      shared.disconnect();
      await stop();
    },
  };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

async function waitForClusterOk(port: number, auth: string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { stdout } = await run("redis-cli", [...auth, "-p", String(port), "cluster", "info"]);
    if (stdout.includes("cluster_state:ok")) return;
    if (Date.now() > deadline) throw new Error("the cluster did not reach cluster_state:ok");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
