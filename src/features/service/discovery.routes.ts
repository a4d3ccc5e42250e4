import type { ReceiptSigner } from '../purge/purge-receipt';
import { recordOnly } from '../../kernel/executor';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import { AUTH_ERRORS } from '../../http/responses';

/** What a client or an assessor reads about the vault itself: its API document and its public keys. */
export function discoveryOperations(deps: RouteDeps, options: { openApi: () => string; receiptSigner?: ReceiptSigner }): AnyOperation[] {
  return [
    defineOperation({
      name: 'jwks.read',
      method: 'GET',
      path: '/.well-known/jwks.json',
      access: 'public',
      summary: 'Public key(s) that sign purge receipts',
      responses: { 200: 'JWKS' },
      // Public keys only: an assessor verifies purge receipts offline against this set.
      run: (c) => {
        c.header('Cache-Control', 'public, max-age=300');
        return c.json({ keys: options.receiptSigner ? [options.receiptSigner.publicJwk] : [] });
      },
    }),
    defineOperation({
      name: 'openapi.read',
      method: 'GET',
      path: '/openapi.json',
      access: 'authenticated',
      summary: 'This document',
      responses: { 200: 'OpenAPI 3.1', ...AUTH_ERRORS },
      example: { path: '/openapi.json' },
      run: async (c) => {
        await recordOnly(operationContext(c, deps), { operation: 'openapi.read' });
        return c.body(options.openApi(), 200, { 'Content-Type': 'application/json' });
      },
    }),
  ];
}
