import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { ApiErrorCode, errorBody } from "./api-error.js";
import { sendUnauthorized } from "./bearer-auth.js";
import { bearerToken, type TokenVerifier } from "./token-verifier.js";

/** Name of the admin UI's session cookie (a signed expiry, never the token). */
export const ADMIN_COOKIE = "rlm_admin_session";

/**
 * Path of the admin cookie: everything under `/admin` (Bull Board at `/admin/queues`,
 * the viewer at `/admin/viewer` and its JSON at `/admin/api`), so one login covers all.
 */
export const ADMIN_COOKIE_PATH = "/admin";

/** How long an admin session cookie is valid: a working day. */
export const ADMIN_SESSION_SECONDS = 12 * 3_600;

/** Methods that only read: the rest change state and get the checks below. */
const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Authentication of the browser UIs (`/admin/…`, and `/docs` with its own cookie path).
 * A browser cannot send a Bearer header when navigating, so besides
 * `Authorization: Bearer <apiToken>` this accepts:
 *
 * - `?token=<apiToken>` on a GET, once: the token is checked (constant time), a session
 *   cookie is set, and the browser is redirected (303) to the same URL without the
 *   token, so it does not stay in the address bar or history;
 * - that cookie on later requests. It holds an expiry (12 h) and an HMAC of it and of
 *   its path, keyed by the token: never the token, useless under another path, void
 *   when the token rotates. `HttpOnly` (no script reads it), `SameSite=Strict` (no
 *   other site's request carries it), `Secure` over HTTPS.
 *
 * A request that changes state (any method but GET/HEAD/OPTIONS: Bull Board's retry,
 * clean and promote, the viewer's cancel) is refused with 403 when a browser says it
 * comes from another site (`Sec-Fetch-Site`, else `Origin` against `Host`), and
 * authenticated by the cookie alone only when a browser says it comes from this site:
 * a client that is not a browser sends the Authorization header. `?token=` never
 * authenticates one.
 */
export function adminAuth(
  verifier: TokenVerifier,
  cookiePath: string = ADMIN_COOKIE_PATH,
): onRequestAsyncHookHandler {
  return async (request, reply) => {
    const changesState = !READ_METHODS.has(request.method);
    const url = new URL(request.url, "http://localhost");
    const queryToken = url.searchParams.get("token");
    if (queryToken !== null) {
      if (changesState) {
        return sendUnauthorized(
          reply,
          "?token= only opens a page: send the token in the Authorization header",
        );
      }
      if (!verifier.verify(queryToken)) {
        return sendUnauthorized(reply, "the token is not valid");
      }
      reply.header("set-cookie", sessionCookie(verifier, request, cookiePath));
      url.searchParams.delete("token");
      return reply.code(303).header("location", `${url.pathname}${url.search}`).send();
    }
    const byHeader = verifier.verify(bearerToken(request.headers.authorization));
    const byCookie =
      !byHeader &&
      verifySession(verifier, readCookie(request.headers.cookie, ADMIN_COOKIE), cookiePath);
    if (!byHeader && !byCookie) {
      return sendUnauthorized(
        reply,
        "a valid bearer token is required (browsers: open this page once with ?token=<api token>)",
      );
    }
    if (!changesState) return;
    const origin = requestOrigin(request);
    if (origin === "other") {
      return sendForbidden(reply, "a request from another site cannot change anything here");
    }
    if (byCookie && origin === "unknown") {
      return sendForbidden(
        reply,
        "changing state needs the Authorization header, or a request from this server's own pages",
      );
    }
  };
}

function sendForbidden(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(403).send(errorBody(ApiErrorCode.forbidden, message));
}

/**
 * Where a browser says a request comes from: `Sec-Fetch-Site` (set by the browser, no
 * page can forge it), else `Origin` compared with the `Host` the request was sent to.
 * Clients that are not browsers send neither: "unknown".
 */
export function requestOrigin(request: FastifyRequest): "same" | "other" | "unknown" {
  const site = request.headers["sec-fetch-site"];
  if (typeof site === "string") {
    if (site === "same-origin") return "same";
    return site === "none" ? "unknown" : "other";
  }
  const origin = request.headers.origin;
  if (typeof origin !== "string") return "unknown";
  try {
    return new URL(origin).host === request.headers.host ? "same" : "other";
  } catch {
    // `Origin: null` (sandboxed frames, file: pages) and garbage.
    return "other";
  }
}

/** A fresh session cookie for `path`: `<expiry s>.<HMAC(path, expiry)>`. */
function sessionCookie(verifier: TokenVerifier, request: FastifyRequest, path: string): string {
  const expires = Math.floor(Date.now() / 1000) + ADMIN_SESSION_SECONDS;
  const value = `${expires}.${verifier.sign(sessionMessage(path, expires))}`;
  const secure = request.protocol === "https" ? "; Secure" : "";
  return `${ADMIN_COOKIE}=${value}; Path=${path}; Max-Age=${ADMIN_SESSION_SECONDS}; HttpOnly; SameSite=Strict${secure}`;
}

/** True for a session cookie this server signed for `path` that has not expired. */
export function verifySession(
  verifier: TokenVerifier,
  value: string | undefined,
  path: string,
): boolean {
  const match = /^(\d{1,12})\.([\w-]{43})$/.exec(value ?? "");
  if (!match) return false;
  const expires = Number(match[1]);
  if (expires * 1000 <= Date.now()) return false;
  return verifier.verifySignature(sessionMessage(path, expires), match[2] ?? "");
}

function sessionMessage(path: string, expires: number): string {
  return `admin-session\n${path}\n${expires}`;
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
