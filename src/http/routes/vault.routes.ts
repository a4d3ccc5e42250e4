import { Hono } from 'hono';
import { DEFAULT_ACCESS_POLICY } from '../../domain/access-rules';
import { checkEntry, listPurposeEntries, purgeEntry, retrieveEntry, storeEntry } from '../../domain/vault.service';
import type { AppEnv } from '../app-env';
import { serviceContext, type RouteDeps } from '../service-context';
import { requireJson, validate } from '../validate';
import {
  entryDto,
  entryKeyParam,
  entryMetaDto,
  listQuerySchema,
  parseIfMatch,
  purgeReceiptDto,
  purposeParam,
  quoteEtag,
  storeBodySchema,
} from '../schemas/vault.schemas';

/** /vault: thin handlers — validate, build the context, call one verb, shape the response. */
export function vaultRoutes(deps: RouteDeps) {
  const app = new Hono<AppEnv>();
  const storeBody = storeBodySchema(deps.limits);
  const listQuery = listQuerySchema(deps.limits.listMaxLimit);

  app.put('/:purpose/:external_id', validate('param', entryKeyParam), requireJson(), validate('json', storeBody), async (c) => {
    const { purpose, external_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const ifMatch = parseIfMatch(c.req.header('if-match'));
    const { entry, created } = await storeEntry({
      ctx: serviceContext(c, deps),
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
    });
    c.header('ETag', quoteEtag(entry.etag));
    c.header('Location', `/vault/${purpose}/${external_id}`);
    return c.json(entryMetaDto(entry), created ? 201 : 200);
  });

  // Hono answers HEAD through the GET route; the method tells the two apart.
  app.get('/:purpose/:external_id', validate('param', entryKeyParam), async (c) => {
    const { purpose, external_id } = c.req.valid('param');
    const ctx = serviceContext(c, deps);
    const key = { purpose, externalId: external_id };
    c.header('Cache-Control', 'no-store');
    if (c.req.method === 'HEAD') {
      const entry = await checkEntry({ ctx, key });
      c.header('ETag', quoteEtag(entry.etag));
      c.header('X-Vault-Expires-At', entry.expiresAt.toISOString());
      c.header('Last-Modified', entry.updatedAt.toUTCString());
      return c.body(null, 200);
    }
    const entry = await retrieveEntry({ ctx, key });
    c.header('ETag', quoteEtag(entry.etag));
    return c.json(entryDto(entry));
  });

  app.delete('/:purpose/:external_id', validate('param', entryKeyParam), async (c) => {
    const { purpose, external_id } = c.req.valid('param');
    const receipt = await purgeEntry({ ctx: serviceContext(c, deps), key: { purpose, externalId: external_id } });
    deps.metrics?.purged(receipt.method);
    return c.json(purgeReceiptDto(receipt));
  });

  app.get('/:purpose', validate('param', purposeParam), validate('query', listQuery), async (c) => {
    const { purpose } = c.req.valid('param');
    const q = c.req.valid('query');
    const page = await listPurposeEntries({
      ctx: serviceContext(c, deps),
      input: {
        purpose,
        limit: q.limit,
        ...(q.cursor !== undefined && { cursor: q.cursor }),
        ...(q.expiring_before !== undefined && { expiringBefore: q.expiring_before }),
        ...(q.fingerprint !== undefined && { fingerprint: q.fingerprint }),
        ...(q.owner_app !== undefined && { ownerApp: q.owner_app }),
      },
    });
    c.header('Cache-Control', 'no-store');
    return c.json({ items: page.items.map(entryMetaDto), next_cursor: page.nextCursor });
  });

  return app;
}
