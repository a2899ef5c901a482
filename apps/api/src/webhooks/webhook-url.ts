import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";

/** Why a webhook URL is refused, as a message a caller can act on. */
export class WebhookUrlError extends Error {
  readonly code = "invalid_webhook_url";
  /** True when the host did not resolve: DNS may answer later; every other refusal stands. */
  readonly retryable: boolean;

  constructor(message: string, options: { retryable?: boolean } = {}) {
    super(message);
    this.name = "WebhookUrlError";
    this.retryable = options.retryable ?? false;
  }
}

/**
 * Checks a webhook URL: `http:` or `https:` only, no credentials in it, and (unless
 * `allowPrivate`) a host whose every address is public: loopback, private, link-local
 * (cloud metadata at 169.254.169.254) and the like are refused, so a caller cannot make
 * the API's workers call into the network they run in. Run when the analysis is created,
 * and again before each delivery (the name may resolve elsewhere by then).
 *
 * @throws {WebhookUrlError} with the reason.
 */
export async function checkWebhookUrl(
  raw: string,
  options: { allowPrivate: boolean; resolve?: (host: string) => Promise<string[]> },
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError(`webhook.url is not a URL: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new WebhookUrlError(`webhook.url must be http(s), not ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new WebhookUrlError("webhook.url must not carry credentials");
  }
  if (options.allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const addresses = ipaddr.isValid(host)
    ? [host]
    : await (options.resolve ?? resolveAll)(host).catch(() => {
        throw new WebhookUrlError(`webhook.url's host ${host} does not resolve`, {
          retryable: true,
        });
      });
  for (const address of addresses) refusePrivate(host, address);
  return url;
}

/**
 * Throws unless `address` is globally routed unicast: loopback, private, link-local,
 * CGNAT, multicast, documentation and the rest are refused (IPv4-mapped IPv6 read as its
 * IPv4). Also the check of the address a delivery's connection is about to use.
 */
export function refusePrivate(host: string, address: string): void {
  const range = ipaddr.process(address).range();
  if (range !== "unicast") {
    throw new WebhookUrlError(
      `webhook.url's host ${host} is a ${range} address (${address}); private targets need RLM_WEBHOOK_ALLOW_PRIVATE=1`,
    );
  }
}

async function resolveAll(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((entry) => entry.address);
}
