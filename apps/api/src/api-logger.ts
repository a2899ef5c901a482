import { type Logger, type LoggerOptions, pino } from "pino";

/** What `createApiServer` accepts as `logger`: a pino instance, pino options, or `false` (silent). */
export type ApiLoggerOption = Logger | LoggerOptions | false;

/**
 * Paths censored in every log line. Fastify's request serializer logs no headers and
 * no bodies; these are the safety net for anything logged by hand (a header bag, a
 * body, a document).
 */
const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "cookie",
  "*.cookie",
  "headers.cookie",
  "req.headers.cookie",
  "headers['set-cookie']",
  "res.headers['set-cookie']",
  "apiToken",
  "*.apiToken",
  "body",
  "*.body",
  "context",
  "*.context",
  "token",
  "*.token",
];

/** The shape of the request object Fastify hands to the `req` serializer. */
interface SerializableRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Like Fastify's own request serializer, but with the `token` query parameter masked:
 * `/admin/queues?token=…` is how a browser first authenticates, and the token must
 * not end up in log files.
 */
function serializeRequest(req: SerializableRequest) {
  return {
    method: req.method,
    url: req.url === undefined ? undefined : maskTokenParam(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** Replaces the value of any `token` query parameter with `[redacted]`. */
export function maskTokenParam(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, "$1[redacted]");
}

const serializers = { req: serializeRequest };

/**
 * The server's logger. A given instance is used through a child (so the caller's
 * redaction and destination stay in force) with the token-masking request serializer;
 * options get the default redaction on top of their own.
 */
export function createApiLogger(option: ApiLoggerOption | undefined): Logger {
  if (option === false) return pino({ level: "silent" });
  if (option !== undefined && isLogger(option)) {
    return option.child({}, { serializers });
  }
  const options: LoggerOptions = option ?? {};
  return pino({
    name: "rlm-api",
    level: "info",
    ...options,
    redact: mergeRedact(options.redact),
    serializers: { ...options.serializers, ...serializers },
  });
}

function mergeRedact(given: LoggerOptions["redact"]): LoggerOptions["redact"] {
  if (given === undefined) return { paths: REDACT_PATHS, censor: "[redacted]" };
  if (Array.isArray(given)) return { paths: [...REDACT_PATHS, ...given], censor: "[redacted]" };
  return { ...given, paths: [...REDACT_PATHS, ...given.paths] };
}

function isLogger(value: Logger | LoggerOptions): value is Logger {
  return typeof (value as { child?: unknown }).child === "function";
}
