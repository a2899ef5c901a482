import { hostname } from "node:os";
import type { Telemetry } from "bullmq";
import packageJson from "../../package.json" with { type: "json" };
import type { CliEnv } from "../env.js";

/** Traces of a command's process, once started: what to hand the queues, and the flush. */
export interface Tracing {
  /** bullmq-otel, for the queues the process adds jobs to (their producer spans). */
  telemetry: Telemetry;
  /** Where spans go (for the ready line). */
  endpoint: string;
  /** Sends the spans still buffered and stops (before the process exits). */
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry's SDK when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and `OTEL_SDK_DISABLED` is not: spans of
 * the engine, the queue and the API (all through `@opentelemetry/api`) are batched and
 * exported over OTLP/HTTP (JSON), the exporter reading its standard variables (headers,
 * timeout, `/v1/traces` appended to the endpoint). Otherwise nothing is started and
 * every span is the API's no-op. The service is `service` unless `OTEL_SERVICE_NAME` (or
 * `OTEL_RESOURCE_ATTRIBUTES`) says otherwise.
 */
export async function startTracing(env: CliEnv, service: string): Promise<Tracing | undefined> {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint === undefined || env.OTEL_SDK_DISABLED) return undefined;
  // Loaded only when traces are on: a process without them loads no SDK at all.
  const [{ OTLPTraceExporter }, resources, sdk, conventions, { BullMQOtel }] = await Promise.all([
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/semantic-conventions"),
    import("bullmq-otel"),
  ]);
  const resource = resources
    .resourceFromAttributes({
      [conventions.ATTR_SERVICE_NAME]: service,
      [conventions.ATTR_SERVICE_VERSION]: packageJson.version,
      "service.instance.id": `${hostname()}:${process.pid}`,
    })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.NodeTracerProvider({
    resource,
    spanProcessors: [new sdk.BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // The W3C trace context propagator and an AsyncLocalStorage context manager: what the
  // spans of a request, a run and a call need to find their parents.
  provider.register();
  return {
    telemetry: new BullMQOtel({ tracerName: "bullmq", version: packageJson.version }),
    endpoint,
    shutdown: () => provider.shutdown().catch(() => undefined),
  };
}
