import type { Signer } from '../../kernel/signer';
import { recordOnly } from '../../kernel/executor';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { AUTH_ERRORS } from '../../http/responses';
import { jwksResponse, openApiResponse } from './service.responses';

/** What a client or an assessor reads about the vault itself: its API document and its public keys. */
export function discoveryOperations(deps: RouteDeps, options: { openApi: () => string; signers: readonly (Signer | undefined)[] }): AnyOperation[] {
  // Every public key the vault signs evidence with (receipts, audit checkpoints), once each.
  const keys = [...new Map(options.signers.filter((s): s is Signer => s !== undefined).map((s) => [s.kid, s.publicJwk])).values()];
  return [
    defineOperation({
      name: 'jwks.read',
      method: 'GET',
      path: '/.well-known/jwks.json',
      access: 'public',
      summary: 'Public keys that sign evidence: purge receipts, audit checkpoints, verification records',
      answers: { 200: { schema: jwksResponse } },
      responses: { 200: 'JWKS' },
      // Public keys only: an assessor verifies purge receipts offline against this set.
      run: (c) => {
        c.header('Cache-Control', 'public, max-age=300');
        return c.json({ keys });
      },
    }),
    defineOperation({
      name: 'openapi.read',
      method: 'GET',
      path: '/openapi.json',
      access: 'authenticated',
      summary: 'This document',
      answers: { 200: { schema: openApiResponse } },
      responses: { 200: 'OpenAPI 3.1', ...AUTH_ERRORS },
      example: { path: '/openapi.json' },
      run: async (c) => {
        await recordOnly(operationContext(c, deps), { operation: 'openapi.read' });
        return c.body(options.openApi(), 200, { 'Content-Type': 'application/json' });
      },
    }),
  ];
}
