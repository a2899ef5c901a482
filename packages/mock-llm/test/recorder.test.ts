import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { messagesHash, RequestRecorder } from "../src/recorder.js";

const fields = {
  model: "sub-model",
  kind: "sub" as const,
  startedAt: 1,
  stream: false,
  promptTokens: 3,
  completionTokens: 0,
};
const messages = [
  { role: "system", content: "You answer." },
  { role: "user", content: 'How many "x"?\n\n<text>\nx y x\n</text>' },
];
const expected = createHash("sha256")
  .update(JSON.stringify({ model: "sub-model", messages }))
  .digest("hex");

describe("RequestRecorder", () => {
  it("hashes model and messages when the records are read", () => {
    const recorder = new RequestRecorder();
    recorder.start(fields, { model: "sub-model", messages, chars: 40 });
    recorder.start(fields, { model: "sub-model", messages, chars: 40 });
    expect(recorder.unhashedCount).toBe(2);
    const records = recorder.list();
    expect(records.map((record) => record.messagesHash)).toEqual([expected, expected]);
    expect(records.map((record) => record.id)).toEqual(["req_1", "req_2"]);
    expect(recorder.unhashedCount).toBe(0);
    expect(messagesHash("sub-model", messages)).toBe(expected);
  });

  it("hashes at once past the limit of prompt characters held", () => {
    const recorder = new RequestRecorder({ unhashedCharsLimit: 50 });
    const live = recorder.start(fields, { model: "sub-model", messages, chars: 40 });
    expect(recorder.unhashedCount).toBe(1);
    expect(live.messagesHash).toBe("");
    recorder.start(fields, { model: "sub-model", messages, chars: 40 });
    expect(recorder.unhashedCount).toBe(0);
    expect(live.messagesHash).toBe(expected);
  });

  it("forgets pending hashes on clear", () => {
    const recorder = new RequestRecorder();
    recorder.start(fields, { model: "sub-model", messages, chars: 40 });
    recorder.clear();
    expect(recorder.unhashedCount).toBe(0);
    expect(recorder.list()).toEqual([]);
  });
});
