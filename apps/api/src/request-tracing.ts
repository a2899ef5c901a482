import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { FastifyInstance, FastifyRequest } from "fastify";

const tracer = trace.getTracer("@rlm/api");

/** Which requests get a span: the API's own routes (not pages, assets, probes, scrapes). */
const TRACED = /^\/v1\//;

/**
 * A server span per request to `/v1/…`, through `@opentelemetry/api` (a no-op until the
 * process registers an SDK, as `rlm serve` does with `OTEL_EXPORTER_OTLP_ENDPOINT`). A
 * `traceparent` header from the caller continues its trace; the handler runs with the
 * span active, so an analysis enqueued there carries it in its job data and every span
 * of the analysis, in any worker, is in the request's trace.
 *
 * Why two hooks: the span starts when the request arrives, but Fastify calls the handler
 * from the body parser's stream events, outside the context `onRequest` ran in; the
 * `preHandler` hook enters it again right before the handler.
 */
export function registerRequestTracing(app: FastifyInstance): void {
  const contexts = new WeakMap<FastifyRequest, Context>();
  app.addHook("onRequest", (request, reply, done) => {
    if (!TRACED.test(request.url)) return done();
    const route = request.routeOptions.url;
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      `${request.method} ${route ?? "unmatched"}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "http.request.method": request.method,
          "url.path": request.url.split("?")[0] ?? "",
          ...(route ? { "http.route": route } : {}),
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    contexts.set(request, active);
    // A hijacked answer (an event stream) skips Fastify's response hooks: the socket's
    // close ends the span whichever way the request went.
    reply.raw.once("close", () => {
      const status = reply.raw.statusCode;
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(active, done);
  });
  app.addHook("preHandler", (request, _reply, done) => {
    const active = contexts.get(request);
    if (!active) return done();
    context.with(active, done);
  });
}
