import type { RlmQueueClient } from "@rlm/queue";
import type { FastifyInstance, FastifyReply } from "fastify";
import { type AnalysisParams, analysisParamsSchema } from "../analysis-schemas.js";
import { ApiError, ApiErrorCode } from "../api-error.js";
import { LIST_FILTERS, type ListFilter, listRecentAnalyses } from "../recent-analyses.js";
import { loadTrajectory, type TrajectorySource } from "../trajectory-loader.js";
import { loadViewerAssets } from "../viewer-assets.js";
import { renderViewerListPage } from "../viewer-list-page.js";
import { type HtmlPage, renderMissingPage, renderViewerPage } from "../viewer-page.js";
import { VIEWER_PATH } from "./viewer-paths.js";

export { VIEWER_PATH, viewerPath } from "./viewer-paths.js";

/** Analyses listed on the viewer's index page. */
export const RECENT_ANALYSES_LIMIT = 50;

/** What the viewer routes read. */
export interface ViewerRoutesOptions extends TrajectorySource {
  /** Cancels from the page (`client.cancel`, as `DELETE /v1/analyses/:id` does); lists. */
  client: Pick<RlmQueueClient, "getAnalysis" | "cancel" | "listAnalyses">;
}

const listQuerySchema = {
  type: "object",
  properties: { status: { type: "string", enum: [...LIST_FILTERS] } },
} as const;

const trajectoryQuerySchema = {
  type: "object",
  properties: { download: { type: "string", enum: ["1"] } },
} as const;

/**
 * Registers the trajectory viewer (authentication is the caller's hook):
 *
 * - `GET /admin/viewer[?status=active|completed|failed|cancelled]` → recent root
 *   analyses, newest first, linked to their pages
 * - `GET /admin/viewer/:id` → the live trajectory page of one analysis
 * - `GET /admin/api/analyses/:id/trajectory[?download=1]` → the JSON that page polls
 *   (ETag, 304), or the same as a file
 * - `POST /admin/api/analyses/:id/cancel` → `{ id, outcome }`, the page's Cancel button
 */
export async function viewerRoutes(app: FastifyInstance, options: ViewerRoutesOptions) {
  app.get<{ Querystring: { status?: ListFilter } }>(
    VIEWER_PATH,
    { schema: { querystring: listQuerySchema } },
    async (request, reply) => {
      const filter = request.query.status;
      const [analyses, assets] = await Promise.all([
        listRecentAnalyses(options.client, RECENT_ANALYSES_LIMIT, filter),
        loadViewerAssets(),
      ]);
      return sendPage(reply, 200, renderViewerListPage(analyses, assets, filter));
    },
  );

  app.get<{ Params: AnalysisParams }>(
    `${VIEWER_PATH}/:id`,
    { schema: { params: analysisParamsSchema } },
    async (request, reply) => {
      const { id } = request.params;
      const [loaded, assets] = await Promise.all([loadTrajectory(options, id), loadViewerAssets()]);
      if (loaded.kind !== "found") return sendPage(reply, 404, renderMissingPage(id, assets));
      return sendPage(reply, 200, renderViewerPage(loaded.trajectory, assets));
    },
  );

  app.get<{ Params: AnalysisParams; Querystring: { download?: "1" } }>(
    "/admin/api/analyses/:id/trajectory",
    { schema: { params: analysisParamsSchema, querystring: trajectoryQuerySchema } },
    async (request, reply) => {
      const { id } = request.params;
      const download = request.query.download === "1";
      const ifNoneMatch = download ? undefined : request.headers["if-none-match"];
      const loaded = await loadTrajectory(options, id, ifNoneMatch);
      if (loaded.kind === "not_found") {
        throw new ApiError(404, ApiErrorCode.notFound, `no analysis ${id}`);
      }
      // private, no-cache: a browser may keep it but must revalidate (a cheap 304).
      reply.header("etag", loaded.etag).header("cache-control", "private, no-cache");
      if (loaded.kind === "not_modified") return reply.code(304).send();
      if (download) {
        reply.header("content-disposition", `attachment; filename="${id}.trajectory.json"`);
      }
      return loaded.trajectory;
    },
  );

  app.post<{ Params: AnalysisParams }>(
    "/admin/api/analyses/:id/cancel",
    { schema: { params: analysisParamsSchema } },
    async (request, reply) => {
      // A form on another site cannot send JSON without a CORS preflight, which this
      // server does not answer; with the SameSite=Strict cookie that rules out forged
      // cancels.
      if (!String(request.headers["content-type"] ?? "").startsWith("application/json")) {
        throw new ApiError(
          415,
          ApiErrorCode.unsupportedMediaType,
          "send the cancel as application/json",
        );
      }
      const { id } = request.params;
      const outcome = await options.client.cancel(id);
      if (outcome === "not_found") {
        throw new ApiError(404, ApiErrorCode.notFound, `no analysis ${id}`);
      }
      if (outcome === "already_finished") {
        throw new ApiError(
          409,
          ApiErrorCode.alreadyFinished,
          `analysis ${id} has already finished`,
        );
      }
      request.log.info({ analysisId: id, outcome }, "analysis cancel from the viewer");
      return reply.code(202).send({ id, outcome });
    },
  );
}

function sendPage(reply: FastifyReply, statusCode: number, page: HtmlPage): FastifyReply {
  return reply
    .code(statusCode)
    .type("text/html; charset=utf-8")
    .header("content-security-policy", page.contentSecurityPolicy)
    .header("cache-control", "no-store")
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer")
    .send(page.html);
}
