import { describe, expect, it } from "vitest";
import { collect, startCli, waitForOutput } from "./support/run-cli.js";

describe("rlm mock-llm", () => {
  it("prints its URL, serves the OpenAI API, and stops cleanly on SIGTERM", async () => {
    const child = startCli(["mock-llm", "--port", "0", "--latency", "1"]);
    const done = collect(child, 30_000);
    const [url] = await waitForOutput(child, /http:\/\/127\.0\.0\.1:\d+\/v1/);
    const models = (await (await fetch(`${url}/models`)).json()) as { data: unknown[] };
    expect(Array.isArray(models.data)).toBe(true);

    const completion = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer x" },
      body: JSON.stringify({ model: "mock-sub", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(completion.status).toBe(200);

    child.kill("SIGTERM");
    const run = await done;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/stopped \(SIGTERM\) after 1 requests?/);
  });
});
