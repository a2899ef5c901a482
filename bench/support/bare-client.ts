import http from "node:http";
import type { ChatMessage, ModelClient, ModelRequest } from "@rlm/core";

/** One model call of an analysis: its model and messages as the engine sent them. */
export interface RecordedCall {
  model: string;
  messages: Array<{ role: ChatMessage["role"]; content: string }>;
}

/**
 * The calls of an analysis in the order they leave, grouped as they depend on each
 * other: a root turn is a group of one (the next one needs its answer), and the sub-calls
 * between two root turns are one fan-out group (all known at once).
 */
export type CallGroups = RecordedCall[][];

/**
 * Wraps a model client so that it records every request (model and messages, without
 * `contentParts`); `groups()` cuts them into {@link CallGroups}, a call counting as a
 * sub-call when its model is `subModel`. Gates pass through, so the analysis runs as it
 * would unwrapped.
 */
export function recordingClient(
  inner: ModelClient,
  subModel: string,
): ModelClient & { groups(): CallGroups } {
  const calls: RecordedCall[] = [];
  return {
    ...(inner.honoursGate === undefined ? {} : { honoursGate: inner.honoursGate }),
    ...(inner.reportsSent === undefined ? {} : { reportsSent: inner.reportsSent }),
    complete(request: ModelRequest) {
      calls.push({
        model: request.model,
        messages: request.messages.map(({ role, content }) => ({ role, content })),
      });
      return inner.complete(request);
    },
    groups() {
      const groups: CallGroups = [];
      let fanOut: RecordedCall[] | undefined;
      for (const call of calls) {
        if (call.model !== subModel) {
          fanOut = undefined;
          groups.push([call]);
        } else if (fanOut) {
          fanOut.push(call);
        } else {
          fanOut = [call];
          groups.push(fanOut);
        }
      }
      return groups;
    },
  };
}

/**
 * Posts chat requests with node:http and one keep-alive `http.Agent`, nothing else: each
 * answer is read whole and parsed. The sender of figure 1's floor and of figure 8's.
 */
export class BarePoster {
  readonly #agent = new http.Agent({ keepAlive: true });
  readonly #target: URL;

  /** `baseURL`: the OpenAI-compatible base URL (`…/v1`). */
  constructor(baseURL: string) {
    this.#target = new URL(`${baseURL.replace(/\/+$/, "")}/chat/completions`);
  }

  /** Posts `body` (JSON); resolves once the answer has arrived whole and parsed. */
  post(body: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          method: "POST",
          hostname: this.#target.hostname,
          port: this.#target.port,
          path: this.#target.pathname,
          agent: this.#agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            authorization: "Bearer bench",
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (response.statusCode !== 200) {
              reject(new Error(`bare client: status ${response.statusCode}: ${text}`));
              return;
            }
            resolve(JSON.parse(text));
          });
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/**
 * The floor of figure 1: the same calls as an analysis, sent with plain node:http (one
 * keep-alive `http.Agent`, {@link BarePoster}) and nothing else: no engine, no SDK, no
 * retries. Each request is `JSON.stringify` of model and messages; each answer is read
 * whole and parsed. Groups go one after another; a fan-out keeps `concurrency` requests in
 * flight, the next one leaving as an answer arrives (as the engine's gate does).
 */
export class BareClient {
  readonly #poster: BarePoster;

  /** `baseURL`: the OpenAI-compatible base URL (`…/v1`). */
  constructor(baseURL: string) {
    this.#poster = new BarePoster(baseURL);
  }

  /** Sends every group; resolves with the wall time in ms. */
  async replay(groups: CallGroups, concurrency: number): Promise<number> {
    const started = performance.now();
    for (const group of groups) {
      let next = 0;
      const lane = async () => {
        while (next < group.length) {
          const call = group[next++]!;
          await this.#poster.post(JSON.stringify({ model: call.model, messages: call.messages }));
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, group.length) }, lane));
    }
    return performance.now() - started;
  }

  close(): void {
    this.#poster.close();
  }
}
