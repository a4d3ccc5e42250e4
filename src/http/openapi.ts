import { z } from 'zod';
import type { VaultConfig } from '../config/config-schema';
import type { Answer, AnyOperation, RequestHeader, ResponseHeader } from '../kernel/operation';
import { problemSchema } from './responses';

type Schema = z.ZodType;

/** How an operation's access reads in its description. */
function who(o: AnyOperation): string {
  if (o.access === 'public') return 'public';
  if (o.access === 'authenticated') return o.path.startsWith('/vault/') ? 'per access policy' : 'authenticated';
  return (o.access as readonly string[]).join(', ');
}

/** `/vault/:purpose/:external_id` → `/vault/{purpose}/{external_id}`. */
const openApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

/** A request schema as what it accepts (`io: 'input'`), a response schema as what the vault writes (`'output'`). */
const jsonSchema = (schema: Schema, io: 'input' | 'output' = 'input') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;

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
 * A sub-schema with an id of its own (`.meta({ id: 'Entry' })`) keeps it as its component name, shared by
 * every operation that uses it (two different schemas under one id are an error); zod's anonymous ones
 * (`__schema0`) are named after the operation.
 */
function hoistDefs(schema: Record<string, unknown>, prefix: string, components: Record<string, unknown>): Record<string, unknown> {
  const defs = schema.$defs as Record<string, unknown> | undefined;
  if (!defs) return schema;
  const { $defs: _, ...rest } = schema;
  const rename = (def: string) => (def.startsWith('__') ? `${prefix}_${def.replace(/^_+/, '')}` : def);
  // zod's z.json() is a recursive union that admits exactly every JSON value: said as `{}` (any value), which
  // means the same for a JSON body and which a generated client can type (a recursive one defeats openapi-fetch).
  const anyJson = new Set(
    Object.entries(defs)
      .filter(([def, body]) => isJsonValue(body, `#/$defs/${def}`))
      .map(([def]) => `#/$defs/${def}`),
  );
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    const ref = (value as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && anyJson.has(ref)) return { description: 'any JSON value' };
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? `#/components/schemas/${rename(v.slice('#/$defs/'.length))}` : rewrite(v),
      ]),
    );
  };
  for (const [def, body] of Object.entries(defs)) {
    if (anyJson.has(`#/$defs/${def}`)) continue;
    const name = rename(def);
    const value = rewrite(body);
    if (name in components && JSON.stringify(components[name]) !== JSON.stringify(value)) throw new Error(`two different schemas are named ${name}`);
    components[name] = value;
  }
  return rewrite(rest) as Record<string, unknown>;
}

/** Whether a schema is z.json()'s: string, number, boolean, null, or an array or object of itself (`ref`). */
function isJsonValue(schema: unknown, ref: string): boolean {
  const self = { $ref: ref };
  const json = [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'null' },
    { type: 'array', items: self },
    { type: 'object', propertyNames: { type: 'string' }, additionalProperties: self },
  ];
  return JSON.stringify(schema) === JSON.stringify({ anyOf: json });
}

/** The request headers operations read, documented once. */
const REQUEST_HEADERS: Record<RequestHeader, { name: string; description: string; schema: Record<string, unknown> }> = {
  'if-match': {
    name: 'If-Match',
    description:
      'Apply only to the version named: one or more quoted ETags, or `*` for any existing entry (strong comparison; a weak `W/"…"` tag never matches). 412 when it does not match. A re-wrap requires it, with the ETag you read (not `*`): 428 without it.',
    schema: { type: 'string' },
  },
  'if-none-match': {
    name: 'If-None-Match',
    description:
      'On a store, `*`: create only, 412 if a live entry exists. On a GET or HEAD, the ETags you hold: 304 with no body when one of them is current (no retrieval spent).',
    schema: { type: 'string' },
  },
  'idempotency-key': {
    name: 'Idempotency-Key',
    description:
      'Safe retries (1–128 printable characters): a repeat of the same request by the same app within 24 hours gets the first answer again with `Idempotent-Replayed: true` and is not applied again; the same key with another request is 422, a repeat while the first runs 409.',
    schema: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]{1,128}$' },
  },
};

/** The response headers a client relies on, documented once. */
const RESPONSE_HEADERS: Record<ResponseHeader, { name: string; description: string; schema: Record<string, unknown> }> = {
  etag: { name: 'ETag', description: "The entry version's strong entity tag (quoted); send it back in If-Match or If-None-Match.", schema: { type: 'string' } },
  location: { name: 'Location', description: "The entry's path.", schema: { type: 'string' } },
  'x-vault-expires-at': { name: 'X-Vault-Expires-At', description: 'When the entry expires (RFC 3339).', schema: { type: 'string', format: 'date-time' } },
  'last-modified': { name: 'Last-Modified', description: 'When the entry was last written (HTTP-date).', schema: { type: 'string' } },
  'idempotent-replayed': {
    name: 'Idempotent-Replayed',
    description: 'Present (`true`) when this is the kept answer to an earlier request with the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  },
};

function headerParameters(o: AnyOperation) {
  return (o.headers ?? []).map((h) => {
    const { name, required } = typeof h === 'string' ? { name: h, required: false } : h;
    const { name: wire, ...rest } = REQUEST_HEADERS[name];
    return { name: wire, in: 'header', required, ...rest };
  });
}

/** One status's response object: its own answer, problem+json for an error without one, else no body. */
function response(status: number, description: string, answer: Answer | undefined, prefix: string, components: Record<string, unknown>) {
  if (!answer) {
    return status >= 400 ? { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } } : { description };
  }
  const content: Record<string, { schema: Record<string, unknown> }> = {};
  if (answer.schema) {
    const { $schema: _, ...schema } = jsonSchema(answer.schema, 'output');
    content['application/json'] = { schema: hoistDefs(schema, prefix, components) };
  }
  for (const type of answer.types ?? []) content[type] = { schema: { type: 'string' } };
  const headers = Object.fromEntries(
    (answer.headers ?? []).map((h) => {
      const { name, ...rest } = RESPONSE_HEADERS[h];
      return [name, rest];
    }),
  );
  return {
    description,
    ...(Object.keys(headers).length > 0 && { headers }),
    ...(Object.keys(content).length > 0 && { content }),
  };
}

/** A body validated in stages (a zod pipe: a cheap check first, then the full schema) is documented by the schema it finally meets. */
const lastStage = (schema: Schema): Schema => (schema instanceof z.ZodPipe ? lastStage(schema.out as Schema) : schema);

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
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query'), ...headerParameters(r)],
      ...(r.body && { requestBody: { required: true, content: { 'application/json': { schema: hoistDefs(jsonSchema(lastStage(r.body)), id, shared) } } } }),
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([status, description]) => [
          status,
          response(Number(status), description, r.answers?.[Number(status)], `${id}_${status}`, shared),
        ]),
      ),
    };
  }
  // The problem body, from the same schema a batch item's `problem` is declared with (so the two are one component).
  const { $schema: _, ...problem } = jsonSchema(problemSchema, 'output');
  hoistDefs(problem, 'Problem', shared);
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
      schemas: shared,
    },
  };
}
