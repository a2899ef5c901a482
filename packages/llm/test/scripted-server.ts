import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the server received. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

/** How the server answers one request. */
export type Reply = (response: ServerResponse, request: RecordedRequest) => void;

/**
 * A real HTTP server on 127.0.0.1 that answers requests from a script, one reply per
 * request in order (the last reply repeats), and records what it received.
 */
export interface ScriptedServer {
  /** The base URL to give the client, `http://127.0.0.1:PORT/v1`. */
  baseURL: string;
  requests: RecordedRequest[];
  /** Replaces the script. */
  script(...replies: Reply[]): void;
  /** Resolves when the server has received `count` requests in total. */
  waitForRequests(count: number): Promise<void>;
  /** TCP connections accepted so far (keep-alive reuses one). */
  connections(): number;
  close(): Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  let replies: Reply[] = [];
  const requests: RecordedRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = createServer(async (incoming, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const recorded: RecordedRequest = {
      method: incoming.method ?? "",
      url: incoming.url ?? "",
      headers: incoming.headers,
      body: text === "" ? undefined : JSON.parse(text),
    };
    const index = requests.length;
    requests.push(recorded);
    for (const waiter of waiters.filter((candidate) => candidate.count <= requests.length)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    const reply = replies[Math.min(index, replies.length - 1)];
    if (reply === undefined) {
      json(500, { error: { message: "no reply scripted" } })(response, recorded);
      return;
    }
    reply(response, recorded);
  });
  let connections = 0;
  server.on("connection", () => {
    connections += 1;
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    script(...next) {
      replies = next;
    },
    connections: () => connections,
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      // Hanging replies keep sockets open; close them or close() never returns.
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

/** A JSON reply. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return (response) => {
    response.writeHead(status, { "content-type": "application/json", ...headers });
    response.end(JSON.stringify(body));
  };
}

/** A raw reply with the given content type. */
export function raw(status: number, body: string, contentType = "application/json"): Reply {
  return (response) => {
    response.writeHead(status, { "content-type": contentType });
    response.end(body);
  };
}

/** A reply that never comes. */
export function hang(): Reply {
  return () => {};
}

/** Headers, then a body that never finishes. */
export function headersThenHang(): Reply {
  return (response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.write('{"id":"chatcmpl-1",');
  };
}

/** A successful chat completion. */
export function completion(
  fields: {
    content?: string | null;
    model?: string;
    usage?: Record<string, unknown> | null;
    finishReason?: string;
  } = {},
): Reply {
  const usage =
    fields.usage === null
      ? undefined
      : (fields.usage ?? { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
  return json(200, {
    id: "chatcmpl-test",
    object: "chat.completion",
    created: 1_700_000_000,
    model: fields.model ?? "gpt-4o-mini-2024-07-18",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: fields.content === undefined ? "hello" : fields.content,
        },
        finish_reason: fields.finishReason ?? "stop",
      },
    ],
    ...(usage === undefined ? {} : { usage }),
  });
}

/** OpenAI's error body shape. */
export function errorBody(
  message: string,
  code: string | null = null,
  type = "invalid_request_error",
) {
  return { error: { message, type, param: null, code } };
}

/** One `chat.completion.chunk` of a stream. */
export function chunk(
  delta: Record<string, unknown>,
  fields: { finishReason?: string | null; usage?: Record<string, unknown>; model?: string } = {},
): Record<string, unknown> {
  return {
    id: "chatcmpl-stream",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: fields.model ?? "gpt-4o-mini-2024-07-18",
    choices: [{ index: 0, delta, finish_reason: fields.finishReason ?? null }],
    ...(fields.usage === undefined ? {} : { usage: fields.usage }),
  };
}

/**
 * A server-sent event stream: each event as a `data:` line, then `data: [DONE]` unless
 * `done` is false; with `hangAfter`, the stream stops there and never ends.
 */
export function sse(
  events: unknown[],
  options: { done?: boolean; hangAfter?: number } = {},
): Reply {
  return (response) => {
    response.writeHead(200, { "content-type": "text/event-stream" });
    const sent = options.hangAfter === undefined ? events : events.slice(0, options.hangAfter);
    for (const event of sent) {
      response.write(`data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`);
    }
    if (options.hangAfter !== undefined) return;
    response.end(options.done === false ? "" : "data: [DONE]\n\n");
  };
}
