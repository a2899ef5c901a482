import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type ChatDeps, handleChatCompletion } from "./chat-completions.js";
import { type Release, sendJson } from "./http-io.js";
import { errorBody } from "./openai-format.js";
import {
  DEFAULT_SETTINGS,
  type MockLlmOptions,
  type MockLlmSettings,
  mergeSettings,
} from "./options.js";
import { createPrng, type Prng } from "./prng.js";
import { type MockLlmStats, type MockRequestRecord, RequestRecorder } from "./recorder.js";
import { MAX_BODY_BYTES, readBody } from "./request-body.js";

/** Where OpenAI clients post chat completions (base URL `…/v1`). */
const CHAT_PATH = "/v1/chat/completions";

/** A running mock LLM server. */
export interface MockLlmServer {
  /** Base URL ending in `/v1`, for `OPENAI_BASE_URL`. */
  readonly url: string;
  readonly port: number;
  /** Closes the server and every socket (keep-alive ones too); hanging requests are released. */
  stop(): Promise<void>;
  stats(): MockLlmStats;
  /** Copies of the recorded requests, in arrival order. */
  requests(): MockRequestRecord[];
  /** Forgets recorded requests and reseeds the PRNGs; settings stay. */
  reset(): void;
  /**
   * Changes settings at runtime (faults merge field by field). `port` and `host` only
   * take effect at start.
   * @throws InvalidOptionsError on an invalid value; the settings are then unchanged.
   */
  configure(options: MockLlmOptions): MockLlmSettings;
  /** The settings in effect. */
  settings(): MockLlmSettings;
}

/**
 * Starts an OpenAI-compatible mock LLM on loopback that plays scripted RLM strategies.
 * Endpoints: `POST /v1/chat/completions`, `GET /v1/models`, `GET /health`, and the
 * control routes `GET /_mock/stats`, `GET /_mock/requests`, `POST /_mock/reset`,
 * `GET|POST /_mock/config`. Any Authorization header is accepted. Served by node:http
 * (keep-alive; a body over 256 MB is answered 413).
 *
 * @throws InvalidOptionsError on invalid options; rejects if the port cannot be bound.
 */
export async function startMockLlmServer(options: MockLlmOptions = {}): Promise<MockLlmServer> {
  let settings = mergeSettings(DEFAULT_SETTINGS, options);
  let faultPrng: Prng = createPrng(settings.seed, "faults");
  let jitterPrng: Prng = createPrng(settings.seed, "jitter");
  const reseed = () => {
    faultPrng = createPrng(settings.seed, "faults");
    jitterPrng = createPrng(settings.seed, "jitter");
  };
  const recorder = new RequestRecorder();
  // Requests waiting (latency, hang): released when the server stops.
  const waiting = new Set<Release>();
  let stopping = false;
  const onStop = (release: Release) => {
    if (stopping) release.release();
    else waiting.add(release);
    return () => waiting.delete(release);
  };
  const seenModels = new Set<string>(["mock-root", "mock-sub"]);

  const configure = (patch: unknown): MockLlmSettings => {
    const next = mergeSettings(settings, patch);
    const seedChanged = next.seed !== settings.seed;
    settings = { ...next, port: settings.port, host: settings.host };
    if (seedChanged) reseed();
    return settings;
  };

  // One set of dependencies for every chat request (they read the current settings).
  const chatDeps: ChatDeps = {
    settings: () => settings,
    faultRandom: () => faultPrng,
    jitterRandom: () => jitterPrng,
    recorder,
    onStop,
  };
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // The usual path as is; anything else through URL (query strings, trailing slashes).
    const path =
      req.url === CHAT_PATH
        ? CHAT_PATH
        : new URL(req.url ?? "/", "http://mock").pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";
    if (method === "POST" && (path === CHAT_PATH || path === "/chat/completions")) {
      const body = await readBody(req);
      if (body === undefined) return sendTooLarge(res);
      return handleChatCompletion(body, res, chatDeps);
    }
    if (method === "GET" && path === "/health") return sendJson(res, 200, { status: "ok" });
    if (method === "GET" && (path === "/v1/models" || path === "/models")) {
      for (const record of recorder.list()) seenModels.add(record.model);
      const created = Math.floor(Date.now() / 1000);
      const data = [...seenModels].map((id) => ({
        id,
        object: "model",
        created,
        owned_by: "rlm-mock",
      }));
      return sendJson(res, 200, { object: "list", data });
    }
    if (method === "GET" && path === "/_mock/stats") return sendJson(res, 200, recorder.stats());
    if (method === "GET" && path === "/_mock/requests") return sendJson(res, 200, recorder.list());
    if (method === "POST" && path === "/_mock/reset") {
      recorder.clear();
      reseed();
      return sendJson(res, 200, { ok: true });
    }
    if (path === "/_mock/config" && method === "GET") return sendJson(res, 200, settings);
    if (path === "/_mock/config" && method === "POST") {
      const body = await readBody(req);
      if (body === undefined) return sendTooLarge(res);
      const text = body.toString("utf8");
      try {
        return sendJson(res, 200, configure(text.trim().length === 0 ? {} : JSON.parse(text)));
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return sendJson(res, 400, errorBody(detail, "invalid_request_error", "invalid_options"));
      }
    }
    sendJson(
      res,
      404,
      errorBody(`No route ${method} ${path}`, "invalid_request_error", "not_found"),
    );
  };

  // Idle keep-alive connections are kept 30 s (node's default is 5 s), as hosted providers
  // keep them for minutes: with 5 s, the benchmarks' clients reconnected a whole fan-out's
  // connections between two analyses (100 connects per pair at N=1000, C=100).
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    route(req, res).catch((error: unknown) => {
      const detail = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) sendJson(res, 500, errorBody(detail, "server_error", null));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(settings.host)}:${port}/v1`;
  let stopped: Promise<void> | undefined;

  return {
    url,
    port,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        stopping = true;
        for (const release of waiting) release.release();
        waiting.clear();
        server.close(() => resolve());
        // Idle keep-alive sockets and hanging requests go too.
        server.closeAllConnections();
      });
      return stopped;
    },
    stats: () => recorder.stats(),
    requests: () => recorder.list(),
    reset() {
      recorder.clear();
      reseed();
    },
    configure: (patch) => configure(patch),
    settings: () => settings,
  };
}

function sendTooLarge(res: ServerResponse): void {
  sendJson(
    res,
    413,
    errorBody(`The request body is over ${MAX_BODY_BYTES} bytes.`, "invalid_request_error", null),
    // The rest of the body is not read: the connection cannot take another request.
    { connection: "close" },
  );
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}
