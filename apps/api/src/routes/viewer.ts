import type { RootQueue } from "@rlm/queue";
import type { FastifyInstance, FastifyReply } from "fastify";
import { type AnalysisParams, analysisParamsSchema } from "../analysis-schemas.js";
import { ApiError, ApiErrorCode } from "../api-error.js";
import { listRecentAnalyses } from "../recent-analyses.js";
import { loadTrajectory, type TrajectorySource } from "../trajectory-loader.js";
import { loadViewerAssets } from "../viewer-assets.js";
import { renderViewerListPage } from "../viewer-list-page.js";
import { type HtmlPage, renderMissingPage, renderViewerPage } from "../viewer-page.js";

/** Where the trajectory viewer is mounted. */
export const VIEWER_PATH = "/admin/viewer";

/** The viewer page of an analysis, as linked from the API's 202 response. */
export function viewerPath(analysisId: string): string {
  return `${VIEWER_PATH}/${encodeURIComponent(analysisId)}`;
}

/** Analyses listed on the viewer's index page. */
export const RECENT_ANALYSES_LIMIT = 50;

/** What the viewer routes read. */
export interface ViewerRoutesOptions extends TrajectorySource {
  rootQueue: RootQueue;
}

/**
 * Registers the trajectory viewer (authentication is the caller's hook):
 *
 * - `GET /admin/viewer` → recent root analyses, linked to their pages
 * - `GET /admin/viewer/:id` → the live trajectory page of one analysis
 * - `GET /admin/api/analyses/:id/trajectory` → the JSON that page polls (ETag, 304)
 */
export async function viewerRoutes(app: FastifyInstance, options: ViewerRoutesOptions) {
  app.get(VIEWER_PATH, async (_request, reply) => {
    const [analyses, assets] = await Promise.all([
      listRecentAnalyses(options.rootQueue, options.client, RECENT_ANALYSES_LIMIT),
      loadViewerAssets(),
    ]);
    return sendPage(reply, 200, renderViewerListPage(analyses, assets));
  });

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

  app.get<{ Params: AnalysisParams }>(
    "/admin/api/analyses/:id/trajectory",
    { schema: { params: analysisParamsSchema } },
    async (request, reply) => {
      const { id } = request.params;
      const loaded = await loadTrajectory(options, id, request.headers["if-none-match"]);
      if (loaded.kind === "not_found") {
        throw new ApiError(404, ApiErrorCode.notFound, `no analysis ${id}`);
      }
      // private, no-cache: a browser may keep it but must revalidate (a cheap 304).
      reply.header("etag", loaded.etag).header("cache-control", "private, no-cache");
      if (loaded.kind === "not_modified") return reply.code(304).send();
      return loaded.trajectory;
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
