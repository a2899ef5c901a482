import swagger, { type SwaggerTransform } from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import packageJson from "../package.json" with { type: "json" };
import { adminAuth } from "./admin-auth.js";
import { analysisEventSchema } from "./analysis-event-schemas.js";
import { analysisListSchema, analysisSummarySchema } from "./analysis-list-schemas.js";
import {
  analysisAcceptedSchema,
  analysisCancelSchema,
  analysisJsonBodySchema,
  analysisOptionsSchema,
  webhookSchema,
} from "./analysis-schemas.js";
import {
  analysisErrorSchema,
  analysisProgressSchema,
  analysisResultSchema,
  analysisStatusSchema,
  analysisViewSchema,
  tokenUsageSchema,
  usageSummarySchema,
} from "./analysis-view-schemas.js";
import { CHAT_COMPONENT_SCHEMAS } from "./chat/chat-schemas.js";
import { errorBodySchema, healthBodySchema } from "./common-schemas.js";
import {
  sessionCreatedSchema,
  sessionJsonBodySchema,
  sessionQuestionAcceptedSchema,
  sessionQuestionBodySchema,
  sessionQuestionSchema,
  sessionViewSchema,
} from "./session-schemas.js";
import type { TokenVerifier } from "./token-verifier.js";

// Adding a route: write its whole Fastify `schema` (operationId, summary, tags, params,
// querystring, body, and a response schema for each status it answers, errors through
// `errorResponses`) beside the other schemas of its resource (e.g. analysis-schemas.ts),
// put new shared shapes in `API_COMPONENT_SCHEMAS`, and declare the route in a plugin
// registered after `registerOpenApi`. The document and /docs pick it up; run
// `npm run generate -w packages/client` for the typed client. The API's tests fail for a
// route with no operationId or response schemas, and for answers that do not match them.

/** Where the OpenAPI document is served (Bearer, like the rest of `/v1`). */
export const OPENAPI_PATH = "/v1/openapi.json";

/** Where the API's documentation page is served (Swagger UI, from local files). */
export const DOCS_PATH = "/docs";

/**
 * Schemas every route may point at with `{ $ref: "<$id>#" }`, registered once on the
 * server and listed by their `$id` under `components.schemas` of the document. A new
 * route with a new shared shape adds it here.
 */
export const API_COMPONENT_SCHEMAS = [
  errorBodySchema,
  healthBodySchema,
  analysisStatusSchema,
  tokenUsageSchema,
  usageSummarySchema,
  analysisProgressSchema,
  analysisErrorSchema,
  analysisResultSchema,
  analysisViewSchema,
  analysisEventSchema,
  analysisOptionsSchema,
  webhookSchema,
  analysisJsonBodySchema,
  analysisAcceptedSchema,
  analysisCancelSchema,
  sessionJsonBodySchema,
  sessionQuestionBodySchema,
  sessionQuestionSchema,
  sessionViewSchema,
  sessionCreatedSchema,
  sessionQuestionAcceptedSchema,
  analysisSummarySchema,
  analysisListSchema,
  ...CHAT_COMPONENT_SCHEMAS,
] as const;

/**
 * Paths of browser UIs, left out of the document: Bull Board's own routes, the viewer's
 * pages and the JSON they poll, and this documentation page. Every other route must
 * carry a schema with an `operationId` (the API's tests check it).
 */
export const UNDOCUMENTED_PREFIXES = ["/admin/", `${DOCS_PATH}/`] as const;

/** True for a route of a browser UI (see `UNDOCUMENTED_PREFIXES`). */
export function isUndocumentedRoute(url: string): boolean {
  return url === DOCS_PATH || UNDOCUMENTED_PREFIXES.some((prefix) => url.startsWith(prefix));
}

/**
 * The policy of the docs page: Swagger UI's scripts and styles from this server only
 * (none inline: its page loads them as files), its inline SVG icons as data URLs, and
 * requests ("Try it out") to this origin only. The machines that run this may be
 * offline, and nothing on the page is fetched from elsewhere.
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Registers @fastify/swagger, which builds the OpenAPI 3.1 document from the route
 * schemas (call before any route is declared: it collects them as they are added), and
 * the shared component schemas.
 *
 * Response schemas document the answers; they do not serialize them (see
 * `createApiServer`), so a field missing from a schema can never be dropped silently.
 */
export function registerOpenApi(app: FastifyInstance): void {
  for (const schema of API_COMPONENT_SCHEMAS) app.addSchema(schema);
  app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "RLM Queue API",
        version: packageJson.version,
        description:
          "Recursive Language Model analyses as durable jobs: enqueue an analysis over a " +
          "document, follow it, read its result. Every route but /health takes " +
          "`Authorization: Bearer <RLM_API_TOKEN>`.",
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: "http", scheme: "bearer", description: "RLM_API_TOKEN" },
        },
      },
      security: [{ bearerAuth: [] }],
      tags: [
        { name: "analyses", description: "Enqueue, follow, list and cancel analyses." },
        {
          name: "sessions",
          description:
            "Questions over one stored document whose REPL carries over: each question " +
            "starts from the variables the earlier ones defined, and `history`.",
        },
        {
          name: "openai",
          description:
            'OpenAI-compatible: chat completions answered by analyses (model "rlm"), for ' +
            "OpenAI's clients; errors in OpenAI's shape.",
        },
        { name: "meta", description: "This document." },
        { name: "health", description: "Liveness for load balancers." },
      ],
    },
    // Components are named by their `$id` (the default would be `def-0`, `def-1`, …).
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === "string" ? json.$id : `def-${i}`,
    },
    transform: ({ schema, url }) => ({
      schema: isUndocumentedRoute(url) ? { ...schema, hide: true } : schema,
      url,
    }),
  });
}

/** Request bodies by content type, as in an OpenAPI `requestBody.content`. */
export type BodyContents = Readonly<Record<string, { readonly schema: object }>>;

/**
 * A route's `config.swaggerTransform` that adds request bodies to its documentation
 * only: those its handler reads and checks itself (a multipart upload), which Fastify
 * must not validate, as it would validate a body it never parsed.
 */
export function withDocumentedBodies(extra: BodyContents): SwaggerTransform {
  return ({ schema, url }) => {
    const body = schema.body as { content?: BodyContents } | undefined;
    return {
      schema: { ...schema, body: { ...body, content: { ...body?.content, ...extra } } },
      url,
    };
  };
}

/** `GET /v1/openapi.json` (register in the Bearer-authenticated scope). */
export function openApiRoute(app: FastifyInstance): void {
  app.get(
    OPENAPI_PATH,
    {
      schema: {
        operationId: "getOpenApiDocument",
        summary: "This OpenAPI document",
        tags: ["meta"],
        response: {
          200: {
            description: "The OpenAPI 3.1 document.",
            type: "object",
            additionalProperties: true,
          },
        },
      },
    },
    async () => app.swagger(),
  );
}

/**
 * Swagger UI at `/docs`, served from the files of @fastify/swagger-ui (no request
 * leaves this server), behind the admin authentication: a Bearer header, or
 * `/docs?token=<api token>` once in a browser, which sets a cookie scoped to `/docs`.
 */
export function registerDocs(app: FastifyInstance, verifier: TokenVerifier): void {
  app.register(async (scope) => {
    scope.addHook("onRequest", adminAuth(verifier, DOCS_PATH));
    await scope.register(swaggerUi, {
      routePrefix: DOCS_PATH,
      staticCSP: DOCS_CONTENT_SECURITY_POLICY,
      uiConfig: { layout: "BaseLayout", deepLinking: true },
    });
  });
}
