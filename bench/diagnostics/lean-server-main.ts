// A minimal OpenAI-compatible chat server for diagnostics: node's `net`, a hand-rolled
// HTTP/1.1 reader (Content-Length bodies, keep-alive), the mock's own scripted `respond`,
// and L ms from the request's arrival to its answer. Prints "ready URL" on stdout.
// BARE=1: a responder that costs next to no CPU per request: it does not read the body
// and answers every request with the same completion ("1").
import net from "node:net";
import { respond } from "@rlm/mock-llm";

const latencyMs = Number(process.env.LATENCY_MS ?? 200);
const bare = process.env.BARE === "1";

/** The whole HTTP answer carrying one completion. */
function answerWire(model: string, content: string): Buffer {
  const bytes = Buffer.from(
    JSON.stringify({
      id: "chatcmpl-lean",
      object: "chat.completion",
      created: 1,
      model,
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    }),
    "utf8",
  );
  const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${bytes.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), bytes]);
}
const bareWire = answerWire("bare", "1");

const server = net.createServer((socket) => {
  let pending = Buffer.alloc(0);
  socket.on("data", (data) => {
    pending = pending.length > 0 ? Buffer.concat([pending, data]) : data;
    for (;;) {
      const headEnd = pending.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const head = pending.subarray(0, headEnd).toString("latin1");
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (pending.length < headEnd + 4 + length) return;
      const arrived = performance.now();
      const body = pending.subarray(headEnd + 4, headEnd + 4 + length);
      pending = pending.subarray(headEnd + 4 + length);
      let wire = bareWire;
      if (!bare) {
        const request = JSON.parse(body.toString("utf8")) as {
          model: string;
          messages: Array<{ role: string; content: string }>;
        };
        const reply = respond(request.messages, {
          strategy: "map-reduce",
          chunkChars: 10_000,
          habits: [],
        });
        wire = answerWire(request.model, reply.content);
      }
      const wait = latencyMs - (performance.now() - arrived);
      setTimeout(() => socket.write(wire), Math.max(0, wait));
    }
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`ready http://127.0.0.1:${address.port}/v1\n`);
});
