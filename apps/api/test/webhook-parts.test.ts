import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { postDelivery } from "../src/webhooks/post-delivery.js";
import { newSecret, secretKey, signDelivery, verifyDelivery } from "../src/webhooks/signature.js";
import { checkWebhookUrl } from "../src/webhooks/webhook-url.js";
import { WebhookReceiver } from "./webhook-receiver.js";

describe("Standard Webhooks signatures", () => {
  // The example of the Standard Webhooks specification's reference libraries.
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const timestamp = 1614265330;
  const body = '{"test": 2432232314}';

  it("signs as the specification's reference implementation does", () => {
    expect(signDelivery(secret, id, timestamp, body)).toEqual({
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  it("verifies its own signatures and refuses tampering, other secrets and old timestamps", () => {
    const headers = signDelivery(secret, id, timestamp, body);
    expect(verifyDelivery(secret, headers, body, 300, timestamp + 10)).toBe(true);
    expect(verifyDelivery(secret, headers, `${body} `, 300, timestamp + 10)).toBe(false);
    expect(verifyDelivery(newSecret(), headers, body, 300, timestamp + 10)).toBe(false);
    expect(verifyDelivery(secret, headers, body, 300, timestamp + 3_600)).toBe(false);
    const rotated = { ...headers, "webhook-signature": `v1,AAAA ${headers["webhook-signature"]}` };
    expect(verifyDelivery(secret, rotated, body, 300, timestamp)).toBe(true);
  });

  it("refuses a secret too short to be one", () => {
    expect(() => secretKey("whsec_c2hvcnQ=")).toThrow(/at least 16 bytes/);
    expect(secretKey(newSecret())).toHaveLength(16);
  });
});

describe("webhook URLs", () => {
  const check = (url: string, allowPrivate = false, addresses?: string[]) =>
    checkWebhookUrl(url, {
      allowPrivate,
      ...(addresses ? { resolve: async () => addresses } : {}),
    });

  it("takes public http(s) URLs", async () => {
    await expect(
      check("https://hooks.example.com/rlm", false, ["93.184.215.14"]),
    ).resolves.toBeInstanceOf(URL);
    await expect(check("http://[2606:4700::6810:85e5]/x")).resolves.toBeInstanceOf(URL);
  });

  it("refuses other schemes and credentials", async () => {
    await expect(check("ftp://example.com/x")).rejects.toThrow(/must be http\(s\)/);
    await expect(check("file:///etc/passwd")).rejects.toThrow(/must be http\(s\)/);
    await expect(check("https://user:pw@example.com/")).rejects.toThrow(/credentials/);
    await expect(check("not a url")).rejects.toMatchObject({ code: "invalid_webhook_url" });
  });

  it("refuses loopback, private, link-local and mapped addresses unless allowed", async () => {
    for (const url of [
      "http://127.0.0.1:8080/",
      "http://10.1.2.3/",
      "http://192.168.0.10/",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]/",
      "http://[fd00::1]/",
      "http://[::ffff:127.0.0.1]/",
      "http://0.0.0.0/",
      "http://100.64.0.1/",
    ]) {
      await expect(check(url), url).rejects.toThrow(/RLM_WEBHOOK_ALLOW_PRIVATE=1/);
    }
    await expect(
      check("http://internal.example/", false, ["93.184.215.14", "10.0.0.5"]),
    ).rejects.toThrow(/private address \(10\.0\.0\.5\)/);
    await expect(check("http://127.0.0.1:8080/", true)).resolves.toBeInstanceOf(URL);
  });
});

describe("a delivery's connection", () => {
  it("goes only to public addresses, checked as the name is looked up, unless allowed", async () => {
    const receiver = await WebhookReceiver.start();
    try {
      // A name, not an address: the check is the connection's own lookup (no rebinding).
      const url = new URL(`http://localhost:${receiver.port}/hook`);
      const post = (allowPrivate: boolean) =>
        postDelivery({ url, body: "{}", headers: {}, timeoutMs: 5_000, allowPrivate });
      await expect(post(false)).rejects.toMatchObject({
        code: "invalid_webhook_url",
        retryable: false,
        message: expect.stringMatching(/loopback address/),
      });
      expect(receiver.received).toHaveLength(0);
      await expect(post(true)).resolves.toEqual({ status: 204 });
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.stop();
    }
  });

  it("gives up on a receiver that does not answer in time", async () => {
    // Takes the connection and the request, and never answers.
    const silent = createServer(() => {}).listen(0, "127.0.0.1");
    await once(silent, "listening");
    const { port } = silent.address() as AddressInfo;
    try {
      await expect(
        postDelivery({
          url: new URL(`http://127.0.0.1:${port}/`),
          body: "{}",
          headers: {},
          timeoutMs: 300,
          allowPrivate: true,
        }),
      ).rejects.toThrow(/no answer within 300 ms/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
