import { fileURLToPath } from "node:url";
import type { MockLlmOptions, MockRequestRecord } from "@rlm/mock-llm";
import { spawnTs, type TsProcess } from "./spawn-ts.js";

const MAIN = fileURLToPath(new URL("./mock-main.ts", import.meta.url));

/** The mock LLM process and its control routes. */
export class MockProcess {
  private constructor(
    private readonly process: TsProcess,
    readonly url: string,
  ) {}

  /** `execArgv`: extra node flags for the mock process, e.g. --cpu-prof when profiling. */
  static async start(execArgv: string[] = []): Promise<MockProcess> {
    const started = await spawnTs(MAIN, {}, { execArgv });
    return new MockProcess(started, started.readyLine.trim());
  }

  get pid(): number | undefined {
    return this.process.child.pid;
  }

  private get base(): string {
    return this.url.replace(/\/v1$/, "");
  }

  /** Forgets recorded requests, then applies `options` over the defaults. */
  async reset(options: MockLlmOptions): Promise<void> {
    await this.post("/_mock/reset", {});
    // Every setting a figure may change goes back to its default unless `options` sets it:
    // a habit left on by figure 4's line-joined case made the figures after it run other
    // analyses (99 and 986 sub-calls in figure 8 instead of 100 and 1,000, until session 13).
    await this.post("/_mock/config", {
      faults: null,
      faultKinds: null,
      jitterMs: 0,
      habits: [],
      rejectResponseFormat: false,
      ...options,
    });
  }

  async requests(): Promise<MockRequestRecord[]> {
    const response = await fetch(`${this.base}/_mock/requests`);
    return (await response.json()) as MockRequestRecord[];
  }

  async stop(): Promise<void> {
    this.process.kill("SIGTERM");
    await this.process.exited;
  }

  private async post(path: string, body: unknown): Promise<void> {
    const response = await fetch(`${this.base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`mock ${path}: ${response.status} ${await response.text()}`);
  }
}
