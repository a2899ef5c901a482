/**
 * The `rlm` command. Started by `bin/rlm.js`, which re-executes Node with the flags the
 * sandbox needs and with tsx. Each command module is imported only when its command
 * runs, so `--help` and usage errors stay fast and never load the engine.
 */
import { Command, CommanderError, Option } from "commander";
import packageJson from "../package.json" with { type: "json" };
import type { AnalyzeFlags, FollowFlags } from "./commands/analyze.js";
import type { DemoFlags } from "./commands/demo.js";
import type { MockLlmFlags } from "./commands/mock-llm.js";
import type { RunFlags } from "./commands/run.js";
import type { ServeFlags } from "./commands/serve.js";
import type { WorkerFlags } from "./commands/worker.js";
import {
  httpUrl,
  nonEmpty,
  nonNegativeNumber,
  port,
  positiveInt,
  positiveNumber,
  positiveSeconds,
  probability,
  rateLimit,
  workerRoles,
} from "./parse-flags.js";
import { listenForForwardedStops } from "./signals.js";
import { watchStdout } from "./stdout-closed.js";
import { EXIT, UsageError } from "./usage-error.js";

function buildProgram(): Command {
  const program = new Command("rlm")
    .description("Recursive Language Model analyses over documents larger than any context window")
    .version(packageJson.version)
    // Throw instead of exiting, so every usage error ends in one place with exit code 2.
    .exitOverride()
    .showSuggestionAfterError(true);

  withAnalysisOptions(
    program
      .command("run")
      .description(
        "run one analysis in this process (no Redis) and print the trajectory and answer",
      ),
    "",
  )
    .option(
      "--concurrency <n>",
      "parallel model calls per analysis (env RLM_SUB_CONCURRENCY)",
      positiveInt,
    )
    .option("--base-url <url>", "OpenAI-compatible endpoint (env OPENAI_BASE_URL)", httpUrl)
    .option("--api-key <key>", "API key of the endpoint (env OPENAI_API_KEY)", nonEmpty)
    .addHelpText(
      "after",
      "\nExit codes: 0 answered (final or max_iterations), 1 analysis failed or budget ran out,\n" +
        "2 usage/configuration error (also unreachable endpoint or rejected key), 130 interrupted.",
    )
    .action(async (flags: RunFlags) => {
      const { runCommand } = await import("./commands/run.js");
      process.exitCode = await runCommand(flags);
    });

  withAnalysisOptions(
    program
      .command("analyze")
      .description(
        "enqueue one analysis through Redis, follow its progress and print the answer (needs `rlm worker`)",
      ),
    "; else the worker's",
  )
    .option(
      "--wait-timeout <s>",
      "stop waiting after this many seconds (the analysis keeps running; exit 1)",
      positiveSeconds,
    )
    .option(
      "--idempotency-key <key>",
      "the same key returns the same analysis instead of a second one",
      nonEmpty,
    )
    .addHelpText(
      "after",
      "\nCtrl-C asks whether to cancel the analysis; answering no detaches (it keeps running,\n" +
        "`rlm attach <id>` follows it again). Without a terminal, Ctrl-C detaches.\n" +
        "Exit codes: 0 answered, 1 analysis failed, budget ran out or --wait-timeout passed,\n" +
        "2 usage/configuration error (also Redis unreachable), 130 cancelled or detached.",
    )
    .action(async (flags: AnalyzeFlags) => {
      const { analyzeCommand } = await import("./commands/analyze.js");
      process.exitCode = await analyzeCommand(flags);
    });

  program
    .command("attach")
    .description("follow an analysis enqueued earlier and print its answer")
    .argument("<id>", "analysis id (printed by `rlm analyze`, returned by the API)")
    .option("--json", "print only the result object as JSON on stdout")
    .option("--wait-timeout <s>", "stop waiting after this many seconds (exit 1)", positiveSeconds)
    .action(async (id: string, flags: FollowFlags) => {
      const { attachCommand } = await import("./commands/analyze.js");
      process.exitCode = await attachCommand(id, flags);
    });

  program
    .command("worker")
    .description("run root and LM workers until SIGTERM/SIGINT, which drains them")
    .option(
      "--concurrency <n>",
      "root jobs in progress at once (env RLM_WORKER_CONCURRENCY, default 8)",
      positiveInt,
    )
    .option(
      "--llm-concurrency <n>",
      "model calls in progress at once (env RLM_LLM_CONCURRENCY, default 32)",
      positiveInt,
    )
    .option(
      "--park-after <s>",
      "seconds a root job waiting only for sub-call jobs in other workers keeps its slot before giving it up, to resume by replay (env RLM_PARK_AFTER_S, default 10)",
      positiveSeconds,
    )
    .addOption(
      new Option("--queues <list>", "queues to serve: root, llm or root,llm")
        .argParser(workerRoles)
        .default(["root", "llm"], "root,llm"),
    )
    .option(
      "--rate-limit <rate>",
      "model calls per second (N/s, N/m, N/h) across all workers (env RLM_RATE_LIMIT)",
      rateLimit,
    )
    .option(
      "--drain-timeout <s>",
      "on SIGTERM, seconds to wait for jobs in progress",
      positiveSeconds,
      30,
    )
    .option(
      "--metrics-port <port>",
      "serve Prometheus metrics at http://<metrics-host>:<port>/metrics (0 picks a free one)",
      port,
    )
    .option(
      "--metrics-host <host>",
      "interface of the metrics endpoint (no authentication: keep it where only the scraper reaches)",
      nonEmpty,
      "0.0.0.0",
    )
    .addHelpText(
      "after",
      "\nNeeds OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI endpoint) and Redis at\n" +
        "REDIS_URL (or a Redis Cluster: REDIS_CLUSTER_NODES=host:port,…). A second\n" +
        "SIGTERM/SIGINT exits at once; unfinished jobs are picked up by another worker from\n" +
        "their journal. Traces go over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT when it is set.",
    )
    .action(async (flags: WorkerFlags) => {
      const { workerCommand } = await import("./commands/worker.js");
      process.exitCode = await workerCommand(flags);
    });

  program
    .command("serve")
    .description("run the HTTP API and Bull Board (/admin/queues) until SIGTERM/SIGINT")
    .option("--port <port>", "port to listen on (env PORT, default 3000; 0 picks a free one)", port)
    .option("--host <host>", "interface to listen on", nonEmpty, "0.0.0.0")
    .addHelpText(
      "after",
      "\nNeeds RLM_API_TOKEN (clients send `Authorization: Bearer <token>`) and Redis at REDIS_URL\n" +
        "(or a Redis Cluster: REDIS_CLUSTER_NODES=host:port,…). Prometheus metrics at /metrics\n" +
        "(same token); traces over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT when it is set.",
    )
    .action(async (flags: ServeFlags) => {
      const { serveCommand } = await import("./commands/serve.js");
      process.exitCode = await serveCommand(flags);
    });

  program
    .command("demo")
    .description(
      "offline demo: three analyses of the bundled report against the mock LLM, through the queue when Redis answers",
    )
    .option("--json", "print only the results as JSON on stdout")
    .option("--in-process", "run in this process even when Redis answers")
    .option("--latency <ms>", "mock LLM latency per call", nonNegativeNumber, 30)
    .action(async (flags: DemoFlags) => {
      const { demoCommand } = await import("./commands/demo.js");
      process.exitCode = await demoCommand(flags);
    });

  program
    .command("mock-llm")
    .description("run the scripted OpenAI-compatible mock LLM until Ctrl-C")
    .option("--port <port>", "port to listen on (0 picks a free one)", port, 8787)
    .option("--host <host>", "interface to listen on", nonEmpty, "127.0.0.1")
    .option("--latency <ms>", "delay before every answer", nonNegativeNumber, 0)
    .option("--jitter <ms>", "extra random delay in [0, jitter)", nonNegativeNumber, 0)
    .addOption(
      new Option("--strategy <name>", "scripted strategy of the root model")
        .choices(["auto", "peek-grep", "needle", "map-reduce", "summarize"])
        .default("auto"),
    )
    .option(
      "--fault-rate <r>",
      "probability that a request fails (429/500/malformed/empty)",
      probability,
      0,
    )
    .option("--seed <seed>", "seed of the fault and jitter sequence", nonEmpty)
    .action(async (flags: MockLlmFlags) => {
      const { mockLlmCommand } = await import("./commands/mock-llm.js");
      process.exitCode = await mockLlmCommand(flags);
    });

  return program;
}

/** Parses `argv` and runs the command; sets `process.exitCode` (never calls exit itself). */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv], { from: "user" });
  } catch (error) {
    process.exitCode = exitCodeForError(error);
  }
}

function exitCodeForError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its one-line message (or the help text).
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message.split("\n")[0]}\n`);
  if (process.env.LOG_LEVEL === "debug" || process.env.LOG_LEVEL === "trace") {
    process.stderr.write(`${error instanceof Error ? error.stack : ""}\n`);
  }
  return EXIT.failed;
}

// `rlm … | head` closes stdout early; that is the reader's choice, not a failure.
watchStdout(() => Number(process.exitCode ?? EXIT.ok));
// Before any command's handlers: what bin/rlm.js forwards (see there).
listenForForwardedStops();

await main(process.argv.slice(2));

/**
 * The options `run` and `analyze` share: the document, the query, JSON output and the
 * model settings. `modelDefault` says where a model comes from when no flag or env sets it.
 */
function withAnalysisOptions(command: Command, modelDefault: string): Command {
  return command
    .requiredOption(
      "-f, --file <path>",
      "document to analyse (.json is parsed, anything else is text)",
      nonEmpty,
    )
    .requiredOption("-q, --query <text>", "the question to answer", nonEmpty)
    .option("--json", "print only the result object as JSON on stdout")
    .option("--root-model <name>", `root model (env RLM_ROOT_MODEL${modelDefault})`, nonEmpty)
    .option(
      "--sub-model <name>",
      `model for sub-calls (env RLM_SUB_MODEL${modelDefault})`,
      nonEmpty,
    )
    .option(
      "--max-iterations <n>",
      "root iterations before a best answer is asked for (env RLM_MAX_ITERATIONS)",
      positiveInt,
    )
    .option("--max-depth <n>", "recursion depth of sub-calls (env RLM_MAX_DEPTH)", positiveInt)
    .option("--max-sub-calls <n>", "budget: most recursiveLm calls in the analysis", positiveInt)
    .option("--max-tokens <n>", "budget: most input + output tokens", positiveInt)
    .option(
      "--max-cost-usd <usd>",
      "budget: most US dollars (models without a known price count 0)",
      positiveNumber,
    )
    .option("--deadline <seconds>", "budget: wall-clock time for the analysis", positiveSeconds)
    .option(
      "--output-schema <file>",
      "JSON Schema file: the answer must match it (result.output holds the value)",
      nonEmpty,
    );
}
