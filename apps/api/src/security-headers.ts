import helmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";

/** A Content-Security-Policy as directives: `{ "script-src": ["'self'"] }`. */
export type CspDirectives = Readonly<Record<string, readonly string[]>>;

/** A policy as the header carries it (helmet's spelling): `default-src 'self';script-src 'self'`. */
export function cspHeader(directives: CspDirectives): string {
  return Object.entries(directives)
    .map(([name, values]) => [name, ...values].join(" "))
    .join(";");
}

/**
 * The headers of every browser page the API serves (Bull Board, the trajectory viewer),
 * through @fastify/helmet in the calling scope: `X-Content-Type-Options: nosniff`,
 * `Referrer-Policy: no-referrer`, `X-Frame-Options`, cross-origin opener and resource
 * policies, HSTS (honoured over HTTPS only), and `Cache-Control: no-store` (pages and
 * the JSON behind them show live queue data and must not be kept, unless a route
 * says otherwise). `csp` is the page's
 * Content-Security-Policy, or `false` where each page sets its own (the viewer's carry
 * a fresh nonce per page).
 */
export async function registerSecurityHeaders(
  scope: FastifyInstance,
  csp: CspDirectives | false,
): Promise<void> {
  await scope.register(helmet, {
    contentSecurityPolicy:
      csp === false
        ? false
        : {
            useDefaults: false,
            directives: Object.fromEntries(
              Object.entries(csp).map(([name, values]) => [name, [...values]]),
            ),
          },
    referrerPolicy: { policy: "no-referrer" },
    frameguard: { action: "deny" },
  });
  scope.addHook("onSend", async (request, reply, payload) => {
    // Static files (scripts, styles, icons) may be cached; a route that chose its own
    // caching keeps it (the viewer's JSON is revalidated by ETag); the rest is live.
    if (!/\/static\//.test(request.url) && reply.getHeader("cache-control") === undefined) {
      reply.header("cache-control", "no-store");
    }
    return payload;
  });
}
