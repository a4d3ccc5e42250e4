import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestVault, type TestVault } from '../support/test-app';
import { CARD_POLICY, problem, putAccessPolicy, putRetention, store } from '../support/fixtures';

const START = new Date('2026-06-01T12:00:00.000Z');
const OWNER_OR_ADMIN = { allow: ['owner', 'admin'] };
const META_KEYS = [
  'access_policy',
  'algorithm_hint',
  'created_at',
  'etag',
  'expires_at',
  'external_id',
  'fingerprint',
  'key_ref',
  'metadata',
  'owner_app',
  'purpose',
  'updated_at',
  'value_written_at',
  'ciphertext_age_days',
].sort();

interface Page {
  items: Record<string, unknown>[];
  next_cursor: string | null;
}

interface LogRow {
  operation: string;
  purpose: string | null;
  app: string | null;
  granted: boolean;
  status: number;
  reason: string | null;
}

async function logFor(vault: TestVault, res: Response): Promise<LogRow> {
  const requestId = res.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  const rows = await vault.db.query<LogRow>('select operation, purpose, app, granted, status, reason from vault.access_log where request_id = $1', [requestId]);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

describe('GET /vault/{purpose}', () => {
  let vault: TestVault;

  const list = (purpose: string, as: string, query = '') => vault.request('GET', `/vault/${purpose}${query ? `?${query}` : ''}`, { as });
  async function page(purpose: string, as: string, query = ''): Promise<Page> {
    const res = await list(purpose, as, query);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Page;
  }
  const ids = (p: Page) => p.items.map((i) => i.external_id as string).sort();

  beforeAll(async () => {
    vault = await createTestVault({
      apps: [{ name: 'pay' }, { name: 'other' }, { name: 'scoped', purposes: ['card'] }, { name: 'tokenonly', purposes: ['token'] }],
    });
    vault.clock.set(START);
    for (const purpose of ['card', 'token', 'budget', 'exp', 'page', 'filt', 'empty']) await putRetention(vault, purpose);
    await putRetention(vault, 'shred', { ...CARD_POLICY, purge_method: 'crypto-shred' });
    await putAccessPolicy(vault, 'only-other', { store: { allow: 'any' }, retrieve: { allow: 'any', allowed_apps: ['other'] }, purge: OWNER_OR_ADMIN });
    await putAccessPolicy(vault, 'once', { store: { allow: 'any' }, retrieve: { allow: 'any', max_retrievals: 1 }, purge: OWNER_OR_ADMIN });
    await putAccessPolicy(vault, 'twice-owner', { store: { allow: 'any' }, retrieve: { allow: 'owner', max_retrievals: 2 }, purge: OWNER_OR_ADMIN });
  });
  afterEach(() => vault.clock.set(START));
  afterAll(() => vault.close());

  it('returns metadata only, never encrypted_value', async () => {
    await store(vault, 'pay', 'token', 'meta-1', {
      algorithm_hint: 'AES256-GCM',
      key_ref: 'kms://k/1',
      metadata: { last4: '4242' },
      fingerprint: 'fp-meta',
    });
    const res = await list('token', 'pay');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    expect(text).not.toContain('encrypted_value');
    expect(text).not.toContain('Y2lwaGVydGV4dA');
    const body = JSON.parse(text) as Page;
    expect(body.next_cursor).toBeNull();
    expect(body.items).toHaveLength(1);
    const item = body.items[0]!;
    expect(Object.keys(item).sort()).toEqual(META_KEYS);
    expect(item).toMatchObject({
      purpose: 'token',
      external_id: 'meta-1',
      algorithm_hint: 'AES256-GCM',
      key_ref: 'kms://k/1',
      metadata: { last4: '4242' },
      fingerprint: 'fp-meta',
      access_policy: 'owner-only',
      owner_app: 'pay',
      created_at: START.toISOString(),
    });
    const head = await vault.request('HEAD', '/vault/token/meta-1', { as: 'pay' });
    expect(item.etag).toBe(head.headers.get('etag'));
    expect(await logFor(vault, res)).toMatchObject({ operation: 'list', purpose: 'token', app: 'pay', granted: true, status: 200 });
  });

  it('lists only the entries the caller may retrieve, in agreement with GET', async () => {
    await store(vault, 'pay', 'card', 'a-own-pay');
    await store(vault, 'pay', 'card', 'a-open-pay', { access_policy: 'open-retrieve' });
    await store(vault, 'other', 'card', 'b-own-other');
    await store(vault, 'other', 'card', 'b-open-other', { access_policy: 'open-retrieve' });
    await store(vault, 'pay', 'card', 'c-same-pay', { access_policy: 'same-purpose' });
    await store(vault, 'admin', 'card', 'd-admin', { access_policy: 'admin-only' });
    await store(vault, 'pay', 'card', 'e-only-other', { access_policy: 'only-other' });
    const all = ['a-own-pay', 'a-open-pay', 'b-own-other', 'b-open-other', 'c-same-pay', 'd-admin', 'e-only-other'];
    const expected: Record<string, string[]> = {
      pay: ['a-open-pay', 'a-own-pay', 'b-open-other'],
      other: ['a-open-pay', 'b-open-other', 'b-own-other', 'e-only-other'],
      scoped: ['a-open-pay', 'b-open-other', 'c-same-pay'],
      admin: ['a-open-pay', 'b-open-other', 'd-admin'],
    };
    for (const [app, visible] of Object.entries(expected)) {
      const listed = ids(await page('card', app));
      expect(listed, app).toEqual(visible);
      for (const id of all) {
        const res = await vault.request('GET', `/vault/card/${id}`, { as: app });
        expect(res.status, `${app} GET ${id}`).toBe(visible.includes(id) ? 200 : 403);
      }
    }
  });

  it('hides entries whose max_retrievals budget is spent, keeps partly spent ones', async () => {
    await store(vault, 'pay', 'budget', 'm-1', { access_policy: 'once' });
    await store(vault, 'pay', 'budget', 'm-2', { access_policy: 'once' });
    await store(vault, 'pay', 'budget', 't-1', { access_policy: 'twice-owner' });
    expect(ids(await page('budget', 'pay'))).toEqual(['m-1', 'm-2', 't-1']);
    expect(ids(await page('budget', 'other'))).toEqual(['m-1', 'm-2']);

    expect((await vault.request('GET', '/vault/budget/m-1', { as: 'other' })).status).toBe(200);
    expect((await vault.request('GET', '/vault/budget/t-1', { as: 'pay' })).status).toBe(200);
    expect(ids(await page('budget', 'pay'))).toEqual(['m-2', 't-1']);
    expect(ids(await page('budget', 'other'))).toEqual(['m-2']);

    expect((await vault.request('GET', '/vault/budget/t-1', { as: 'pay' })).status).toBe(200);
    expect(ids(await page('budget', 'pay'))).toEqual(['m-2']);
  });

  it('hides expired entries even before a sweep', async () => {
    await store(vault, 'pay', 'exp', 'x-1', { expires_at: '2026-06-02T12:00:00Z' });
    await store(vault, 'pay', 'exp', 'x-2');
    expect(ids(await page('exp', 'pay'))).toEqual(['x-1', 'x-2']);
    vault.clock.set('2026-06-02T12:00:01Z');
    expect(ids(await page('exp', 'pay'))).toEqual(['x-2']);
    vault.clock.advanceDays(100);
    expect((await page('exp', 'pay')).items).toEqual([]);
  });

  it('hides crypto-shredded entries', async () => {
    await store(vault, 'pay', 'shred', 's-1');
    await store(vault, 'pay', 'shred', 's-2');
    expect((await vault.request('DELETE', '/vault/shred/s-1', { as: 'pay' })).status).toBe(200);
    expect(ids(await page('shred', 'pay'))).toEqual(['s-2']);
  });

  describe('cursor pagination', () => {
    beforeAll(async () => {
      for (const id of ['p-3', 'p-1', 'p-5', 'p-2', 'p-4']) await store(vault, 'pay', 'page', id);
      // Interleaved entries 'pay' may not see: pages must still be full and skip them.
      for (const id of ['p-1a', 'p-2a', 'p-4a', 'p-6']) await store(vault, 'other', 'page', id);
    });

    async function walk(as: string, limit: number, extra = '') {
      const pages: Page[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}${extra}`;
        const p = await page('page', as, query);
        pages.push(p);
        cursor = p.next_cursor;
        expect(pages.length).toBeLessThan(20);
      } while (cursor !== null);
      return pages;
    }

    it('limit=2 over 5 visible entries: full pages, no gaps or duplicates, next_cursor null at the end', async () => {
      const pages = await walk('pay', 2);
      expect(pages.map((p) => p.items.length)).toEqual([2, 2, 1]);
      expect(typeof pages[0]!.next_cursor).toBe('string');
      expect(typeof pages[1]!.next_cursor).toBe('string');
      expect(pages[2]!.next_cursor).toBeNull();
      const seen = pages.flatMap((p) => p.items.map((i) => i.external_id as string));
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.sort()).toEqual(['p-1', 'p-2', 'p-3', 'p-4', 'p-5']);
    });

    it('a page exactly filled by the last entries has next_cursor null (or an empty next page)', async () => {
      const single = await page('page', 'pay', 'limit=5');
      expect(ids(single)).toEqual(['p-1', 'p-2', 'p-3', 'p-4', 'p-5']);
      const pages = await walk('pay', 5);
      const seen = pages.flatMap((p) => p.items.map((i) => i.external_id as string));
      expect(seen.sort()).toEqual(['p-1', 'p-2', 'p-3', 'p-4', 'p-5']);
      expect(pages.at(-1)!.next_cursor).toBeNull();
    });

    it('each app pages over its own view', async () => {
      const pages = await walk('other', 3);
      expect(pages.map((p) => p.items.length)).toEqual([3, 1]);
      expect(pages.flatMap((p) => p.items.map((i) => i.external_id as string)).sort()).toEqual(['p-1a', 'p-2a', 'p-4a', 'p-6']);
    });

    it('limit=1 walks every entry once', async () => {
      const pages = await walk('pay', 1);
      expect(pages.map((p) => p.items.length)).toEqual([1, 1, 1, 1, 1]);
    });

    it('keeps filters across pages', async () => {
      const pages = await walk('admin', 2, '&owner_app=other');
      // admin sees nothing under owner-only, whoever owns it.
      expect(pages).toHaveLength(1);
      expect(pages[0]!.items).toEqual([]);
      const mine = await walk('pay', 2, '&owner_app=pay');
      expect(mine.flatMap((p) => p.items.map((i) => i.owner_app))).toEqual(['pay', 'pay', 'pay', 'pay', 'pay']);
    });

    it('the default limit returns everything visible when it fits', async () => {
      const all = await page('page', 'pay');
      expect(ids(all)).toEqual(['p-1', 'p-2', 'p-3', 'p-4', 'p-5']);
      expect(all.next_cursor).toBeNull();
    });
  });

  describe('filters', () => {
    beforeAll(async () => {
      await store(vault, 'pay', 'filt', 'f-1', { expires_at: '2026-06-02T12:00:00Z', fingerprint: 'fp-A' });
      await store(vault, 'pay', 'filt', 'f-2', { expires_at: '2026-06-11T12:00:00Z', fingerprint: 'fp-B' });
      await store(vault, 'pay', 'filt', 'f-3', { fingerprint: 'fp-A' });
      await store(vault, 'other', 'filt', 'f-4', { fingerprint: 'fp-A', access_policy: 'open-retrieve' });
      await store(vault, 'other', 'filt', 'f-5', { fingerprint: 'fp-A' });
    });

    it('expiring_before returns only entries expiring before that instant', async () => {
      expect(ids(await page('filt', 'pay', `expiring_before=${encodeURIComponent('2026-06-06T12:00:00Z')}`))).toEqual(['f-1']);
      expect(ids(await page('filt', 'pay', `expiring_before=${encodeURIComponent('2026-07-01T14:00:00+02:00')}`))).toEqual(['f-1', 'f-2']);
      expect(ids(await page('filt', 'pay', `expiring_before=${encodeURIComponent('2026-06-01T00:00:00Z')}`))).toEqual([]);
      expect(ids(await page('filt', 'pay', `expiring_before=${encodeURIComponent('2030-01-01T00:00:00Z')}`))).toEqual(['f-1', 'f-2', 'f-3', 'f-4']);
    });

    it('fingerprint returns only entries with that fingerprint the caller may retrieve', async () => {
      expect(ids(await page('filt', 'pay', 'fingerprint=fp-A'))).toEqual(['f-1', 'f-3', 'f-4']);
      expect(ids(await page('filt', 'other', 'fingerprint=fp-A'))).toEqual(['f-4', 'f-5']);
      expect(ids(await page('filt', 'pay', 'fingerprint=fp-B'))).toEqual(['f-2']);
      expect(ids(await page('filt', 'pay', 'fingerprint=fp-none'))).toEqual([]);
    });

    it('owner_app returns only entries of that owner the caller may retrieve', async () => {
      expect(ids(await page('filt', 'pay', 'owner_app=other'))).toEqual(['f-4']);
      expect(ids(await page('filt', 'pay', 'owner_app=pay'))).toEqual(['f-1', 'f-2', 'f-3']);
      expect(ids(await page('filt', 'other', 'owner_app=pay'))).toEqual([]);
    });

    it('filters combine', async () => {
      expect(ids(await page('filt', 'pay', 'fingerprint=fp-A&owner_app=pay'))).toEqual(['f-1', 'f-3']);
      expect(ids(await page('filt', 'pay', `fingerprint=fp-A&expiring_before=${encodeURIComponent('2026-06-06T12:00:00Z')}`))).toEqual(['f-1']);
    });
  });

  describe('bad input', () => {
    it.each(['0', '100000', 'x', '-1', '1.5', '1001'])('limit=%s is 400 naming query.limit', async (limit) => {
      const res = await list('token', 'pay', `limit=${limit}`);
      expect(res.status).toBe(400);
      const body = await problem(res);
      expect(body.request_id).toBe(res.headers.get('x-request-id'));
      expect(body.errors?.map((e) => e.location)).toContain('query.limit');
      expect(await logFor(vault, res)).toMatchObject({ operation: 'list', purpose: 'token', app: 'pay', granted: false, status: 400 });
    });

    it('limit at the configured maximum is accepted', async () => {
      expect((await list('token', 'pay', 'limit=1000')).status).toBe(200);
    });

    it('a malformed expiring_before is 400', async () => {
      const res = await list('token', 'pay', 'expiring_before=tomorrow');
      expect(res.status).toBe(400);
      expect((await problem(res)).errors?.map((e) => e.location)).toContain('query.expiring_before');
    });

    it.each([
      ['garbage', 'not a cursor!!'],
      ['base64 of an invalid id', Buffer.from('../../etc/passwd').toString('base64url')],
      ['base64 with a space inside', Buffer.from('a b').toString('base64url')],
      ['padded base64', `${Buffer.from('p-1').toString('base64')}=`],
      ['empty-decoding', '____'],
    ])('a forged cursor (%s) is 400', async (_label, cursor) => {
      const res = await list('page', 'pay', `cursor=${encodeURIComponent(cursor)}`);
      expect(res.status).toBe(400);
      const body = await problem(res);
      expect(body.status).toBe(400);
      expect(body.request_id).toBe(res.headers.get('x-request-id'));
      expect(await logFor(vault, res)).toMatchObject({ operation: 'list', app: 'pay', granted: false, status: 400 });
    });

    it('a scoped app listing another purpose is 403 and audited', async () => {
      const res = await list('token', 'scoped');
      expect(res.status).toBe(403);
      expect((await problem(res)).request_id).toBe(res.headers.get('x-request-id'));
      expect(await logFor(vault, res)).toMatchObject({
        operation: 'list',
        purpose: 'token',
        app: 'scoped',
        granted: false,
        status: 403,
        reason: 'purpose_out_of_scope',
      });
      const other = await list('card', 'tokenonly');
      expect(other.status).toBe(403);
      expect((await list('card', 'scoped')).status).toBe(200);
    });

    it('an unauthenticated list is 401', async () => {
      const res = await vault.request('GET', '/vault/token');
      expect(res.status).toBe(401);
    });

    it('a purpose with no entries lists empty', async () => {
      expect(await page('empty', 'pay')).toEqual({ items: [], next_cursor: null });
    });
  });
});
