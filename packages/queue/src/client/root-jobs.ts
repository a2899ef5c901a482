import { FlowProducer } from "bullmq";
import { jobNames } from "../jobs/job-names.js";
import type { RootJobData } from "../jobs/job-types.js";
import { QueueName } from "../jobs/queue-names.js";
import {
  bullmqOptions,
  defaultJobOptions,
  type QueueJobSettings,
  type QueueTopology,
  ROOT_JOB_DEFAULTS,
  type RootQueue,
} from "../jobs/queues.js";
import { type WebhookJobData, webhookJobName, webhookJobOptions } from "../jobs/webhook-jobs.js";

/** Where an analysis's end is POSTed (see `EnqueueAnalysisInput.webhook`). */
export interface AnalysisWebhook {
  url: string;
}

/**
 * Adds a top analysis's root job (job id = analysis id). With a webhook, the root job is
 * added as the child of its delivery job on `rlm-webhooks`, in one BullMQ flow (one
 * MULTI): the delivery exists, durably, from the moment the analysis does, and BullMQ
 * itself moves it on once the root job has ended, whichever way: completed, failed for
 * good (`ignoreDependencyOnFailure`), or removed by a cancel while queued. The other
 * designs weighed: adding the delivery in the terminal transition (a crash between the
 * transition and the add loses it, and a cancel, a worker's ending and the failed-job
 * handler would each need the add), or an outbox stream written by the transition script
 * (atomic, but one key for all analyses beside each analysis's own keys, which a Redis
 * Cluster refuses in one script, and a drain loop of our own to keep).
 */
export class RootJobs {
  private flows: FlowProducer | undefined;

  constructor(
    private readonly queue: RootQueue,
    private readonly topology: QueueTopology,
    private readonly rootSettings: QueueJobSettings | undefined,
    private readonly webhookSettings: QueueJobSettings | undefined,
  ) {}

  /**
   * Adds the job (and its delivery job). Adding an id that exists is a no-op in BullMQ,
   * so a retried enqueue never runs an analysis, nor delivers its end, twice.
   */
  async add(data: RootJobData, webhook?: AnalysisWebhook): Promise<void> {
    const id = data.analysisId;
    const name = jobNames.analysis(id, data.query);
    if (webhook === undefined) {
      await this.queue.add(name, data, { jobId: id });
      return;
    }
    const delivery: WebhookJobData = { analysisId: id, url: webhook.url };
    await this.flowProducer().add({
      name: webhookJobName(id, webhook.url),
      queueName: QueueName.webhooks,
      data: delivery,
      opts: webhookJobOptions(id, this.webhookSettings),
      children: [
        {
          name,
          queueName: QueueName.root,
          data,
          opts: {
            // A flow's jobs get no queue defaults: the root queue's are written out.
            ...defaultJobOptions(this.rootSettings, ROOT_JOB_DEFAULTS),
            jobId: id,
            ignoreDependencyOnFailure: true,
          },
        },
      ],
    });
  }

  /** Closes the flow producer, if one was opened. */
  async close(): Promise<void> {
    await this.flows?.close();
  }

  private flowProducer(): FlowProducer {
    if (!this.flows) {
      this.flows = new FlowProducer(bullmqOptions(this.topology));
      // As a Queue's: connection trouble surfaces as a rejected add, not a crash.
      this.flows.on("error", () => {});
    }
    return this.flows;
  }
}
