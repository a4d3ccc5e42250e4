import { z } from 'zod';
import type { VaultConfig } from '../config/config-schema';
import { complianceReportQuerySchema } from './routes/compliance.routes';
import { sweepListQuerySchema, sweepQuerySchema } from './routes/purge.routes';
import { accessLogQuerySchema, purgeLogQuerySchema } from './schemas/log-query.schemas';
import { accessPolicyBodySchema, policyNameParam, retentionBodySchema } from './schemas/policy.schemas';
import { entryKeyParam, listQuerySchema, purposeParam, storeBodySchema } from './schemas/vault.schemas';

type Schema = z.ZodType;
type Who = 'public' | 'authenticated' | 'admin' | 'admin, auditor' | 'per access policy';

interface RouteDoc {
  method: 'get' | 'put' | 'post' | 'delete' | 'head';
  path: string;
  summary: string;
  who: Who;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: Schema;
  /** Status → description; errors are rendered as problem+json. */
  responses: Record<number, string>;
}

const AUTH_ERRORS = { 401: 'no valid credential', 429: 'too many failed authentications from this address' };
const COMMON = { 400: 'invalid input (problem+json names each field)', 503: 'database unavailable; nothing changed' };

/** Every route the app serves, with the same zod schemas that validate its requests. */
export function routeDocs(config: Readonly<VaultConfig>): RouteDoc[] {
  const limits = { maxValueBytes: config.limits.max_value_bytes, maxMetadataBytes: config.limits.max_metadata_bytes };
  const admin = { ...AUTH_ERRORS, 403: 'the admin role is required' };
  const evidence = { ...AUTH_ERRORS, 403: 'the admin or auditor role is required' };
  const docs: RouteDoc[] = [
    { method: 'put', path: '/vault/{purpose}/{external_id}', summary: 'Store or replace an encrypted blob', who: 'per access policy', params: entryKeyParam, body: storeBodySchema(limits),
      responses: { 200: 'replaced (ETag)', 201: 'created (ETag, Location)', ...COMMON, ...AUTH_ERRORS, 403: 'denied by the store rule or not the owner', 412: 'If-Match / If-None-Match failed', 413: 'value too large', 415: 'not application/json', 422: 'no retention policy, unknown access policy, or expires_at outside the retention window' } },
    { method: 'get', path: '/vault/{purpose}/{external_id}', summary: 'Retrieve the blob and its metadata', who: 'per access policy', params: entryKeyParam,
      responses: { 200: 'the entry (ETag)', ...COMMON, ...AUTH_ERRORS, 403: 'denied by the retrieve rule or retrieval budget spent', 404: 'unknown entry', 410: 'expired or purged' } },
    { method: 'head', path: '/vault/{purpose}/{external_id}', summary: 'Existence and expiry, no body, no retrieval counted', who: 'per access policy', params: entryKeyParam,
      responses: { 200: 'exists (ETag, X-Vault-Expires-At)', ...COMMON, ...AUTH_ERRORS, 403: 'denied', 404: 'unknown entry', 410: 'expired or purged' } },
    { method: 'delete', path: '/vault/{purpose}/{external_id}', summary: 'Purge now; returns the purge receipt', who: 'per access policy', params: entryKeyParam,
      responses: { 200: 'purge receipt with SHA-256 proof', ...COMMON, ...AUTH_ERRORS, 403: 'denied by the purge rule', 404: 'unknown entry', 410: 'already purged' } },
    { method: 'get', path: '/vault/{purpose}', summary: 'List metadata of the entries the caller may retrieve', who: 'authenticated', params: purposeParam, query: listQuerySchema(config.limits.list_max_limit),
      responses: { 200: '{ items, next_cursor }', ...COMMON, ...AUTH_ERRORS, 403: 'purpose outside the app scope' } },
    { method: 'get', path: '/admin/retention-policies', summary: 'List retention policies', who: 'admin', responses: { 200: '{ items }', ...COMMON, ...admin } },
    { method: 'put', path: '/admin/retention-policies/{purpose}', summary: 'Create or replace a retention policy', who: 'admin', params: purposeParam, body: retentionBodySchema,
      responses: { 200: 'replaced', 201: 'created', ...COMMON, ...admin, 415: 'not application/json' } },
    { method: 'get', path: '/admin/retention-policies/{purpose}', summary: 'Read a retention policy', who: 'admin', params: purposeParam, responses: { 200: 'the policy', ...COMMON, ...admin, 404: 'none' } },
    { method: 'delete', path: '/admin/retention-policies/{purpose}', summary: 'Delete a retention policy', who: 'admin', params: purposeParam,
      responses: { 204: 'deleted', ...COMMON, ...admin, 404: 'none', 409: 'entries of the purpose exist' } },
    { method: 'get', path: '/admin/access-policies', summary: 'List access policies (built-ins included)', who: 'admin', responses: { 200: '{ items }', ...COMMON, ...admin } },
    { method: 'put', path: '/admin/access-policies/{name}', summary: 'Create or replace a custom access policy', who: 'admin', params: policyNameParam, body: accessPolicyBodySchema,
      responses: { 200: 'replaced', 201: 'created', ...COMMON, ...admin, 409: 'built-in policies are read-only', 415: 'not application/json' } },
    { method: 'get', path: '/admin/access-policies/{name}', summary: 'Read an access policy', who: 'admin', params: policyNameParam, responses: { 200: 'the policy', ...COMMON, ...admin, 404: 'none' } },
    { method: 'delete', path: '/admin/access-policies/{name}', summary: 'Delete a custom access policy', who: 'admin', params: policyNameParam,
      responses: { 204: 'deleted', ...COMMON, ...admin, 404: 'none', 409: 'built-in, or in use by entries' } },
    { method: 'post', path: '/admin/purge/sweep', summary: 'Run a purge sweep now (or a dry run)', who: 'admin', query: sweepQuerySchema, responses: { 200: 'the sweep run, or what would go', ...COMMON, ...admin } },
    { method: 'get', path: '/admin/purge/sweeps', summary: 'The sweep record, newest first', who: 'admin, auditor', query: sweepListQuerySchema, responses: { 200: '{ items }', ...COMMON, ...evidence } },
    { method: 'get', path: '/admin/access-log', summary: 'Query the access log, newest first', who: 'admin, auditor', query: accessLogQuerySchema, responses: { 200: '{ items, next_cursor }', ...COMMON, ...evidence } },
    { method: 'get', path: '/admin/purge-log', summary: 'Query the purge log with proofs and receipts', who: 'admin, auditor', query: purgeLogQuerySchema, responses: { 200: '{ items, next_cursor }', ...COMMON, ...evidence } },
    { method: 'get', path: '/admin/audit/verify', summary: 'Recompute the audit seals; says where the trail breaks', who: 'admin, auditor', responses: { 200: 'verification report', ...COMMON, ...evidence } },
    { method: 'post', path: '/admin/audit/seal', summary: 'Seal the logs now', who: 'admin', responses: { 200: 'the seals written', ...COMMON, ...admin } },
    { method: 'get', path: '/compliance/report', summary: 'PCI DSS Req 3 evidence snapshot', who: 'admin, auditor', query: complianceReportQuerySchema, responses: { 200: 'the report', ...COMMON, ...evidence } },
    { method: 'get', path: '/openapi.json', summary: 'This document', who: 'authenticated', responses: { 200: 'OpenAPI 3.1', ...AUTH_ERRORS } },
    { method: 'get', path: '/.well-known/jwks.json', summary: 'Public key(s) that sign purge receipts', who: 'public', responses: { 200: 'JWKS' } },
    { method: 'get', path: '/health', summary: 'Liveness and database reachability', who: 'public', responses: { 200: 'ok', 503: 'database down or draining' } },
  ];
  if (config.metrics.enabled) {
    docs.push({ method: 'get', path: '/metrics', summary: 'Prometheus metrics', who: config.metrics.require_auth ? 'admin, auditor' : 'public', responses: config.metrics.require_auth ? { 200: 'text exposition', ...evidence } : { 200: 'text exposition' } });
  }
  return docs;
}

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

/** OpenAPI 3.1, generated from the route table and the zod schemas that validate requests. */
export function buildOpenApi(config: Readonly<VaultConfig>, version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routeDocs(config)) {
    const security = r.who === 'public' ? [] : [{ apiKey: [] }, { bearer: [] }, { mtls: [] }];
    (paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      description: `Who: ${r.who}.`,
      security,
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(r.body && { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } }),
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
    info: { title: 'vsql-vault', version, description: 'Governed storage for opaque, already-encrypted values.' },
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: config.auth.api_key_header },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        mtls: { type: 'mutualTLS' },
      },
      schemas: {
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
