export { ADMIN_COOKIE } from "./admin-auth.js";
export { type ApiErrorBody, ApiErrorCode } from "./api-error.js";
export type { ApiLoggerOption } from "./api-logger.js";
export { BULL_BOARD_PATH } from "./bull-board.js";
export type { HealthBody } from "./health.js";
export { type ApiServerOptions, createApiServer, DEFAULT_BODY_LIMIT_BYTES } from "./server.js";
