import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a receiver got. */
export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status it was answered with. */
  status: number;
}

/**
 * A webhook receiver on loopback (node:http): records every request and answers with
 * `respond(n)` for the n-th (0-based), 204 by default. `next()` resolves with the next
 * request (or one already received and not yet taken).
 */
export class WebhookReceiver {
  readonly received: ReceivedDelivery[] = [];
  private taken = 0;
  private waiters: Array<() => void> = [];

  private readonly server: Server;
  private portNumber = 0;

  private constructor(private readonly respond: (index: number) => number) {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const status = this.respond(this.received.length);
        this.received.push({
          headers: request.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          status,
        });
        response.writeHead(status).end();
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
  }

  /** Listens on `port` (0: any free one). */
  static async start(
    port = 0,
    respond: (index: number) => number = () => 204,
  ): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(respond);
    receiver.server.listen(port, "127.0.0.1");
    await once(receiver.server, "listening");
    receiver.portNumber = (receiver.server.address() as AddressInfo).port;
    return receiver;
  }

  get port(): number {
    return this.portNumber;
  }

  /** A port nobody listens on now (a receiver that is down): found free, then closed. */
  static async freePort(): Promise<number> {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, "close");
    return port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/rlm`;
  }

  /** The next request not yet taken. */
  async next(): Promise<ReceivedDelivery> {
    while (this.received.length <= this.taken) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.received[this.taken++]!;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close");
  }
}
