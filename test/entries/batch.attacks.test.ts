import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putAccessPolicy, putRetention, store, storeBody, CARD_POLICY } from '../support/fixtures';
import { createTestVault, TestClock, type AccessLogRecord, type TestVault } from '../support/test-app';

/**
 * A hostile review of POST /vault/{purpose}/_batch and of the shared one-statement reads: a low-privilege
 * app key trying to get around the vault's rules by mixing items, by mixing callers, or by abusing the
 * envelope. Every test asserts the SAFE behaviour.
 */

const START = new Date('2026-06-01T12:00:00.000Z');

interface ItemResult {
  external_id: string;
  status: number;
  etag?: string;
  expires_at?: string;
  entry?: Record<string, unknown> & { encrypted_value?: string };
  receipt?: unknown;
  problem?: { status: number; code: string; request_id: string };
}

describe('batch and shared-read attacks', () => {
  let vault: TestVault;
  const clock = new TestClock(START);

  const batch = async (
    body: unknown,
    options: { as?: string; purpose?: string; headers?: Record<string, string>; rawBody?: string; requestId?: string } = {},
  ) => {
    const requestId = options.requestId ?? `atk${randomUUID().replaceAll('-', '')}`;
    const res = await vault.request('POST', `/vault/${options.purpose ?? 'card'}/_batch`, {
      as: options.as ?? 'pay',
      ...(options.rawBody !== undefined ? { rawBody: options.rawBody } : { body }),
      headers: { 'X-Request-Id': requestId, 'Content-Type': 'application/json', ...options.headers },
    });
    return { res, requestId };
  };
  const results = async (res: Response) => {
    expect(res.status).toBe(200);
    return ((await res.json()) as { results: ItemResult[] }).results;
  };
  const rowsOf = async (requestId: string) => (await vault.accessLog()).filter((r) => r.request_id === requestId || r.request_id?.startsWith(`${requestId}.`));
  const entryRow = async (id: string, purpose = 'card') =>
    (
      await vault.db.query<{ encrypted_value: string; etag: string; retrieval_count: number; key_ref: string | null }>(
        'select * from vault.entries where purpose = $1 and external_id = $2',
        [purpose, id],
      )
    )[0];
  const single = async (method: string, path: string, as: string, body?: unknown, headers: Record<string, string> = {}) => {
    const requestId = `one${randomUUID().replaceAll('-', '')}`;
    const res = await vault.request(method, path, { as, ...(body !== undefined && { body }), headers: { 'X-Request-Id': requestId, ...headers } });
    return { res, requestId };
  };
  const putKey = (keyRef: string, status: string) => vault.request('PUT', `/admin/keys/${encodeURIComponent(keyRef)}`, { as: 'admin', body: { status } });

  beforeAll(async () => {
    vault = await createTestVault({
      apps: [{ name: 'pay' }, { name: 'other' }, { name: 'scoped', purposes: ['token'] }, { name: 'settle' }],
      clock,
      config: { limits: { batch_max_operations: 16, max_value_bytes: 1024 } },
    });
    await putRetention(vault, 'card');
    await putRetention(vault, 'token');
    await putRetention(vault, 'settlement', { ...CARD_POLICY, store_apps: ['settle'] });
    await putAccessPolicy(vault, 'budget-1', { store: { allow: 'any' }, retrieve: { allow: 'owner', max_retrievals: 1 }, purge: { allow: 'owner' } });
    await putAccessPolicy(vault, 'budget-any', { store: { allow: 'any' }, retrieve: { allow: 'any', max_retrievals: 1 }, purge: { allow: 'owner' } });
    await store(vault, 'pay', 'card', 'own', { encrypted_value: 'SECRET-own' });
    await store(vault, 'other', 'card', 'theirs', { encrypted_value: 'SECRET-theirs' });
    await store(vault, 'other', 'card', 'open', { encrypted_value: 'SECRET-open', access_policy: 'open-retrieve' });
    await store(vault, 'pay', 'card', 'exp', { encrypted_value: 'SECRET-exp', expires_at: new Date(START.getTime() + 60_000).toISOString() });
    await store(vault, 'pay', 'token', 'tok', { encrypted_value: 'SECRET-tok', access_policy: 'open-retrieve' });
    await store(vault, 'settle', 'settlement', 'st-1', { encrypted_value: 'SECRET-st', key_ref: 'kms:a' });
    clock.set(new Date(START.getTime() + 120_000));
  });
  afterAll(() => vault.close());

  describe('reading what the caller may not read', () => {
    const readIds = ['own', 'theirs', 'open', 'nobody', 'exp'];

    for (const path of ['one statement', 'transaction'] as const) {
      it(`every caller's batch item answers what its single GET/HEAD answers, and no refused item carries a value (${path})`, async () => {
        for (const as of ['pay', 'other', 'scoped']) {
          const ops = readIds.flatMap((id) => [
            { op: 'get', external_id: id },
            { op: 'head', external_id: id },
          ]);
          // An invalid item keeps the batch off the one-statement path.
          const extra = path === 'transaction' ? [{ op: 'get', external_id: '-invalid' }] : [];
          const { res, requestId } = await batch({ operations: [...ops, ...extra] }, { as });
          const text = await res.clone().text();
          const got = await results(res);
          for (const [i, op] of ops.entries()) {
            const one = await single(op.op === 'get' ? 'GET' : 'HEAD', `/vault/card/${op.external_id}`, as);
            expect(got[i]!.status, `${as} ${op.op} ${op.external_id}`).toBe(one.res.status);
            if (got[i]!.status !== 200) {
              expect(got[i]!.entry).toBeUndefined();
              expect(got[i]!.etag).toBeUndefined();
            }
            if (op.op === 'head') expect(got[i]!.entry).toBeUndefined();
          }
          // A value leaves only for a granted GET.
          for (const id of readIds) {
            const granted = got.slice(0, ops.length).some((r, i) => ops[i]!.op === 'get' && ops[i]!.external_id === id && r.status === 200);
            expect(text.includes(`SECRET-${id}`), `${as} ${id}`).toBe(granted);
          }
          // One row per item, each under this caller, the item's operation and id.
          const rows = await rowsOf(requestId);
          expect(rows.map((r) => [r.request_id, r.app, r.operation, r.purpose, r.external_id, r.status])).toEqual(
            // A malformed id (the extra item) is not written to the log, as for a single call.
            [...ops, ...extra].map((op, i) => [
              `${requestId}.${i}`,
              as,
              op.op === 'get' ? 'retrieve' : 'exists',
              'card',
              op.external_id === '-invalid' ? null : op.external_id,
              got[i]!.status,
            ]),
          );
        }
      });
    }

    it('a caller scoped to another purpose gets what its single calls get (404 before 403), for reads and refused writes', async () => {
      const ops = [
        { op: 'get', external_id: 'own' },
        { op: 'get', external_id: 'nobody' },
        { op: 'delete', external_id: 'own' },
        { op: 'delete', external_id: 'nobody' },
        { op: 'rewrap', external_id: 'own', body: { encrypted_value: 'x', key_ref: 'kms:z' }, if_match: '"nope"' },
        { op: 'rewrap', external_id: 'nobody', body: { encrypted_value: 'x', key_ref: 'kms:z' }, if_match: '"nope"' },
        { op: 'put', external_id: 'own', body: storeBody({ encrypted_value: 'overwritten' }) },
      ];
      const got = await results((await batch({ operations: ops }, { as: 'scoped' })).res);
      expect((await entryRow('own'))!.encrypted_value).toBe('SECRET-own');
      const singles = [
        (await single('GET', '/vault/card/own', 'scoped')).res.status,
        (await single('GET', '/vault/card/nobody', 'scoped')).res.status,
        (await single('DELETE', '/vault/card/own', 'scoped')).res.status,
        (await single('DELETE', '/vault/card/nobody', 'scoped')).res.status,
        (await single('POST', '/vault/card/own/rewrap', 'scoped', { encrypted_value: 'x', key_ref: 'kms:z' }, { 'If-Match': '"nope"' })).res.status,
        (await single('POST', '/vault/card/nobody/rewrap', 'scoped', { encrypted_value: 'x', key_ref: 'kms:z' }, { 'If-Match': '"nope"' })).res.status,
        (await single('PUT', '/vault/card/own', 'scoped', storeBody({ encrypted_value: 'overwritten' }))).res.status,
      ];
      expect(got.map((r) => r.status)).toEqual(singles);
      expect(singles).toEqual([403, 404, 403, 404, 403, 404, 403]);
      expect((await entryRow('own'))!.encrypted_value).toBe('SECRET-own');
    });

    it("another app's entry cannot be replaced, purged or re-wrapped through a batch, atomic or not", async () => {
      const before = await entryRow('theirs');
      for (const atomic of [false, true]) {
        const got = await results(
          (
            await batch({
              atomic,
              operations: [
                { op: 'put', external_id: 'theirs', body: storeBody({ encrypted_value: 'mine-now' }) },
                { op: 'delete', external_id: 'theirs' },
                { op: 'rewrap', external_id: 'theirs', body: { encrypted_value: 'mine-now', key_ref: 'kms:z' }, if_match: `"${before!.etag}"` },
                { op: 'get', external_id: 'theirs' },
              ],
            })
          ).res,
        );
        expect(got.map((r) => r.status)).toEqual([403, 403, 403, 403]);
      }
      expect(await entryRow('theirs')).toEqual(before);
      expect(await vault.db.query("select 1 from vault.purge_log where external_id = 'theirs'")).toEqual([]);
    });

    it('callers mixed in one shared statement under load each get their own verdict, value and audit row', async () => {
      const callers = ['pay', 'other', 'scoped'];
      const targets = [
        ['card', 'own'],
        ['card', 'theirs'],
        ['card', 'open'],
        ['card', 'nobody'],
        ['token', 'tok'],
      ] as const;
      const reqs = Array.from({ length: 90 }, (_, i) => {
        const as = callers[i % 3]!;
        const [purpose, id] = targets[Math.floor(i / 3) % targets.length]!;
        const method = i % 7 === 6 ? 'HEAD' : 'GET';
        return { as, purpose, id, method, requestId: `mix-${i}-${randomUUID().slice(0, 8)}` };
      });
      // The answers each caller gets alone, first.
      const alone = new Map<string, number>();
      for (const as of callers)
        for (const [purpose, id] of targets)
          for (const method of ['GET', 'HEAD']) alone.set(`${as} ${method} ${purpose}/${id}`, (await single(method, `/vault/${purpose}/${id}`, as)).res.status);
      const answers = await Promise.all(
        reqs.map((r) => vault.request(r.method, `/vault/${r.purpose}/${r.id}`, { as: r.as, headers: { 'X-Request-Id': r.requestId } })),
      );
      const log = await vault.accessLog();
      for (const [i, r] of reqs.entries()) {
        const res = answers[i]!;
        expect(res.status, `${r.as} ${r.method} ${r.purpose}/${r.id}`).toBe(alone.get(`${r.as} ${r.method} ${r.purpose}/${r.id}`));
        const text = r.method === 'GET' ? await res.text() : '';
        if (res.status === 200 && r.method === 'GET') expect(JSON.parse(text).encrypted_value).toBe(`SECRET-${r.id}`);
        else expect(text).not.toContain('SECRET');
        const rows = log.filter((l) => l.request_id === r.requestId);
        expect(rows.map((l) => [l.app, l.operation, l.purpose, l.external_id, l.status, l.granted])).toEqual([
          [r.as, r.method === 'GET' ? 'retrieve' : 'exists', r.purpose, r.id, res.status, res.status === 200],
        ]);
      }
    });
  });

  describe('retrieval budgets', () => {
    it('a one-retrieval entry is served once, whatever mix of batches, duplicates, HEADs and single GETs races for it', async () => {
      await store(vault, 'pay', 'card', 'once-race', { access_policy: 'budget-1', encrypted_value: 'SECRET-once' });
      const batches = Array.from({ length: 4 }, () =>
        batch({
          operations: [
            { op: 'head', external_id: 'once-race' },
            { op: 'get', external_id: 'once-race' },
            { op: 'get', external_id: 'once-race' },
          ],
        }),
      );
      const singles = Array.from({ length: 4 }, () => single('GET', '/vault/card/once-race', 'pay'));
      const texts = [
        ...(await Promise.all(batches.map(async (b) => (await b).res.text()))),
        ...(await Promise.all(singles.map(async (s) => (await s).res.text()))),
      ];
      const served = texts.reduce((n, t) => n + (t.split('SECRET-once').length - 1), 0);
      expect(served).toBe(1);
      expect((await entryRow('once-race'))!.retrieval_count).toBe(1);
      const granted = (await vault.accessLog()).filter((r) => r.external_id === 'once-race' && r.operation === 'retrieve' && r.granted);
      expect(granted).toHaveLength(1);
    });

    it("an atomic batch that fails spends no budget and returns no value; the budget is the entry's, not the caller's", async () => {
      await store(vault, 'pay', 'card', 'once-atomic', { access_policy: 'budget-1', encrypted_value: 'SECRET-atomic' });
      await store(vault, 'other', 'card', 'any-once', { access_policy: 'budget-any', encrypted_value: 'SECRET-anyonce' });
      const { res } = await batch({
        atomic: true,
        operations: [
          { op: 'get', external_id: 'once-atomic' },
          { op: 'get', external_id: 'any-once' },
          { op: 'get', external_id: 'own' },
          { op: 'delete', external_id: 'theirs' },
        ],
      });
      const text = await res.clone().text();
      expect((await results(res)).map((r) => r.status)).toEqual([424, 424, 424, 403]);
      expect(text).not.toContain('SECRET');
      expect((await entryRow('once-atomic'))!.retrieval_count).toBe(0);
      expect((await entryRow('any-once'))!.retrieval_count).toBe(0);
      // Still one retrieval each: spent by the first asker, then 403 for everyone.
      expect((await single('GET', '/vault/card/any-once', 'pay')).res.status).toBe(200);
      const after = await results((await batch({ operations: [{ op: 'get', external_id: 'any-once' }] }, { as: 'other' })).res);
      expect(after[0]!.status).toBe(403);
    });
  });

  describe('rules on writes', () => {
    it('store_apps, key status and legal holds hold for every item, in any order, atomic or not', async () => {
      expect((await putKey('kms:good', 'active')).status).toBe(201);
      expect((await putKey('kms:bad', 'active')).status).toBe(201);
      expect((await putKey('kms:bad', 'compromised')).status).toBe(200);
      // store_apps: pay may not plant an id in settlement, nor re-wrap settle's entry there.
      const st = await entryRow('st-1', 'settlement');
      const reserved = await results(
        (
          await batch(
            {
              operations: [
                { op: 'put', external_id: 'st-2', body: storeBody() },
                { op: 'put', external_id: 'st-1', body: storeBody({ encrypted_value: 'planted' }) },
                { op: 'rewrap', external_id: 'st-1', body: { encrypted_value: 'planted', key_ref: 'kms:good' }, if_match: `"${st!.etag}"` },
              ],
            },
            { purpose: 'settlement' },
          )
        ).res,
      );
      expect(reserved.map((r) => r.status)).toEqual([403, 403, 403]);
      expect(await entryRow('st-2', 'settlement')).toBeUndefined();
      expect(await entryRow('st-1', 'settlement')).toEqual(st);

      // A compromised key takes no new data, through a put or a re-wrap.
      await store(vault, 'pay', 'card', 'k-1', { encrypted_value: 'SECRET-k1', key_ref: 'kms:good' });
      const k1 = await entryRow('k-1');
      const keyed = await results(
        (
          await batch({
            operations: [
              { op: 'put', external_id: 'k-2', body: storeBody({ key_ref: 'kms:bad' }) },
              { op: 'rewrap', external_id: 'k-1', body: { encrypted_value: 'rewrapped', key_ref: 'kms:bad' }, if_match: `"${k1!.etag}"` },
            ],
          })
        ).res,
      );
      expect(keyed.map((r) => r.status)).toEqual([422, 422]);
      expect(await entryRow('k-2')).toBeUndefined();
      expect(await entryRow('k-1')).toEqual(k1);

      // A legal hold: delete, then put, then delete again; nothing is destroyed.
      await store(vault, 'pay', 'card', 'held', { encrypted_value: 'SECRET-held' });
      const hold = await vault.request('PUT', '/admin/holds/atk-case', { as: 'admin', body: { purpose: 'card', owner_app: 'pay', reason: 'dispute' } });
      expect(hold.status).toBe(201);
      try {
        const before = await entryRow('held');
        for (const atomic of [false, true]) {
          const got = await results(
            (
              await batch({
                atomic,
                operations: [
                  { op: 'delete', external_id: 'held' },
                  { op: 'put', external_id: 'held', body: storeBody({ encrypted_value: 'replaced' }) },
                  { op: 'put', external_id: 'held', body: storeBody({ encrypted_value: 'replaced' }), if_match: '*' },
                  { op: 'delete', external_id: 'held' },
                ],
              })
            ).res,
          );
          expect(got.map((r) => r.status)).toEqual([409, 409, 409, 409]);
        }
        expect(await entryRow('held')).toEqual(before);
        expect(await vault.db.query("select 1 from vault.purge_log where external_id = 'held'")).toEqual([]);
      } finally {
        expect((await vault.request('DELETE', '/admin/holds/atk-case', { as: 'admin' })).status).toBe(204);
      }
    });

    it('an atomic batch that fails applies nothing and writes no purge-log row, even for items that ran before the failure', async () => {
      await store(vault, 'pay', 'card', 'atomic-keep', { encrypted_value: 'SECRET-keep' });
      const before = await entryRow('atomic-keep');
      const { res, requestId } = await batch({
        atomic: true,
        operations: [
          { op: 'put', external_id: 'atomic-keep', body: storeBody({ encrypted_value: 'replaced' }) },
          { op: 'delete', external_id: 'atomic-keep' },
          { op: 'put', external_id: 'atomic-new', body: storeBody() },
          { op: 'put', external_id: 'theirs', body: storeBody() },
        ],
      });
      expect((await results(res)).map((r) => r.status)).toEqual([424, 424, 424, 403]);
      expect(await entryRow('atomic-keep')).toEqual(before);
      expect(await entryRow('atomic-new')).toBeUndefined();
      expect(await vault.db.query('select 1 from vault.purge_log where request_id like $1', [`${requestId}.%`])).toEqual([]);
      expect((await rowsOf(requestId)).map((r) => [r.operation, r.granted, r.status])).toEqual([
        ['store', false, 424],
        ['purge', false, 424],
        ['store', false, 424],
        ['store', false, 403],
      ]);
    });
  });

  describe('Idempotency-Key', () => {
    it("is per app and per request: another app's identical batch, a single call, or another purpose never gets this batch's answer", async () => {
      const body = { operations: [{ op: 'put', external_id: 'idem-1', body: storeBody({ encrypted_value: 'SECRET-idem' }) }] };
      const first = await batch(body, { headers: { 'Idempotency-Key': 'atk-key' } });
      expect((await results(first.res)).map((r) => r.status)).toEqual([201]);
      // The same key and body from another app is its own request: it runs (and is refused as not the owner).
      const other = await batch(body, { as: 'other', headers: { 'Idempotency-Key': 'atk-key' } });
      expect(other.res.headers.get('idempotent-replayed')).toBeNull();
      expect((await results(other.res)).map((r) => r.status)).toEqual([403]);
      // The same key on a single call or another purpose is another request: 422, nothing replayed or applied.
      const del = await single('DELETE', '/vault/card/idem-1', 'pay', undefined, { 'Idempotency-Key': 'atk-key' });
      expect(del.res.status).toBe(422);
      expect(await entryRow('idem-1')).toBeDefined();
      const token = await batch(body, { purpose: 'token', headers: { 'Idempotency-Key': 'atk-key' } });
      expect(token.res.status).toBe(422);
      expect(await entryRow('idem-1', 'token')).toBeUndefined();
      // A read smuggled in beside the writes is refused before anything runs.
      const withRead = await batch({ operations: [...body.operations, { op: 'get', external_id: 'own' }] }, { headers: { 'Idempotency-Key': 'atk-key-2' } });
      expect(withRead.res.status).toBe(400);
      expect(await withRead.res.text()).not.toContain('SECRET');
    });

    it('a write-only batch replayed after the entry was read by others keeps no value and reveals nothing new', async () => {
      const body = {
        operations: [
          { op: 'put', external_id: 'idem-2', body: storeBody({ encrypted_value: 'SECRET-idem2' }) },
          { op: 'delete', external_id: 'theirs' },
        ],
      };
      const first = await batch(body, { headers: { 'Idempotency-Key': 'atk-key-3' } });
      const firstText = await first.res.text();
      const again = await batch(body, { headers: { 'Idempotency-Key': 'atk-key-3' } });
      expect(again.res.headers.get('idempotent-replayed')).toBe('true');
      const againText = await again.res.text();
      expect(againText).toBe(firstText);
      expect(againText).not.toContain('SECRET');
      const [kept] = await vault.db.query<{ answer: string }>("select answer from vault.idempotency_keys where key = 'atk-key-3'");
      expect(kept!.answer).not.toContain('SECRET');
    });
  });

  describe('request ids', () => {
    it("a client cannot forge a batch item's request id, and each item id is recorded exactly once", async () => {
      // A dotted X-Request-Id is not kept (one is minted), so no single call can pose as item 0 of a batch.
      const { requestId } = await batch({ operations: [{ op: 'get', external_id: 'own' }] });
      const forged = await single('GET', '/vault/card/own', 'pay', undefined, { 'X-Request-Id': `${requestId}.0` });
      expect(forged.res.headers.get('x-request-id')).not.toBe(`${requestId}.0`);
      const rows = (await vault.accessLog()).filter((r) => r.request_id === `${requestId}.0`);
      expect(rows).toHaveLength(1);
      // The longest accepted request id still works for a batch (the item ids are longer than 64 characters).
      const long = 'L'.repeat(64);
      const got = await results((await batch({ operations: [{ op: 'get', external_id: 'own' }] }, { requestId: long })).res);
      expect(got[0]!.status).toBe(200);
      expect((await vault.accessLog()).filter((r) => r.request_id === `${long}.0`)).toHaveLength(1);
    });
  });

  describe('the envelope', () => {
    it('a repeated key, __proto__ or deep nesting in an item refuses the whole batch (400) and applies nothing', async () => {
      await store(vault, 'pay', 'card', 'dup-keep', { encrypted_value: 'SECRET-dup' });
      const raws = [
        // JSON.parse keeps the last "op": a proxy would see a get, the vault a delete.
        '{"operations":[{"op":"get","external_id":"dup-keep","op":"delete"}]}',
        '{"operations":[{"op":"delete","external_id":"own","external_id":"dup-keep"}]}',
        '{"operations":[{"op":"delete","external_id":"dup-keep"}],"atomic":false,"atomic":true}',
        '{"operations":[{"op":"put","external_id":"proto-1","body":{"encrypted_value":"x","__proto__":{"access_policy":"open-retrieve"}}}]}',
        `{"operations":[{"op":"put","external_id":"deep-1","body":{"encrypted_value":"x","metadata":${'{"a":'.repeat(200)}1${'}'.repeat(200)}}}]}`,
      ];
      for (const rawBody of raws) {
        const { res, requestId } = await batch(undefined, { rawBody });
        expect(res.status, rawBody.slice(0, 60)).toBe(400);
        expect((await rowsOf(requestId)).map((r) => [r.operation, r.status])).toEqual([['batch', 400]]);
      }
      expect((await entryRow('dup-keep'))!.encrypted_value).toBe('SECRET-dup');
      expect(await entryRow('proto-1')).toBeUndefined();
      expect(await entryRow('deep-1')).toBeUndefined();
    });

    it('too many items is a 413 with nothing applied, even when the items are tiny', async () => {
      const many = Array.from({ length: 20_000 }, (_, i) => ({ op: 'delete', external_id: i === 0 ? 'own' : `x${i}` }));
      const { res, requestId } = await batch({ operations: many });
      expect(res.status).toBe(413);
      expect((await entryRow('own'))!.encrypted_value).toBe('SECRET-own');
      expect((await rowsOf(requestId)).map((r) => [r.operation, r.status])).toEqual([['batch', 413]]);
    });

    it('an invalid external_id is audited as the single call audits it: never an unbounded or unvalidated string in the access log', async () => {
      // Found by the review: the batch recorded the raw external_id of an invalid item (100 KB, or text that
      // looks like another log line); the single call records null.
      const huge = `A${'a'.repeat(100_000)}`;
      const tooLong = await batch({ operations: [{ op: 'get', external_id: huge }] });
      expect(tooLong.res.status).toBe(400); // longer than any id can be: the envelope is malformed
      expect((await rowsOf(tooLong.requestId)).map((r) => [r.operation, r.external_id])).toEqual([['batch', null]]);
      const forgedLine = 'own\n2026-06-01 granted retrieve card/theirs app=other';
      const { res, requestId } = await batch({
        operations: [
          { op: 'get', external_id: `-${'a'.repeat(250)}` },
          { op: 'head', external_id: forgedLine },
        ],
      });
      expect((await results(res)).map((r) => r.status)).toEqual([400, 400]);
      const rows = await rowsOf(requestId);
      expect(rows).toHaveLength(2);
      const one = await single('GET', `/vault/card/${encodeURIComponent(forgedLine)}`, 'pay');
      expect(one.res.status).toBe(400);
      const [singleRow] = (await vault.accessLog()).filter((r: AccessLogRecord) => r.request_id === one.requestId);
      expect(singleRow!.external_id).toBeNull();
      for (const row of rows) {
        // What the single call records (null), or at most a string the path pattern could carry.
        expect(row.external_id === null || /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(row.external_id), `${row.external_id?.slice(0, 40)}`).toBe(true);
      }
    });
  });

  describe('stale verdicts', () => {
    it('a policy narrowed by a replica between two batches: the batch is decided on the new rules and each item has exactly one row', async () => {
      await putAccessPolicy(vault, 'narrow-me', { store: { allow: 'any' }, retrieve: { allow: 'any' }, purge: { allow: 'owner' } });
      await store(vault, 'other', 'card', 'nm-1', { access_policy: 'narrow-me', encrypted_value: 'SECRET-nm' });
      const read = () =>
        batch({
          operations: [
            { op: 'get', external_id: 'nm-1' },
            { op: 'get', external_id: 'own' },
            { op: 'head', external_id: 'nm-1' },
          ],
        });
      const first = await read();
      expect((await results(first.res)).map((r) => r.status)).toEqual([200, 200, 200]);
      const replica = await createTestVault({ database: vault.db, clock });
      const narrowed = await replica.request('PUT', '/admin/access-policies/narrow-me', {
        as: 'admin',
        body: { description: 'narrowed', rules: { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: 'owner' } } },
      });
      expect(narrowed.status).toBe(200);
      const second = await read();
      const text = await second.res.clone().text();
      expect((await results(second.res)).map((r) => r.status)).toEqual([403, 200, 403]);
      expect(text).not.toContain('SECRET-nm');
      expect((await rowsOf(second.requestId)).map((r) => [r.request_id, r.status])).toEqual([
        [`${second.requestId}.0`, 403],
        [`${second.requestId}.1`, 200],
        [`${second.requestId}.2`, 403],
      ]);
      // And a single GET under load (shared reads) obeys the new rules too.
      const concurrent = await Promise.all(Array.from({ length: 6 }, () => single('GET', '/vault/card/nm-1', 'pay')));
      for (const c of concurrent) expect(c.res.status).toBe(403);
    });
  });
});
