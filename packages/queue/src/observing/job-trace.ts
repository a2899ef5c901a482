import { failSpan } from "@rlm/core";
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
} from "@opentelemetry/api";

/**
 * The W3C trace context (`traceparent`, `tracestate`) of the span a job was added under,
 * carried in the job's data: the job's spans, in whichever process runs it, are children
 * of that span. BullMQ's own propagation (bullmq-otel) is left to the queues that add
 * jobs: its consumer side spans every stalled-job check (once a second here) and every
 * fetch of an LM job, which this package makes by hand (`getNextJob`).
 */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** Attribute names of the queue's spans (OpenTelemetry's messaging conventions). */
export const JobSpanAttributes = {
  system: "messaging.system",
  destination: "messaging.destination.name",
  messageId: "messaging.message.id",
  operation: "messaging.operation.type",
  worker: "rlm.worker",
  rebuilt: "rlm.run.rebuilt",
  callOutcome: "rlm.call.outcome",
} as const;

/** Span names of the queue. */
export const JobSpanNames = {
  /** One run of an `rlm-root` job (a top or nested analysis) in this process. */
  run: "rlm.run",
  /** One call of an LM job, in the process that took the job. */
  llmCall: "rlm.llm_call",
  /** An analysis enqueued (its document stored, its record and job added). */
  enqueue: "rlm.enqueue",
} as const;

const tracer = trace.getTracer("@rlm/queue");

/**
 * The active trace context for job data; undefined when there is none (no SDK
 * registered, or no span active): then nothing is added to the data.
 */
export function traceCarrier(): TraceCarrier | undefined {
  const carrier: Partial<TraceCarrier> = {};
  propagation.inject(context.active(), carrier);
  if (carrier.traceparent === undefined) return undefined;
  return carrier.tracestate
    ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    : { traceparent: carrier.traceparent };
}

/**
 * Runs `fn` in a consumer span whose parent is the one `carrier` names (a new trace when
 * it names none), whatever context is active here: a worker's loop runs in the context it
 * was started in, which has nothing to do with the job. An error `fn` throws marks the
 * span failed unless `expected` says it is part of the job's course (waiting-children).
 */
export async function inJobSpan<T>(
  name: string,
  carrier: TraceCarrier | undefined,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  expected: (error: unknown) => boolean = () => false,
): Promise<T> {
  const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
  return inQueueSpan(name, SpanKind.CONSUMER, parent, attributes, fn, expected);
}

/**
 * Runs `fn` in a producer span, a child of the active context: its job's data carries
 * it (`traceCarrier` inside `fn`), so the job's spans are its children.
 */
export function inProducerSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return inQueueSpan(name, SpanKind.PRODUCER, context.active(), attributes, fn);
}

async function inQueueSpan<T>(
  name: string,
  kind: SpanKind,
  parent: Context,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  expected: (error: unknown) => boolean = () => false,
): Promise<T> {
  const span = tracer.startSpan(name, { kind, attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    if (!expected(error)) failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}
