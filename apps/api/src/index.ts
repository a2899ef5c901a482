export { ADMIN_COOKIE, ADMIN_COOKIE_PATH } from "./admin-auth.js";
export { type ApiErrorBody, ApiErrorCode } from "./api-error.js";
export type { ApiLoggerOption } from "./api-logger.js";
export { BULL_BOARD_PATH } from "./bull-board.js";
export type { HealthBody } from "./health.js";
export { type ApiServerOptions, createApiServer, DEFAULT_BODY_LIMIT_BYTES } from "./server.js";
export { VIEWER_PATH, viewerPath } from "./routes/viewer.js";
export { buildTrajectory } from "./trajectory.js";
export type * from "./trajectory-types.js";
