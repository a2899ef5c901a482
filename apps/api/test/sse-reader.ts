/** A server-sent events message as the tests read it. */
export interface SseMessage {
  id?: string;
  event?: string;
  data?: unknown;
  comment?: string;
}

/**
 * Reads an SSE response, calling `onMessage` for each message (comments included),
 * until the server ends the stream. Returns every message.
 */
export async function readSse(
  response: Response,
  onMessage: (message: SseMessage) => void = () => {},
): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response.body!) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: SseMessage = {};
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) message.comment = line.slice(1).trim();
        else if (line.startsWith("id: ")) message.id = line.slice(4);
        else if (line.startsWith("event: ")) message.event = line.slice(7);
        else if (line.startsWith("data: ")) message.data = JSON.parse(line.slice(6));
      }
      messages.push(message);
      onMessage(message);
      end = buffer.indexOf("\n\n");
    }
  }
  return messages;
}
