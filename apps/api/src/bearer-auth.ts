import type { FastifyReply, onRequestAsyncHookHandler } from "fastify";
import { ApiErrorCode, errorBody } from "./api-error.js";
import { bearerToken, type TokenVerifier } from "./token-verifier.js";

/** Answers 401 with the API's error body and a `WWW-Authenticate` challenge. */
export function sendUnauthorized(reply: FastifyReply, message: string): FastifyReply {
  return reply
    .code(401)
    .header("www-authenticate", 'Bearer realm="rlm"')
    .send(errorBody(ApiErrorCode.unauthorized, message));
}

/** An `onRequest` hook that lets through only requests with `Authorization: Bearer <apiToken>`. */
export function bearerAuth(verifier: TokenVerifier): onRequestAsyncHookHandler {
  return async (request, reply) => {
    if (verifier.verify(bearerToken(request.headers.authorization))) return;
    return sendUnauthorized(reply, "a valid bearer token is required");
  };
}
