import type { CreateSessionInput } from "@rlm/queue";
import type { FastifyRequest } from "fastify";
import { readDocumentRequest, withHeaderKey } from "./analysis-request.js";
import { sessionFieldsSchema } from "./session-schemas.js";

/**
 * Turns a `POST /v1/sessions` request into the producer's input, whatever its body, as
 * `readAnalysisRequest` does for analyses (JSON `{ context, options?, idempotencyKey? }`;
 * multipart with the document as part `context`; a text body with the fields in the
 * query string), the `Idempotency-Key` header included.
 */
export async function readSessionRequest(
  request: FastifyRequest,
  limitBytes: number,
): Promise<CreateSessionInput> {
  const { fields, context } = await readDocumentRequest(request, limitBytes, sessionFieldsSchema);
  const input = { ...(fields as Omit<CreateSessionInput, "context">), context };
  return withHeaderKey(input, request.headers["idempotency-key"]);
}
