/**
 * The `rlm` command. Started by `bin/rlm.js`, which re-executes Node with the flags the
 * sandbox needs and with tsx. Each command module is imported only when its command
 * runs, so `--help` and usage errors stay fast and never load the engine.
 */
import { Command, CommanderError, Option } from "commander";
import packageJson from "../package.json" with { type: "json" };
import type { DemoFlags } from "./commands/demo.js";
import type { MockLlmFlags } from "./commands/mock-llm.js";
import type { RunFlags } from "./commands/run.js";
import {
  httpUrl,
  nonEmpty,
  nonNegativeNumber,
  port,
  positiveInt,
  probability,
} from "./parse-flags.js";
import { EXIT, UsageError } from "./usage-error.js";

function buildProgram(): Command {
  const program = new Command("rlm")
    .description("Recursive Language Model analyses over documents larger than any context window")
    .version(packageJson.version)
    // Throw instead of exiting, so every usage error ends in one place with exit code 2.
    .exitOverride()
    .showSuggestionAfterError(true);

  program
    .command("run")
    .description("run one analysis in this process (no Redis) and print the trajectory and answer")
    .requiredOption(
      "-f, --file <path>",
      "document to analyse (.json is parsed, anything else is text)",
      nonEmpty,
    )
    .requiredOption("-q, --query <text>", "the question to answer", nonEmpty)
    .option("--json", "print only the result object as JSON on stdout")
    .option("--root-model <name>", "root model (env RLM_ROOT_MODEL)", nonEmpty)
    .option("--sub-model <name>", "model for sub-calls (env RLM_SUB_MODEL)", nonEmpty)
    .option(
      "--max-iterations <n>",
      "root iterations before a best answer is asked for (env RLM_MAX_ITERATIONS)",
      positiveInt,
    )
    .option("--max-depth <n>", "recursion depth of sub-calls (env RLM_MAX_DEPTH)", positiveInt)
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

  program
    .command("demo")
    .description("offline demo: three analyses of the bundled report against the mock LLM")
    .option("--json", "print only the results as JSON on stdout")
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
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? EXIT.ok);
  throw error;
});

await main(process.argv.slice(2));
