import { context, propagation, trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-node";

/** An OpenTelemetry SDK for one test file: every finished span kept in memory. */
export interface MemoryTracing {
  /** Finished spans so far. */
  spans(): ReadableSpan[];
  /** The spans of one trace, by name. */
  named(name: string, traceId?: string): ReadableSpan[];
  /** The parent span of `span` among the finished ones. */
  parentOf(span: ReadableSpan): ReadableSpan | undefined;
  /** Forgets the spans so far. */
  reset(): void;
  /** Unregisters the SDK: this test file's fork may run other files next. */
  shutdown(): Promise<void>;
}

/**
 * Registers a tracer provider (AsyncLocalStorage context, W3C trace context propagator,
 * as an application's SDK would) that keeps spans in memory.
 */
export function memoryTracing(): MemoryTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  const spans = () => exporter.getFinishedSpans();
  return {
    spans,
    named: (name, traceId) =>
      spans().filter(
        (span) =>
          span.name === name && (traceId === undefined || span.spanContext().traceId === traceId),
      ),
    parentOf: (span) => {
      const parent = span.parentSpanContext?.spanId;
      return parent === undefined
        ? undefined
        : spans().find((candidate) => candidate.spanContext().spanId === parent);
    },
    reset: () => exporter.reset(),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
