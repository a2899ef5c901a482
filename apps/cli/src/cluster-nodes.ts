/** A Redis Cluster's seed nodes, credentials and TLS, from `REDIS_CLUSTER_NODES`. */
export interface ClusterNodesSetting {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls: boolean;
}

export const CLUSTER_NODES_HINT =
  "expected host:port,host:port,… (an entry may be a redis:// or rediss:// URL with user and password, which apply to every node)";

/**
 * Reads `REDIS_CLUSTER_NODES`: `host:port` entries, comma-separated (an IPv6 host in
 * brackets). Any entry may be a `redis://user:pass@host:port` or `rediss://…` (TLS) URL,
 * and its credentials and scheme then apply to every node: entries that name different
 * ones are refused. Returns the setting, or what is wrong with it (never the password).
 */
export function parseClusterNodes(value: string): ClusterNodesSetting | string {
  const entries = value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) return CLUSTER_NODES_HINT;
  const nodes: ClusterNodesSetting["nodes"] = [];
  let access: { username: string; password: string; tls: boolean } | undefined;
  for (const entry of entries) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry);
    let url: URL;
    try {
      url = new URL(withScheme ? entry : `redis://${entry}`);
    } catch {
      return CLUSTER_NODES_HINT;
    }
    if (!/^rediss?:$/.test(url.protocol) || url.hostname === "" || url.port === "") {
      return CLUSTER_NODES_HINT;
    }
    if (url.pathname !== "" && url.pathname !== "/" && url.pathname !== "/0") {
      return "a Redis Cluster has database 0 only: no /<db> in REDIS_CLUSTER_NODES";
    }
    if (withScheme) {
      const these = {
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        tls: url.protocol === "rediss:",
      };
      if (
        access &&
        (access.username !== these.username ||
          access.password !== these.password ||
          access.tls !== these.tls)
      ) {
        return "the URLs in REDIS_CLUSTER_NODES name different schemes or credentials: one set applies to every node";
      }
      access = these;
    }
    // IPv6 hosts come back from URL in brackets, which ioredis does not take.
    nodes.push({ host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(url.port) });
  }
  return {
    nodes,
    ...(access?.username ? { username: access.username } : {}),
    ...(access?.password ? { password: access.password } : {}),
    tls: access?.tls ?? false,
  };
}
