import type { Client } from "openapi-fetch";
import type {
  AnalysisContext,
  AnalysisOptions,
  SessionCreated,
  SessionQuestionAccepted,
  SessionView,
} from "./api-types.js";
import type { paths } from "./generated/api-types.js";
import { call, expect } from "./responses.js";

/** How a request of the session routes may be made: its options and its abort signal. */
export interface SessionRequestOptions {
  options?: AnalysisOptions;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** A session's document uploaded as a multipart file rather than inside a JSON body. */
export interface SessionUpload {
  /** The document: a Blob (e.g. from `fs.openAsBlob`) or text. */
  document: Blob | string;
  /** File name of the part; `*.json` makes the server parse the document as JSON. */
  filename?: string;
  options?: AnalysisOptions;
  idempotencyKey?: string;
}

type Api = Client<paths>;

/** `POST /v1/sessions` with a JSON body. */
export async function createSession(
  api: Api,
  context: AnalysisContext,
  init: SessionRequestOptions,
): Promise<SessionCreated> {
  const body = {
    context,
    ...(init.options !== undefined ? { options: init.options } : {}),
    ...(init.idempotencyKey !== undefined ? { idempotencyKey: init.idempotencyKey } : {}),
  };
  return expect(await call(() => api.POST("/v1/sessions", { body, signal: init.signal })));
}

/** `POST /v1/sessions` with the document as a multipart file. */
export async function uploadSession(
  api: Api,
  upload: SessionUpload,
  init: { signal?: AbortSignal },
): Promise<SessionCreated> {
  const form = new FormData();
  if (upload.options !== undefined) form.append("options", JSON.stringify(upload.options));
  if (upload.idempotencyKey !== undefined) form.append("idempotencyKey", upload.idempotencyKey);
  const document =
    typeof upload.document === "string"
      ? new Blob([upload.document], { type: "text/plain" })
      : upload.document;
  form.append("context", document, upload.filename ?? "document.txt");
  return expect(
    await call(() =>
      api.POST("/v1/sessions", {
        // The typed body is only for the types: the form is what is sent.
        body: { context: "" },
        bodySerializer: () => form,
        signal: init.signal,
      }),
    ),
  );
}

/** `GET /v1/sessions/:id`. */
export async function getSession(
  api: Api,
  id: string,
  init: { signal?: AbortSignal },
): Promise<SessionView> {
  return expect(
    await call(() =>
      api.GET("/v1/sessions/{id}", { params: { path: { id } }, signal: init.signal }),
    ),
  );
}

/** `POST /v1/sessions/:id/analyses`. */
export async function askSession(
  api: Api,
  sessionId: string,
  query: string,
  init: SessionRequestOptions,
): Promise<SessionQuestionAccepted> {
  const body = {
    query,
    ...(init.options !== undefined ? { options: init.options } : {}),
    ...(init.idempotencyKey !== undefined ? { idempotencyKey: init.idempotencyKey } : {}),
  };
  return expect(
    await call(() =>
      api.POST("/v1/sessions/{id}/analyses", {
        params: { path: { id: sessionId } },
        body,
        signal: init.signal,
      }),
    ),
  );
}
