// What other apps (the `rlm worker`'s metrics) share with the API's: `@rlm/api/metrics`,
// apart from the server so that importing it loads no Fastify.
export { type AnalysisMetrics, analysisMetrics } from "./analysis-metrics.js";
