import { once } from "node:events";
import { createServer, type Server } from "node:http";
import net from "node:net";

/** A running {@link tunnellingProxy}. */
export interface TunnellingProxy {
  /** `http://127.0.0.1:PORT`, for `proxy.httpProxy` or `HTTP_PROXY`. */
  url: string;
  /** The `host:port` of every CONNECT it tunnelled, in order. */
  targets: string[];
  close(): Promise<void>;
}

/** An HTTP proxy on loopback that tunnels CONNECT requests and records their targets. */
export async function tunnellingProxy(): Promise<TunnellingProxy> {
  const targets: string[] = [];
  const sockets = new Set<net.Socket>();
  const proxy: Server = createServer((_request, response) => {
    response.writeHead(405).end();
  });
  proxy.on("connect", (request, client: net.Socket, head: Buffer) => {
    targets.push(request.url ?? "");
    const [host, port] = (request.url ?? "").split(":");
    const upstream = net.connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => sockets.delete(socket));
    }
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  const { port } = proxy.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    targets,
    async close() {
      for (const socket of sockets) socket.destroy();
      proxy.close();
      await once(proxy, "close");
    },
  };
}
