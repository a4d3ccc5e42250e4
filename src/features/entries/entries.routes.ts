import type { Context } from 'hono';
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
  entryMetaResponse,
  entryPageResponse,
  entryResponse,
  listedEntryDto,
  listQuerySchema,
  parseIfMatch,
  purgeReceiptDto,
  purgeReceiptResponse,
  purposeParam,
  quoteEtag,
  rewrapBodySchema,
  storeBodySchema,
  storeInputOf,
} from './entries.schemas';

/**
 * If-None-Match on a GET or HEAD (RFC 9110 13.1.2), as the entity tags to compare weakly: `W/"x"` and
 * `"x"` both become `x`; a bare `*` matches any entry that exists (a quoted `"*"` is just a tag, and no
 * ETag of the vault's). Absent or naming no tag: undefined, an unconditional read.
 */
function parseIfNoneMatch(header: string | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  const tags = header
    .split(',')
    .map((t) => t.trim())
    .map((t) => {
      if (t === '*') return t;
      const tag = t.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
      return tag === '*' ? '' : tag;
    })
    .filter((t, i, all) => t !== '' && all.indexOf(t) === i);
  return tags.length > 0 ? tags : undefined;
}

/**
 * The headers a GET, a HEAD and their 304 all carry (RFC 9110 15.4.5: a 304 sends the ETag and the
 * caching fields a 200 would).
 */
function setReadHeaders(c: Context, entry: { etag: string; expiresAt: Date; updatedAt: Date }): void {
  c.header('Cache-Control', 'no-store');
  c.header('ETag', quoteEtag(entry.etag));
  c.header('X-Vault-Expires-At', entry.expiresAt.toISOString());
  c.header('Last-Modified', entry.updatedAt.toUTCString());
}

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
      headers: ['if-match', 'if-none-match', 'idempotency-key'],
      answers: {
        200: { schema: entryMetaResponse, headers: ['etag', 'idempotent-replayed'] },
        201: { schema: entryMetaResponse, headers: ['etag', 'location', 'idempotent-replayed'] },
      },
      params: entryKeyParam,
      body: storeBody,
      responses: {
        200: 'replaced (ETag)',
        201: 'created (ETag, Location)',
        ...COMMON_ERRORS,
        ...AUTH_ERRORS,
        403: "denied by the store rule, the purpose's store_apps, ownership, or (a replace) the current policy's store and purge rules",
        409: 'the entry is under a legal hold (legal_hold), is being written concurrently, or a request with this Idempotency-Key is still running',
        412: 'If-Match / If-None-Match failed',
        413: 'value too large',
        415: 'not application/json',
        422: 'no retention policy, unknown access policy, expires_at outside the retention window, a key_ref that may not take new data, or an Idempotency-Key used for another request',
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
              input: storeInputOf({ purpose, externalId: external_id }, body, { createOnly: c.req.header('if-none-match')?.trim() === '*', ifMatch }),
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
      headers: ['if-none-match'],
      answers: {
        200: { schema: entryResponse, headers: ['etag', 'x-vault-expires-at', 'last-modified'] },
        304: { headers: ['etag', 'x-vault-expires-at', 'last-modified'] },
      },
      params: entryKeyParam,
      responses: {
        200: 'the entry (ETag)',
        304: 'If-None-Match lists the current ETag: no body, no retrieval spent (judged and audited like the GET; 403/404/410 come first)',
        ...COMMON_ERRORS,
        ...AUTH_ERRORS,
        403: 'denied by the retrieve rule or retrieval budget spent',
        404: 'unknown entry',
        410: 'expired or purged',
      },
      example,
      run: async (c, { params: { purpose, external_id } }) => {
        const ifNoneMatch = parseIfNoneMatch(c.req.header('if-none-match'));
        const { entry, notModified } = await retrieveEntry({
          ctx: operationContext(c, deps),
          key: { purpose, externalId: external_id },
          ...(ifNoneMatch !== undefined && { ifNoneMatch }),
        });
        setReadHeaders(c, entry);
        return notModified ? c.body(null, 304) : c.json(entryDto(entry));
      },
    }),
    defineOperation({
      name: 'exists',
      method: 'HEAD',
      path: entryPath,
      access: 'authenticated',
      summary: 'Existence and expiry, no body, no retrieval counted',
      headers: ['if-none-match'],
      answers: { 200: { headers: ['etag', 'x-vault-expires-at', 'last-modified'] }, 304: { headers: ['etag', 'x-vault-expires-at', 'last-modified'] } },
      params: entryKeyParam,
      responses: {
        200: 'exists (ETag, X-Vault-Expires-At)',
        304: 'If-None-Match lists the current ETag (judged and audited like the HEAD; 403/404/410 come first)',
        ...COMMON_ERRORS,
        ...AUTH_ERRORS,
        403: 'denied',
        404: 'unknown entry',
        410: 'expired or purged',
      },
      example,
      run: async (c, { params: { purpose, external_id } }) => {
        const ifNoneMatch = parseIfNoneMatch(c.req.header('if-none-match'));
        const { entry, notModified } = await checkEntry({
          ctx: operationContext(c, deps),
          key: { purpose, externalId: external_id },
          ...(ifNoneMatch !== undefined && { ifNoneMatch }),
        });
        setReadHeaders(c, entry);
        return c.body(null, notModified ? 304 : 200);
      },
    }),
    defineOperation({
      name: 'purge',
      method: 'DELETE',
      path: entryPath,
      access: 'authenticated',
      summary: 'Purge now; returns the purge receipt',
      headers: ['idempotency-key'],
      answers: { 200: { schema: purgeReceiptResponse, headers: ['idempotent-replayed'] } },
      params: entryKeyParam,
      responses: {
        200: 'purge receipt with SHA-256 proof',
        ...COMMON_ERRORS,
        ...AUTH_ERRORS,
        403: 'denied by the purge rule',
        404: 'unknown entry',
        409: 'the entry is under a legal hold (legal_hold), or a request with this Idempotency-Key is still running',
        410: 'already purged',
        422: 'the Idempotency-Key was used for another request',
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
      headers: [{ name: 'if-match', required: true }, 'idempotency-key'],
      answers: { 200: { schema: entryMetaResponse, headers: ['etag', 'idempotent-replayed'] } },
      params: entryKeyParam,
      body: rewrapBody,
      responses: {
        200: 'the entry under its new key (ETag)',
        ...COMMON_ERRORS,
        ...AUTH_ERRORS,
        403: "denied by the current policy's store or purge rule, or ownership",
        404: 'unknown entry',
        410: 'expired or purged',
        409: 'a request with this Idempotency-Key is still running, or the entry is being written concurrently',
        412: 'If-Match does not match',
        413: 'value too large',
        415: 'not application/json',
        422: 'the new key_ref is retired, compromised, or (keys.require_registered) not registered; the ciphertext or key is unchanged; or the Idempotency-Key was used for another request',
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
      answers: { 200: { schema: entryPageResponse } },
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
