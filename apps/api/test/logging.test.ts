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
    const login = await app.inject({ method: "GET", url: `/admin/queues?token=${TOKEN}` });
    const cookie = String(login.headers["set-cookie"]).split(";")[0]!;
    await app.inject({ method: "GET", url: "/admin/queues/api/queues", headers: { cookie } });
    await app.inject({ method: "PUT", url: "/admin/queues/api/queues/pause", headers: { cookie } });
    await app.inject({ method: "GET", url: "/admin/queues?token=wrong-token-value" });
    // Refusals that read the body: a key reused with another document, a deep context.
    const key = { ...AUTH, "idempotency-key": "log-test" };
    await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: key,
      payload: { query: "q", context: "first" },
    });
    await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: key,
      payload: { query: "q", context: secretDocument },
    });
    await app.inject({
      method: "POST",
      url: "/v1/analyses",
      headers: { ...AUTH, "content-type": "application/json" },
      payload: `{"query":"q","context":${"[".repeat(300)}"${secretDocument}"${"]".repeat(300)}}`,
    });
    await app.close();

    const log = lines.join("");
    expect(log).toContain("/admin/queues?token=[redacted]");
    expect(log).toContain("analysis enqueued");
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain("wrong-token-value");
    expect(log).not.toContain(secretDocument);
    expect(log).not.toContain(cookie.split("=")[1]);
    expect(log).toContain("request rejected");
  });
});
