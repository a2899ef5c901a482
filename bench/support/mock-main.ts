// The mock LLM in its own process: its latency timers then do not queue behind the
// engine, isolates or BullMQ work of the process being measured. Controlled over its
// HTTP control routes (/_mock/config, /_mock/reset, /_mock/requests).
import { startMockLlmServer } from "@rlm/mock-llm";

const mock = await startMockLlmServer({ latencyMs: 0, strategy: "map-reduce" });
process.stdout.write(`ready ${mock.url}\n`);
const stop = async () => {
  await mock.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
