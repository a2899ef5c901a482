import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { AUTH, deleteKeysUnder, TOKEN, testServer, uniquePrefix } from "./helpers.js";

const prefix = uniquePrefix("logging");

afterAll(async () => {
  await deleteKeysUnder(prefix);
});

describe("logs", () => {
  it("never contain the token, the authorization header or the document", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = testServer(prefix, { logger: pino({ level: "trace" }, sink) });
    await app.ready();
    const secretDocument = "TOP-SECRET-DOCUMENT-TEXT";
    await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: AUTH,
      payload: { query: "q", context: secretDocument },
    });
    await app.inject({ method: "POST", url: "/v1/analyses", headers: AUTH, payload: { query: 1 } });
    await app.inject({ method: "GET", url: `/admin/queues?token=${TOKEN}` });
    await app.inject({ method: "GET", url: "/admin/queues?token=wrong-token-value" });
    await app.close();

    const log = lines.join("");
    expect(log).toContain("/admin/queues?token=[redacted]");
    expect(log).toContain("analysis enqueued");
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain("wrong-token-value");
    expect(log).not.toContain(secretDocument);
  });
});
