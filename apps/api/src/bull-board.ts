import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import { createLlmQueue, createRootQueue, type QueueTopology, type RootQueue } from "@rlm/queue";
import type { FastifyInstance } from "fastify";
import { adminAuth } from "./admin-auth.js";
import type { TokenVerifier } from "./token-verifier.js";

/** Where the Bull Board UI is mounted. */
export const BULL_BOARD_PATH = "/admin/queues";

/** What `registerBullBoard` opened, for the server to close. */
export interface BullBoardHandle {
  /** The board's `rlm-root` queue, shared with the viewer's list of recent analyses. */
  rootQueue: RootQueue;
  close(): Promise<void>;
}

/**
 * Mounts Bull Board at `/admin/queues` for `rlm-root` and `rlm-llm`, behind the admin
 * authentication (Bearer header, or `?token=` then cookie: see `adminAuth`). Root
 * jobs and their sub-call children carry BullMQ parent options, so the board shows
 * each analysis as a flow tree.
 */
export function registerBullBoard(
  app: FastifyInstance,
  topology: QueueTopology,
  verifier: TokenVerifier,
): BullBoardHandle {
  const rootQueue = createRootQueue(topology);
  const llmQueue = createLlmQueue(topology);
  for (const queue of [rootQueue, llmQueue]) {
    // An unhandled 'error' event would crash the process; a Redis outage is reported
    // by /health, here it is only worth a log line.
    queue.on("error", (error) => app.log.warn({ err: error, queue: queue.name }, "queue error"));
  }
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(rootQueue), new BullMQAdapter(llmQueue)],
    serverAdapter,
  });
  app.register(async (scope) => {
    scope.addHook("onRequest", adminAuth(verifier));
    await scope.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
  });
  return {
    rootQueue,
    async close() {
      await Promise.allSettled([rootQueue.close(), llmQueue.close()]);
    },
  };
}
