import { z } from 'zod';

/** /health and /readyz when ready. */
export const readyResponse = z
  .object({ status: z.literal('ok'), database: z.literal('up') })
  .meta({ id: 'Ready', description: 'The database answers and the vault is not draining.' });

/** /health and /readyz when not: plain JSON, not problem+json (a probe reads the status code). */
export const notReadyResponse = z
  .object({ status: z.enum(['draining', 'unavailable']), database: z.enum(['unknown', 'down']) })
  .meta({ id: 'NotReady', description: 'Draining (database not consulted) or the database does not answer.' });

export const aliveResponse = z.object({ status: z.literal('ok') }).meta({ id: 'Alive', description: 'The process serves requests.' });

/** /.well-known/jwks.json: public keys only (RFC 7517). */
export const jwksResponse = z
  .object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() }).meta({ id: 'Jwk', description: 'A public key (RFC 7517).' })) })
  .meta({ id: 'Jwks', description: 'The public keys that sign evidence; empty without a signing key.' });

/** /openapi.json: this document (described only at its top level). */
export const openApiResponse = z
  .looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) })
  .meta({ id: 'OpenApiDocument', description: 'An OpenAPI 3.1 document.' });
