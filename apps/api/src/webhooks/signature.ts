import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the receiver checks
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` with the shared
 * secret, which is `whsec_` followed by the base64 key bytes.
 */

/** The headers of one signed delivery. */
export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** The key bytes of a `whsec_…` secret (a secret without the prefix is taken as base64 too). */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  const key = Buffer.from(encoded, "base64");
  if (key.length < 16) throw new Error("the webhook secret must hold at least 16 bytes of base64");
  return key;
}

/** A new secret in the `whsec_` form. */
export function newSecret(): string {
  return `whsec_${Buffer.from(randomUUID().replace(/-/g, ""), "hex").toString("base64")}`;
}

/** Signs `body` for delivery `id` at `timestampS` (seconds since the epoch). */
export function signDelivery(
  secret: string,
  id: string,
  timestampS: number,
  body: string,
): WebhookHeaders {
  const signature = createHmac("sha256", secretKey(secret))
    .update(`${id}.${timestampS}.${body}`)
    .digest("base64");
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampS),
    "webhook-signature": `v1,${signature}`,
  };
}

/**
 * True when `headers` carry a valid signature of `body` (any of the space-separated
 * `v1,` signatures) made no more than `toleranceS` seconds from now. What a receiver does;
 * here for tests and for users who read this code.
 */
export function verifyDelivery(
  secret: string,
  headers: Partial<Record<keyof WebhookHeaders, string>>,
  body: string,
  toleranceS = 300,
  nowS = Math.floor(Date.now() / 1000),
): boolean {
  const id = headers["webhook-id"];
  const timestamp = Number(headers["webhook-timestamp"]);
  const signatures = headers["webhook-signature"];
  if (!id || !Number.isInteger(timestamp) || !signatures) return false;
  if (Math.abs(nowS - timestamp) > toleranceS) return false;
  const expected = Buffer.from(
    signDelivery(secret, id, timestamp, body)["webhook-signature"].slice(3),
    "base64",
  );
  return signatures.split(" ").some((entry) => {
    if (!entry.startsWith("v1,")) return false;
    const given = Buffer.from(entry.slice(3), "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
