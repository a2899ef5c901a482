import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import {
  bullmqOptions,
  createLlmQueue,
  createRootQueue,
  createWebhookQueue,
  type QueueTopology,
} from "@rlm/queue";
import { FlowProducer } from "bullmq";
import type { FastifyInstance, onRequestAsyncHookHandler } from "fastify";
import { adminAuth } from "./admin-auth.js";
import { ApiErrorCode, errorBody } from "./api-error.js";
import { boardJobData, boardUiConfig, viewerLinkOf } from "./bull-board-config.js";
import type { RedisGuard } from "./redis-guard.js";
import { type CspDirectives, cspHeader, registerSecurityHeaders } from "./security-headers.js";
import type { TokenVerifier } from "./token-verifier.js";

/** Where the Bull Board UI is mounted. */
export const BULL_BOARD_PATH = "/admin/queues";

/**
 * The policy of Bull Board's pages: its own scripts, styles and images only. Its page
 * links a Google Fonts stylesheet; our machines may be offline and a dashboard has no
 * business telling a font host who looks at it, so the browser is told not to load it
 * (the theme's fonts are the system's, see `boardUiConfig`). Inline styles stay allowed:
 * its React UI sets style attributes.
 */
export const BULL_BOARD_CSP: CspDirectives = {
  "default-src": ["'self'"],
  "script-src": ["'self'"],
  "style-src": ["'self'", "'unsafe-inline'"],
  "font-src": ["'self'", "data:"],
  "img-src": ["'self'", "data:"],
  "connect-src": ["'self'"],
  "base-uri": ["'self'"],
  "form-action": ["'self'"],
  "frame-ancestors": ["'none'"],
};

/** `BULL_BOARD_CSP` as the header carries it. */
export const BULL_BOARD_POLICY = cspHeader(BULL_BOARD_CSP);

/** Options of `registerBullBoard`. */
export interface BullBoardOptions {
  /**
   * Let the board change state: retry, clean, promote, pause, remove jobs
   * (`RLM_BOARD_WRITE=1`). Default false: the board only shows.
   */
  write?: boolean;
  /** Answers 503 while Redis is disconnected, before the board tries. */
  guard?: Pick<RedisGuard, "refuseWhileDisconnected">;
}

/** What `registerBullBoard` opened, for the server to close. */
export interface BullBoardHandle {
  /** Reads an analysis's job tree for the viewer (`FlowProducer.getFlow`). */
  flows: FlowProducer;
  close(): Promise<void>;
}

/**
 * Mounts Bull Board at `/admin/queues` for `rlm-root`, `rlm-llm` and `rlm-webhooks`, behind the admin
 * authentication (Bearer header, or `?token=` then a signed cookie; state-changing
 * requests only from this site's pages or with the header: see `adminAuth`) and the
 * security headers of every page of the API (helmet, the CSP above). Read-only unless
 * `write`: the queues are registered in Bull Board's `readOnlyMode` (its UI hides the
 * buttons, its API answers 405) and any request that is not a read is refused here
 * first (403). Root jobs and their sub-call children carry BullMQ parent options, so the
 * board shows each analysis as a flow tree. Every job links to its analysis in the
 * trajectory viewer, and the board's menu links to the viewer's list.
 */
export function registerBullBoard(
  app: FastifyInstance,
  topology: QueueTopology,
  verifier: TokenVerifier,
  options: BullBoardOptions = {},
): BullBoardHandle {
  const readOnlyMode = options.write !== true;
  const rootQueue = createRootQueue(topology);
  const llmQueue = createLlmQueue(topology);
  const webhookQueue = createWebhookQueue(topology);
  const flows = new FlowProducer(bullmqOptions(topology));
  // An unhandled 'error' event would crash the process; a Redis outage is reported by
  // /health, here it is only worth a log line.
  const logError = (error: Error) => app.log.warn({ err: error }, "bull board queue error");
  rootQueue.on("error", logError);
  llmQueue.on("error", logError);
  webhookQueue.on("error", logError);
  flows.on("error", logError);
  const adapters = [
    new BullMQAdapter(rootQueue, {
      description: "Analyses: the iteration loop of each root analysis and of each nested one.",
      externalJobUrl: viewerLinkOf,
      readOnlyMode,
    }),
    new BullMQAdapter(llmQueue, {
      description: "Sub-calls: each job is a batch of plain model calls issued by one cell.",
      externalJobUrl: viewerLinkOf,
      readOnlyMode,
    }),
    new BullMQAdapter(webhookQueue, {
      description:
        "Webhook deliveries: one per analysis that asked for one, waiting for its root job " +
        "(its child) to end, then tried with backoff until the receiver answers 2xx.",
      externalJobUrl: viewerLinkOf,
      readOnlyMode,
    }),
  ];
  for (const adapter of adapters) adapter.setFormatter("data", boardJobData);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: adapters, serverAdapter, options: { uiConfig: boardUiConfig() } });
  app.register(async (scope) => {
    await registerSecurityHeaders(scope, BULL_BOARD_CSP);
    scope.addHook("onRequest", adminAuth(verifier));
    if (readOnlyMode) scope.addHook("onRequest", refuseChanges);
    if (options.guard) scope.addHook("onRequest", options.guard.refuseWhileDisconnected);
    scope.addHook("onSend", async (_request, reply, payload) => {
      const type = String(reply.getHeader("content-type") ?? "");
      if (!type.startsWith("text/html")) return payload;
      return typeof payload === "string" ? withoutFontLinks(payload) : payload;
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
  });
  return {
    flows,
    async close() {
      await Promise.allSettled([
        rootQueue.close(),
        llmQueue.close(),
        webhookQueue.close(),
        flows.close(),
      ]);
    },
  };
}

/** The read-only board's answer to anything but a read. */
const refuseChanges: onRequestAsyncHookHandler = async (request, reply) => {
  if (request.method === "GET" || request.method === "HEAD") return;
  return reply
    .code(403)
    .send(
      errorBody(
        ApiErrorCode.forbidden,
        "Bull Board is read-only: start the API with RLM_BOARD_WRITE=1 to retry, clean or promote jobs",
      ),
    );
};

/**
 * Bull Board's page without its links to font hosts: the CSP already stops the browser
 * from loading them, this spares it the attempt (and the console its CSP violation).
 * Anything the pattern misses in a later version is still blocked by the policy.
 */
export function withoutFontLinks(html: string): string {
  return html.replace(
    /<link\b[^>]*\bhref="https:\/\/fonts\.(?:googleapis|gstatic)\.com[^>]*>/gi,
    "",
  );
}
