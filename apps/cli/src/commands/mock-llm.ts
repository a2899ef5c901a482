import type { StrategySetting } from "@rlm/mock-llm";
import { setup } from "../setup.js";
import { EXIT } from "../usage-error.js";

/** Options of `rlm mock-llm`. */
export interface MockLlmFlags {
  port: number;
  host: string;
  latency: number;
  jitter: number;
  strategy: StrategySetting;
  faultRate: number;
  seed?: string;
}

/**
 * `rlm mock-llm`: runs the scripted OpenAI-compatible mock until SIGINT/SIGTERM and
 * prints its URL. `--fault-rate R` makes a request fail with probability R, split evenly
 * between 429, 500, a malformed body and an empty answer (never a hang, which would only
 * stall a manual session).
 *
 * @returns the exit code, once stopped.
 */
export async function mockLlmCommand(flags: MockLlmFlags): Promise<number> {
  const { logger } = setup();
  const { startMockLlmServer } = await import("@rlm/mock-llm");
  const share = flags.faultRate / 4;
  const server = await startMockLlmServer({
    port: flags.port,
    host: flags.host,
    latencyMs: flags.latency,
    jitterMs: flags.jitter,
    strategy: flags.strategy,
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
    faults: {
      rateLimitRate: share,
      serverErrorRate: share,
      malformedRate: share,
      emptyRate: share,
    },
  });
  process.stdout.write(
    `mock LLM listening on ${server.url}\n` +
      `  export OPENAI_BASE_URL=${server.url} OPENAI_API_KEY=mock\n` +
      "press Ctrl-C to stop\n",
  );
  logger.info({ url: server.url, strategy: flags.strategy }, "mock LLM started");
  // Listeners stay attached until the server has stopped: a terminal's Ctrl-C arrives
  // twice (directly and forwarded by bin/rlm.js), and the second must not kill us mid-stop.
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  await server.stop();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  const stats = server.stats();
  logger.info({ signal, stats }, "mock LLM stopped");
  process.stderr.write(
    `stopped (${signal}) after ${stats.total} request${stats.total === 1 ? "" : "s"}\n`,
  );
  return EXIT.ok;
}
