import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

/** The parts of an OpenAPI 3.1 document the checker reads. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, object> };
}

/** One operation of the document. */
export interface OpenApiOperation {
  operationId?: string;
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema?: object }> };
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}

/**
 * Checks real answers against the document the server publishes: the body of a
 * response must match the schema of its path, method, status and content type. A field
 * the server sends that a schema lacks (they are closed with
 * `additionalProperties: false`) fails here, so the document, and the client typed from
 * it, cannot drift from the server unnoticed.
 */
export class OpenApiChecker {
  private readonly ajv: Ajv2020;

  constructor(readonly document: OpenApiDocument) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(this.ajv);
    this.ajv.addSchema({ $id: "openapi.json", components: document.components });
  }

  /** The operation at an OpenAPI path (`/v1/analyses/{id}`) and method, or a failure. */
  operation(path: string, method: string): OpenApiOperation {
    const operation = this.document.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`the document has no ${method} ${path}`);
    return operation;
  }

  /** Throws with Ajv's errors unless `body` matches the documented response. */
  checkResponse(
    path: string,
    method: string,
    status: number,
    body: unknown,
    contentType = "application/json",
  ): void {
    const response = this.operation(path, method).responses[String(status)];
    if (!response) throw new Error(`${method} ${path} documents no ${status}`);
    const schema = response.content?.[contentType]?.schema;
    if (!schema) throw new Error(`${method} ${path} ${status} documents no ${contentType} body`);
    this.check(schema, body, `${method} ${path} ${status}`);
  }

  /** Throws unless `value` matches the component `name`. */
  checkComponent(name: string, value: unknown): void {
    if (!this.document.components.schemas[name]) throw new Error(`no component ${name}`);
    this.check({ $ref: `#/components/schemas/${name}` }, value, name);
  }

  private check(schema: object, value: unknown, what: string): void {
    // Local references (`#/components/…`) resolve against the registered document.
    const validate = this.ajv.compile(rebase(schema));
    if (!validate(value)) {
      throw new Error(
        `${what} does not match the document: ${this.ajv.errorsText(validate.errors)}\n` +
          JSON.stringify(value).slice(0, 2_000),
      );
    }
  }
}

/** Points `#/components/…` references at the registered document. */
function rebase(schema: object): object {
  return JSON.parse(
    JSON.stringify(schema).replaceAll('"$ref":"#/components/', '"$ref":"openapi.json#/components/'),
  ) as object;
}
