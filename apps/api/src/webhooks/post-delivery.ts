import { type LookupAddress, lookup as dnsLookup } from "node:dns";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { refusePrivate } from "./webhook-url.js";

/** One try of a delivery. */
export interface PostDeliveryOptions {
  url: URL;
  body: string;
  /** The signature headers (and any other). */
  headers: Record<string, string>;
  /** The whole try, connection to last byte of the answer. */
  timeoutMs: number;
  /** `RLM_WEBHOOK_ALLOW_PRIVATE=1`: connect to loopback and private addresses too. */
  allowPrivate: boolean;
}

/** The receiver's answer: its status code (its body is read and dropped). */
export interface PostDeliveryAnswer {
  status: number;
}

/**
 * POSTs one delivery with node:http(s): no redirect is followed (a 3xx is an answer that
 * is not a 2xx, so the delivery is tried again), no connection is kept, and, unless
 * private targets are allowed, the address the connection goes to is checked when it is
 * looked up: a name that resolved to a public address when the URL was checked cannot
 * send the connection to a private one a moment later (DNS rebinding).
 */
export function postDelivery(options: PostDeliveryOptions): Promise<PostDeliveryAnswer> {
  const { url, body, timeoutMs } = options;
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: "POST",
        agent: false,
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "rlm-queue-webhooks",
          ...options.headers,
        },
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup(url.hostname) }),
      },
      (response) => {
        response.on("error", reject);
        response.on("end", () => resolve({ status: response.statusCode ?? 0 }));
        response.resume();
      },
    );
    request.on("error", (error) =>
      reject(error.name === "AbortError" ? new Error(`no answer within ${timeoutMs} ms`) : error),
    );
    request.end(body);
  });
}

/** A `lookup` for sockets that refuses every address that is not public (see `refusePrivate`). */
function publicOnlyLookup(host: string): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 0);
      try {
        for (const entry of addresses) refusePrivate(host, entry.address);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, "", 0);
      }
      const first = addresses[0];
      if (!first) return callback(new Error(`${hostname} has no address`), "", 0);
      // Node asks for every address when it races IPv4 and IPv6 (autoSelectFamily).
      if (options.all) {
        (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
      } else callback(null, first.address, first.family);
    });
  };
}
