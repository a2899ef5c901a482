import type { RlmResult } from "@rlm/core";
import { exitCodeFor } from "../exit-code.js";
import { loadContext } from "../load-context.js";
import { loadOutputSchema } from "../load-output-schema.js";
import { modelClientOptions, proxyForLog } from "../model-client.js";
import { probeEndpoint } from "../probe-endpoint.js";
import { ProgressReporter } from "../progress.js";
import { oneLine, renderSummary, renderTrajectory } from "../render-result.js";
import { type ModelFlags, resolveRunSettings } from "../run-settings.js";
import { setup } from "../setup.js";
import { cancelOnSignals } from "../signals.js";
import { UsageError } from "../usage-error.js";

/** Options of `rlm run`, as commander parses them. */
export interface RunFlags extends ModelFlags {
  file: string;
  query: string;
  json?: boolean;
  /** Path of a JSON Schema file the answer must match. */
  outputSchema?: string;
}

/** Engine errors that mean the caller's input or options were wrong: usage errors. */
const INPUT_ERRORS = new Set(["invalid_options", "invalid_input"]);

/**
 * `rlm run`: one analysis in this process, no Redis. Validates everything that can be
 * validated locally (env, key, file, numbers) and probes the endpoint before loading
 * the engine, so a mistake costs a second, not a model call.
 *
 * @returns the exit code.
 */
export async function runCommand(flags: RunFlags): Promise<number> {
  const { env, logger } = setup();
  const settings = resolveRunSettings(flags, env);
  const context = await loadContext(flags.file);
  const outputSchema =
    flags.outputSchema === undefined ? undefined : await loadOutputSchema(flags.outputSchema);
  const { apiKey: _secret, proxy, ...shown } = settings;
  logger.debug(
    { settings: { ...shown, ...(proxy ? { proxy: proxyForLog(proxy) } : {}) }, file: flags.file },
    "run settings",
  );

  // The model client alone is light (the SDK and undici): the probe goes through it, so
  // through the proxy the run will use.
  const { createOpenAIModelClient } = await import("@rlm/llm");
  const modelClient = createOpenAIModelClient(modelClientOptions(settings));
  await probeEndpoint(modelClient);
  logger.debug({ baseURL: settings.baseURL }, "model endpoint reachable");

  // Loaded here, not at the top: the engine pulls in isolated-vm, which `--help` and the
  // usage errors above have no need to load.
  const { Rlm, priceFor, DEFAULT_PRICES } = await import("rlm-queue");
  const { resolveEngineOptions } = await import("@rlm/core");
  if (settings.budgets?.maxCostUsd !== undefined) {
    // A model without a price costs 0 in the totals: the cost budget would not bound it.
    const models = resolveEngineOptions({
      ...(settings.rootModel === undefined ? {} : { rootModel: settings.rootModel }),
      ...(settings.subModel === undefined ? {} : { subModel: settings.subModel }),
    });
    const table = { ...DEFAULT_PRICES, ...settings.prices };
    const unpriced = [...new Set([models.rootModel, models.subModel])].filter(
      (model) => priceFor(model, table) === undefined,
    );
    if (unpriced.length > 0) {
      process.stderr.write(
        `warning: no known price for ${unpriced.join(", ")}: --max-cost-usd does not count ${unpriced.length === 1 ? "its" : "their"} calls (set RLM_PRICES)\n`,
      );
    }
  }
  const controller = new AbortController();
  const progress = new ProgressReporter(process.stderr);
  const release = cancelOnSignals(controller, {
    onFirst: () => {
      progress.finish();
      process.stderr.write("stopping… (press Ctrl-C again to quit at once)\n");
    },
  });
  let result: RlmResult;
  try {
    // The endpoint's settings are the model client's; the rest is the engine's.
    const { baseURL: _url, prices: _prices, timeoutMs: _timeout, ...engine } = shown;
    // On a terminal the root model's answer is streamed, so the status line shows it arriving.
    const rlm = new Rlm({
      ...engine,
      modelClient,
      signal: controller.signal,
      streamRootTurns: progress.live,
    });
    result = await rlm.completion(flags.query, context, {
      ...(outputSchema === undefined ? {} : { outputSchema }),
      onEvent: (event) => {
        logger.trace({ event }, "engine event");
        progress.onEvent(event);
      },
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && INPUT_ERRORS.has(code)) {
      throw new UsageError((error as Error).message);
    }
    throw error;
  } finally {
    progress.finish();
    release();
  }
  logger.debug(
    { finishReason: result.finishReason, iterations: result.iterations, calls: result.totalCalls },
    "analysis finished",
  );

  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else if (result.finishReason !== "error" || result.replHistory.length > 0) {
    process.stdout.write(`${renderTrajectory(result)}\n${renderSummary(result)}`);
  }
  if (result.error !== undefined && result.finishReason !== "final") {
    process.stderr.write(`error: ${oneLine(result.error.message)}\n`);
  }
  return exitCodeFor(result);
}
