import { once } from "node:events";
import { createServer, type Server, type Socket, connect } from "node:net";

/**
 * A TCP relay between the API and the test Redis that a test can break the way Redis
 * breaks in production, without touching the Redis other tests share:
 *
 * - `cut()`: every connection is dropped and new ones are closed at once (Redis down,
 *   restarting, or a firewall answering with resets);
 * - `freeze()`: connections stay open but nothing goes through (Redis hung, or a network
 *   partition that drops packets silently);
 * - `restore()`: traffic flows again; clients reconnect on their own.
 */
export class RedisLink {
  private readonly server: Server;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private mode: "open" | "cut" | "frozen" = "open";

  private constructor(
    server: Server,
    private readonly target: { host: string; port: number },
  ) {
    this.server = server;
    server.on("connection", (client) => this.accept(client));
  }

  /** Listens on a free loopback port in front of `target`. */
  static async open(target = { host: "127.0.0.1", port: 6379 }): Promise<RedisLink> {
    const link = new RedisLink(createServer(), target);
    link.server.listen(0, "127.0.0.1");
    await once(link.server, "listening");
    return link;
  }

  /** Where the API connects. */
  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === "string") throw new Error("not listening");
    return address.port;
  }

  cut(): void {
    this.mode = "cut";
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  freeze(): void {
    this.mode = "frozen";
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  restore(): void {
    const wasFrozen = this.mode === "frozen";
    this.mode = "open";
    if (!wasFrozen) return;
    // A hung Redis that wakes up answers what it was sent: resume the frozen pairs.
    for (const pair of this.pairs) this.relay(pair);
  }

  async close(): Promise<void> {
    this.cut();
    this.server.close();
    await once(this.server, "close");
  }

  private accept(client: Socket): void {
    client.on("error", () => {});
    if (this.mode === "cut") {
      client.destroy();
      return;
    }
    const upstream = connect(this.target);
    upstream.on("error", () => {});
    const pair = { client, upstream };
    this.pairs.add(pair);
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", drop);
    upstream.on("close", drop);
    if (this.mode === "frozen") {
      client.pause();
      return;
    }
    this.relay(pair);
  }

  private relay({ client, upstream }: { client: Socket; upstream: Socket }): void {
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
