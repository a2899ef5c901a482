// The floor every fan-out figure is compared with: the same model requests an analysis
// sends, replayed by a bare `node:http` client (keep-alive agent, no SDK, no engine):
// root turns one after another, each run of sub-calls between two root turns with at
// most C in flight. The requests are recorded once from an in-process analysis.
import http from "node:http";
import type { ChatMessage, ModelClient, ModelRequest } from "@rlm/core";
import { createOpenAIModelClient } from "@rlm/llm";
import { Rlm } from "rlm-queue";
import { MOCK_MODELS } from "./bench-context.js";

/** One recorded request: its body and whether it is a sub-call. */
export interface RecordedRequest {
  sub: boolean;
  body: string;
}

/** Records the requests one in-process analysis of `query` over `text` sends to `url`. */
export async function recordRequests(
  url: string,
  query: string,
  text: string,
  concurrency: number,
): Promise<RecordedRequest[]> {
  const inner = createOpenAIModelClient({ baseURL: url, apiKey: "bench" });
  const recorded: RecordedRequest[] = [];
  const recording: ModelClient = {
    complete(request: ModelRequest) {
      recorded.push({
        sub: request.model === MOCK_MODELS.subModel,
        body: JSON.stringify({ model: request.model, messages: plain(request.messages) }),
      });
      return inner.complete(request);
    },
  };
  const rlm = new Rlm({ modelClient: recording, ...MOCK_MODELS, subConcurrency: concurrency });
  await rlm.completion(query, text);
  return recorded;
}

function plain(messages: ChatMessage[]): Array<{ role: string; content: string }> {
  return messages.map((message) => ({ role: message.role, content: message.content }));
}

/** Sends `requests` as an analysis would; resolves with the wall time in ms. */
export async function replayBare(
  url: string,
  requests: RecordedRequest[],
  concurrency: number,
): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(`${url.replace(/\/$/, "")}/chat/completions`);
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(
        target,
        {
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            authorization: "Bearer bench",
          },
        },
        (response) => {
          response.on("data", () => undefined);
          response.on("end", () =>
            response.statusCode === 200
              ? resolve()
              : reject(new Error(`bare client: HTTP ${response.statusCode}`)),
          );
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  const started = performance.now();
  try {
    for (let index = 0; index < requests.length;) {
      const first = requests[index]!;
      if (!first.sub) {
        await post(first.body);
        index += 1;
        continue;
      }
      let end = index;
      while (end < requests.length && requests[end]!.sub) end += 1;
      const wave = requests.slice(index, end);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, wave.length) }, async () => {
          while (next < wave.length) await post(wave[next++]!.body);
        }),
      );
      index = end;
    }
    return performance.now() - started;
  } finally {
    agent.destroy();
  }
}
