import { DEFAULT_ACCESS_POLICY } from '../policies/access-rules';
import { checkEntry, listPurposeEntries, purgeEntry, retrieveEntry, rewrapEntry, storeEntry } from './entries.service';
import { PreconditionRequiredError } from '../../kernel/errors';
import { idempotent } from '../../http/idempotency';
import { defineOperation, type AnyOperation } from '../../kernel/operation';
import { AUTH_ERRORS, COMMON_ERRORS } from '../../http/responses';
import { operationContext, type RouteDeps } from '../../http/operation-context';
import {
  entryDto,
  entryKeyParam,
  entryMetaDto,
  listedEntryDto,
  listQuerySchema,
  parseIfMatch,
  purgeReceiptDto,
  purposeParam,
  quoteEtag,
  rewrapBodySchema,
  storeBodySchema,
} from './entries.schemas';

/** /vault: thin handlers — read the validated input, build the context, call one verb, shape the response. */
export function vaultOperations(deps: RouteDeps): AnyOperation[] {
  const storeBody = storeBodySchema(deps.settings);
  const rewrapBody = rewrapBodySchema(deps.settings);
  const entryPath = '/vault/:purpose/:external_id';
  const example = { path: '/vault/card/x1' };
  return [
    defineOperation({
      name: 'store',
      method: 'PUT',
      path: entryPath,
      access: 'authenticated',
      summary: 'Store or replace an encrypted blob',
      params: entryKeyParam,
      body: storeBody,
      responses: {
        200: 'replaced (ETag)',
        201: 'created (ETag, Location)',
        ...COMMON_ERRORS,
        ...AUTH_ERRORS,
        403: "denied by the store rule, the purpose's store_apps, ownership, or (a replace) the current policy's store and purge rules",
        412: 'If-Match / If-None-Match failed',
        413: 'value too large',
        415: 'not application/json',
        422: 'no retention policy, unknown access policy, or expires_at outside the retention window',
      },
      example: { ...example, body: { encrypted_value: 'vault:v1:example' } },
      run: async (c, { params: { purpose, external_id }, body }) => {
        const ifMatch = parseIfMatch(c.req.header('if-match'));
        return idempotent(
          c,
          deps,
          { operation: 'store', purpose, externalId: external_id },
          (ctx) =>
            storeEntry({
              ctx,
              input: {
                key: { purpose, externalId: external_id },
                encryptedValue: body.encrypted_value,
                ...(body.algorithm_hint !== undefined && { algorithmHint: body.algorithm_hint }),
                ...(body.key_ref !== undefined && { keyRef: body.key_ref }),
                ...(body.metadata !== undefined && { metadata: body.metadata as Record<string, unknown> }),
                ...(body.expires_at !== undefined && { expiresAt: body.expires_at }),
                ...(body.fingerprint !== undefined && { fingerprint: body.fingerprint }),
                accessPolicy: body.access_policy ?? DEFAULT_ACCESS_POLICY,
                createOnly: c.req.header('if-none-match')?.trim() === '*',
                ...(ifMatch !== undefined && { ifMatch }),
              },
            }),
          ({ entry, created }) => ({
            status: created ? 201 : 200,
            headers: { ETag: quoteEtag(entry.etag), Location: `/vault/${purpose}/${external_id}` },
            body: entryMetaDto(entry),
          }),
        );
      },
    }),
    defineOperation({
      name: 'retrieve',
      method: 'GET',
      path: entryPath,
      access: 'authenticated',
      summary: 'Retrieve the blob and its metadata',
      params: entryKeyParam,
      responses: {
        200: 'the entry (ETag)',
        ...COMMON_ERRORS,
        ...AUTH_ERRORS,
        403: 'denied by the retrieve rule or retrieval budget spent',
        404: 'unknown entry',
        410: 'expired or purged',
      },
      example,
      run: async (c, { params: { purpose, external_id } }) => {
        const entry = await retrieveEntry({ ctx: operationContext(c, deps), key: { purpose, externalId: external_id } });
        c.header('Cache-Control', 'no-store');
        c.header('ETag', quoteEtag(entry.etag));
        // The same headers HEAD sends.
        c.header('X-Vault-Expires-At', entry.expiresAt.toISOString());
        c.header('Last-Modified', entry.updatedAt.toUTCString());
        return c.json(entryDto(entry));
      },
    }),
    defineOperation({
      name: 'exists',
      method: 'HEAD',
      path: entryPath,
      access: 'authenticated',
      summary: 'Existence and expiry, no body, no retrieval counted',
      params: entryKeyParam,
      responses: { 200: 'exists (ETag, X-Vault-Expires-At)', ...COMMON_ERRORS, ...AUTH_ERRORS, 403: 'denied', 404: 'unknown entry', 410: 'expired or purged' },
      example,
      run: async (c, { params: { purpose, external_id } }) => {
        const entry = await checkEntry({ ctx: operationContext(c, deps), key: { purpose, externalId: external_id } });
        c.header('Cache-Control', 'no-store');
        c.header('ETag', quoteEtag(entry.etag));
        c.header('X-Vault-Expires-At', entry.expiresAt.toISOString());
        c.header('Last-Modified', entry.updatedAt.toUTCString());
        return c.body(null, 200);
      },
    }),
    defineOperation({
      name: 'purge',
      method: 'DELETE',
      path: entryPath,
      access: 'authenticated',
      summary: 'Purge now; returns the purge receipt',
      params: entryKeyParam,
      responses: {
        200: 'purge receipt with SHA-256 proof',
        ...COMMON_ERRORS,
        ...AUTH_ERRORS,
        403: 'denied by the purge rule',
        404: 'unknown entry',
        410: 'already purged',
      },
      example,
      run: async (c, { params: { purpose, external_id } }) =>
        idempotent(
          c,
          deps,
          { operation: 'purge', purpose, externalId: external_id },
          async (ctx) => {
            const receipt = await purgeEntry({ ctx, key: { purpose, externalId: external_id } });
            deps.metrics?.purged(receipt.method);
            return receipt;
          },
          (receipt) => ({ status: 200, headers: {}, body: purgeReceiptDto(receipt) }),
        ),
    }),
    defineOperation({
      name: 'rewrap',
      method: 'POST',
      path: `${entryPath}/rewrap`,
      access: 'authenticated',
      summary: 'Replace the ciphertext with the same data under another key (re-keying); nothing else of the entry changes',
      params: entryKeyParam,
      body: rewrapBody,
      responses: {
        200: 'the entry under its new key (ETag)',
        ...COMMON_ERRORS,
        ...AUTH_ERRORS,
        403: "denied by the current policy's store or purge rule, or ownership",
        404: 'unknown entry',
        410: 'expired or purged',
        412: 'If-Match does not match',
        413: 'value too large',
        415: 'not application/json',
        422: 'the new key_ref is retired, compromised, or (keys.require_registered) not registered',
        428: 'If-Match is required',
      },
      example: { path: '/vault/card/x1/rewrap', body: { encrypted_value: 'vault:v1:example', key_ref: 'kms:card-v8' } },
      run: async (c, { params: { purpose, external_id }, body }) => {
        const ifMatch = parseIfMatch(c.req.header('if-match'));
        // `*` names no version: a re-keying job could roll back a change made since it read the entry.
        if (ifMatch === undefined || ifMatch.includes('*'))
          throw new PreconditionRequiredError('A re-wrap names the version it replaces: send If-Match with the ETag you read (not *).').withReason(
            'if_match_required',
          );
        return idempotent(
          c,
          deps,
          { operation: 'rewrap', purpose, externalId: external_id },
          (ctx) =>
            rewrapEntry({
              ctx,
              key: { purpose, externalId: external_id },
              input: {
                encryptedValue: body.encrypted_value,
                keyRef: body.key_ref,
                ...(body.algorithm_hint !== undefined && { algorithmHint: body.algorithm_hint }),
                ifMatch,
              },
            }),
          (entry) => ({ status: 200, headers: { ETag: quoteEtag(entry.etag) }, body: entryMetaDto(entry) }),
        );
      },
    }),
    defineOperation({
      name: 'list',
      method: 'GET',
      path: '/vault/:purpose',
      access: 'authenticated',
      summary: 'List metadata of the entries the caller may retrieve',
      params: purposeParam,
      query: listQuerySchema(deps.settings.listMaxLimit),
      responses: { 200: '{ items, next_cursor }', ...COMMON_ERRORS, ...AUTH_ERRORS, 403: 'purpose outside the app scope' },
      example: { path: '/vault/card' },
      run: async (c, { params: { purpose }, query: q }) => {
        const page = await listPurposeEntries({
          ctx: operationContext(c, deps),
          input: {
            purpose,
            limit: q.limit,
            ...(q.cursor !== undefined && { cursor: q.cursor }),
            ...(q.expiring_before !== undefined && { expiringBefore: q.expiring_before }),
            ...(q.fingerprint !== undefined && { fingerprint: q.fingerprint }),
            ...(q.owner_app !== undefined && { ownerApp: q.owner_app }),
            ...(q.key_ref !== undefined && { keyRef: q.key_ref }),
          },
        });
        c.header('Cache-Control', 'no-store');
        const now = deps.clock.now();
        return c.json({ items: page.items.map((e) => listedEntryDto(e, now)), next_cursor: page.nextCursor });
      },
    }),
  ];
}
