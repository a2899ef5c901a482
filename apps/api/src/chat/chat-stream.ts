import type { ServerResponse } from "node:http";
import type { AnalysisEvent, AnalysisProgress, AnalysisView } from "@rlm/queue";
import type { FastifyBaseLogger } from "fastify";
import type { EventHub } from "../event-hub.js";
import { write } from "../event-stream.js";
import {
  type CompletionIdentity,
  completedResult,
  finishReasonOf,
  rlmExtension,
  usageOf,
} from "./completion-body.js";
import { followAnalysis } from "./follow-analysis.js";
import { OpenAiError, toOpenAiError } from "./openai-errors.js";

/** Characters of the answer per chunk: the answer arrives whole, it is sent in pieces. */
export const ANSWER_CHUNK_CHARS = 1_024;

/** Options of `streamCompletion`. */
export interface StreamCompletionOptions {
  identity: CompletionIdentity;
  analysisId: string;
  events: EventHub;
  /** `stream_options.include_usage`: a last chunk with the usage and no choices. */
  includeUsage: boolean;
  heartbeatMs: number;
  /** The analysis's view once it has ended. */
  readView(): Promise<AnalysisView | null>;
  /** The client went away before the end. */
  onClientGone(): void;
  log: FastifyBaseLogger;
}

/**
 * Streams an analysis as OpenAI's `chat.completion.chunk` events: a first chunk with the
 * assistant's role at once, the analysis's progress as SSE comments while it runs
 * (`: iteration 2/10 · sub-calls 4/9 · 5,120 tokens`: OpenAI's clients skip comments),
 * then the answer in pieces, a chunk with the finish reason, the usage chunk when asked
 * for, and `data: [DONE]`. An end that is not an answer (a failure, a cancel, a server
 * shutting down) is `data: { error }`, which OpenAI's clients raise as an APIError.
 */
export async function streamCompletion(res: ServerResponse, options: StreamCompletionOptions) {
  const { identity, analysisId, includeUsage } = options;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({
      ...identity,
      object: "chat.completion.chunk",
      system_fingerprint: null,
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    })}\n\n`;
  const delta = (content: Record<string, unknown>, finishReason: string | null = null) =>
    chunk([{ index: 0, delta: content, finish_reason: finishReason, logprobs: null }]);

  const controller = new AbortController();
  const onClose = () => {
    if (res.writableEnded) return;
    controller.abort();
    options.onClientGone();
  };
  res.on("close", onClose);
  const heartbeat = setInterval(() => {
    if (!res.writableEnded) res.write(": heartbeat\n\n");
  }, options.heartbeatMs);
  try {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      "x-rlm-analysis-id": analysisId,
    });
    await write(res, delta({ role: "assistant", content: "" }));
    let last = "";
    const end = await followAnalysis(
      options.events,
      analysisId,
      async (event) => {
        const line = progressLine(event);
        if (line === undefined || line === last) return;
        last = line;
        await write(res, `: ${line}\n\n`);
      },
      controller.signal,
    );
    if (end === "closed") return;
    if (end === "shutdown") {
      throw new OpenAiError(
        503,
        "server_error",
        "shutting_down",
        `the server is shutting down; analysis ${analysisId} goes on: GET /v1/analyses/${analysisId}`,
      );
    }
    const view = await options.readView();
    if (view === null) {
      throw new OpenAiError(500, "server_error", "not_found", `analysis ${analysisId} is gone`);
    }
    const result = completedResult(view);
    for (let i = 0; i < result.answer.length; i += ANSWER_CHUNK_CHARS) {
      await write(res, delta({ content: result.answer.slice(i, i + ANSWER_CHUNK_CHARS) }));
    }
    await write(res, delta({}, finishReasonOf(result)));
    if (includeUsage) {
      await write(
        res,
        chunk([], { usage: usageOf(result), rlm: rlmExtension(analysisId, result) }),
      );
    }
    await write(res, "data: [DONE]\n\n");
  } catch (error) {
    const answer = toOpenAiError(error);
    if (answer.statusCode >= 500) options.log.warn({ err: error, analysisId }, "stream ended");
    // The status line is long gone: the error goes in-band, as OpenAI's streams send one.
    await write(res, `data: ${JSON.stringify(answer.body)}\n\n`);
  } finally {
    clearInterval(heartbeat);
    res.off("close", onClose);
    if (!res.writableEnded) res.end();
  }
}

/** A progress comment's text for an event, or undefined for events that say nothing new. */
export function progressLine(event: AnalysisEvent): string | undefined {
  if (event.type === "status") return `status ${event.status}`;
  if (event.type === "progress") return describeProgress(event.progress);
  return undefined;
}

function describeProgress(progress: AnalysisProgress): string {
  const parts = [`iteration ${progress.iteration}/${progress.maxIterations}`];
  if (progress.subCallsTotal > 0) {
    parts.push(`sub-calls ${progress.subCallsDone}/${progress.subCallsTotal}`);
  }
  const tokens = progress.inputTokens + progress.outputTokens;
  if (tokens > 0) parts.push(`${tokens.toLocaleString("en")} tokens`);
  return parts.join(" · ");
}
