/**
 * Where model requests go through a proxy, as `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`
 * say in most tools. The library reads no environment: an app passes these in (the CLI
 * takes them from its environment).
 */
export interface ProxySettings {
  /** Proxy URL for `https:` endpoints, e.g. `http://proxy.corp:3128`. */
  httpsProxy?: string;
  /** Proxy URL for `http:` endpoints. */
  httpProxy?: string;
  /**
   * Hosts reached directly, comma- or space-separated: `example.com` (and its
   * subdomains), `.example.com` or `*.example.com` (its subdomains and itself),
   * `host:port` (that port only), `*` (every host). IP addresses match exactly; CIDR
   * ranges are not understood.
   */
  noProxy?: string;
}

/**
 * The proxy URL a request to `target` goes through, or `undefined` for a direct
 * connection: `httpsProxy` for an `https:` target, `httpProxy` for `http:`, none when
 * `noProxy` names the target's host.
 */
export function proxyFor(target: URL, settings: ProxySettings | undefined): string | undefined {
  const proxy = target.protocol === "https:" ? settings?.httpsProxy : settings?.httpProxy;
  if (proxy === undefined || proxy === "") return undefined;
  return bypassesProxy(target, settings?.noProxy ?? "") ? undefined : proxy;
}

/** True when `noProxy` (see {@link ProxySettings.noProxy}) names the host of `target`. */
export function bypassesProxy(target: URL, noProxy: string): boolean {
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const port = Number(target.port || (target.protocol === "https:" ? 443 : 80));
  for (const raw of noProxy.split(/[\s,]+/)) {
    if (raw === "") continue;
    if (raw === "*") return true;
    const entry = parseEntry(raw.toLowerCase());
    if (entry.port !== undefined && entry.port !== port) continue;
    const name = entry.name.replace(/^\*?\./, "");
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address (no port then). */
function parseEntry(entry: string): { name: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) {
    const port = bracketed[2];
    return { name: bracketed[1] ?? "", ...(port === undefined ? {} : { port: Number(port) }) };
  }
  const withPort = /^([^:]+):(\d+)$/.exec(entry);
  if (withPort) return { name: withPort[1] ?? "", port: Number(withPort[2]) };
  return { name: entry };
}
