import { z } from 'zod';
import type { VaultConfig } from '../config/config-schema';
import type { AnyOperation } from '../kernel/operation';

type Schema = z.ZodType;

/** How an operation's access reads in its description. */
function who(o: AnyOperation): string {
  if (o.access === 'public') return 'public';
  if (o.access === 'authenticated') return o.path.startsWith('/vault/') ? 'per access policy' : 'authenticated';
  return (o.access as readonly string[]).join(', ');
}

/** `/vault/:purpose/:external_id` → `/vault/{purpose}/{external_id}`. */
const openApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

const jsonSchema = (schema: Schema) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;

function parameters(object: z.ZodObject | undefined, where: 'path' | 'query') {
  if (!object) return [];
  const schema = jsonSchema(object) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (schema.required ?? []).includes(name),
    schema: s,
  }));
}

/** `access_log.read` → `accessLogRead`: the operation's audit name, as client generators name functions. */
const operationIdOf = (name: string) => name.replace(/[._]([a-z])/g, (_, ch: string) => ch.toUpperCase());

/**
 * Moves a schema's `$defs` (zod's shared sub-schemas) into components.schemas under names of their own,
 * and points its `$ref`s there: a `#/$defs/…` inside an operation does not resolve from the document root.
 */
function hoistDefs(schema: Record<string, unknown>, prefix: string, components: Record<string, unknown>): Record<string, unknown> {
  const defs = schema.$defs as Record<string, unknown> | undefined;
  if (!defs) return schema;
  const { $defs: _, ...rest } = schema;
  const rename = (def: string) => `${prefix}_${def.replace(/^_+/, '')}`;
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? `#/components/schemas/${rename(v.slice('#/$defs/'.length))}` : rewrite(v),
      ]),
    );
  };
  for (const [def, body] of Object.entries(defs)) components[rename(def)] = rewrite(body);
  return rewrite(rest) as Record<string, unknown>;
}

/** OpenAPI 3.1, generated from the operation table and the zod schemas that validate requests. */
export function buildOpenApi(config: Readonly<VaultConfig>, version: string, operations: readonly AnyOperation[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  const shared: Record<string, unknown> = {};
  for (const r of operations) {
    const security = r.access === 'public' ? [] : [{ apiKey: [] }, { bearer: [] }, { mtls: [] }];
    const id = r.operationId ?? operationIdOf(r.name);
    (paths[openApiPath(r.path)] ??= {})[r.method.toLowerCase()] = {
      operationId: id,
      summary: r.summary,
      description: `Who: ${who(r)}.`,
      security,
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(r.body && { requestBody: { required: true, content: { 'application/json': { schema: hoistDefs(jsonSchema(r.body), id, shared) } } } }),
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([status, description]) => [
          status,
          Number(status) >= 400
            ? { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } }
            : { description },
        ]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'vsql-vault',
      version,
      description: 'Governed storage for opaque, already-encrypted values.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    // Relative to where this document is served: the vault itself.
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: config.auth.api_key_header },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        mtls: { type: 'mutualTLS' },
      },
      schemas: {
        ...shared,
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'request_id'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            request_id: { type: ['string', 'null'] },
            code: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { location: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
      },
    },
  };
}
