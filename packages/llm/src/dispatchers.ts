import { Agent, type Dispatcher, ProxyAgent } from "undici";

/**
 * The undici dispatchers model requests go out on: one keep-alive `Agent` for direct
 * connections and one `ProxyAgent` per proxy URL, shared by every client of the process.
 *
 * Why shared: an `Rlm` (or a worker) made per analysis would otherwise start with no open
 * connection, and its first fan-out would open one TCP (and TLS) connection per call in
 * flight, 50 connects on both sides in the middle of the wave.
 *
 * Why undici's header and body timeouts are off: each attempt has its own deadline
 * (`timeoutMs`, which a slow local server may set past undici's 300 s), and a stalled
 * exchange is aborted by it.
 *
 * Why idle connections are kept 30 s (undici's default is 4 s) and a server's own
 * `Keep-Alive: timeout=N` is trusted to N − 1 s (default N − 2): root turns of a real model
 * come tens of seconds apart, and each new connection to a provider costs a TCP and TLS
 * handshake (a few round trips) on the turn's critical path; in the benchmarks, node's
 * `timeout=5` cut to 3 s closed a fan-out's 50 connections between analyses. A server
 * that closes an idle connection earlier is seen closing it, and the connection dropped.
 */
const shared = new Map<string, Dispatcher>();

/** What every dispatcher here is made with. */
const AGENT_OPTIONS = {
  headersTimeout: 0,
  bodyTimeout: 0,
  keepAliveTimeout: 30_000,
  keepAliveTimeoutThreshold: 1_000,
} as const;

/** The process's dispatcher for requests through `proxy`, or direct ones when undefined. */
export function sharedDispatcher(proxy: string | undefined): Dispatcher {
  const key = proxy ?? "";
  let dispatcher = shared.get(key);
  if (!dispatcher) {
    dispatcher =
      proxy === undefined
        ? new Agent(AGENT_OPTIONS)
        : new ProxyAgent({ ...AGENT_OPTIONS, uri: proxy });
    shared.set(key, dispatcher);
  }
  return dispatcher;
}
