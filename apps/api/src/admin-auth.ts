import type { FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { sendUnauthorized } from "./bearer-auth.js";
import { bearerToken, type TokenVerifier } from "./token-verifier.js";

/** Name of the cookie that carries the API token for the admin UI. */
export const ADMIN_COOKIE = "rlm_admin_token";

/**
 * Path of the admin cookie: everything under `/admin` (Bull Board at `/admin/queues`,
 * the viewer at `/admin/viewer` and its JSON at `/admin/api`), so one login covers all.
 */
export const ADMIN_COOKIE_PATH = "/admin";

/**
 * Authentication of the admin UI (`/admin/…`). A browser cannot send a Bearer
 * header when navigating, so besides `Authorization: Bearer <apiToken>` this accepts:
 *
 * - `?token=<apiToken>` once: the token is checked (constant time), stored in an
 *   `HttpOnly; SameSite=Strict` cookie scoped to `/admin` (also `Secure` over
 *   HTTPS), and a GET is redirected (303) to the same URL without the token, so it
 *   does not stay in the address bar or browser history;
 * - that cookie on later requests (the UI's own page, asset and API requests), checked
 *   the same constant-time way. SameSite=Strict keeps other sites from riding on it.
 *
 * The cookie holds the token itself and lasts for the browser session; rotating the
 * API token invalidates it. `cookiePath` scopes it elsewhere for a page outside
 * `/admin` (the API docs at `/docs`).
 */
export function adminAuth(
  verifier: TokenVerifier,
  cookiePath: string = ADMIN_COOKIE_PATH,
): onRequestAsyncHookHandler {
  return async (request, reply) => {
    const url = new URL(request.url, "http://localhost");
    const queryToken = url.searchParams.get("token");
    if (queryToken !== null) {
      if (!verifier.verify(queryToken)) {
        return sendUnauthorized(reply, "the token is not valid");
      }
      reply.header("set-cookie", adminCookie(queryToken, request, cookiePath));
      if (request.method === "GET" || request.method === "HEAD") {
        url.searchParams.delete("token");
        return reply.code(303).header("location", `${url.pathname}${url.search}`).send();
      }
      return;
    }
    if (verifier.verify(bearerToken(request.headers.authorization))) return;
    if (verifier.verify(readCookie(request.headers.cookie, ADMIN_COOKIE))) return;
    return sendUnauthorized(
      reply,
      "a valid bearer token is required (browsers: open this page once with ?token=<api token>)",
    );
  };
}

function adminCookie(token: string, request: FastifyRequest, path: string): string {
  const secure = request.protocol === "https" ? "; Secure" : "";
  return `${ADMIN_COOKIE}=${encodeURIComponent(token)}; Path=${path}; HttpOnly; SameSite=Strict${secure}`;
}

/** The value of one cookie from a `Cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(";")) {
    const separator = pair.indexOf("=");
    if (separator === -1 || pair.slice(0, separator).trim() !== name) continue;
    try {
      return decodeURIComponent(pair.slice(separator + 1).trim());
    } catch {
      // A malformed escape cannot be our cookie's value.
      return undefined;
    }
  }
  return undefined;
}
