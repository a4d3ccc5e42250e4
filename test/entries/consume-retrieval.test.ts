import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/storage/database';
import { consumeRetrieval } from '../../src/features/entries/entry.repository';
import { createTestVault, type TestVault } from '../support/test-app';
import { putAccessPolicy, putRetention, store } from '../support/fixtures';

/**
 * A budgeted GET reads the entry, then spends the budget in its own transaction. The spend must land on
 * the version that was read: a value replaced, shredded or expired in between is never served (and its
 * successor's budget is not spent), and a spent budget stays spent.
 */
describe('spending a retrieval budget', () => {
  let vault: TestVault;
  const state = async () =>
    (
      await vault.db.query<{ id: number; etag: string; n: number }>(
        `select id::int as id, etag, retrieval_count as n from vault.entries where external_id = 'budgeted'`,
      )
    )[0]!;
  const spend = (s: { id: number; etag: string }, max: number, now = vault.clock.now()) =>
    vault.db.db.transaction((tx) => consumeRetrieval(tx as unknown as Db, { id: s.id, etag: s.etag, max, now }));

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
    await putRetention(vault, 'card');
    await putAccessPolicy(vault, 'budget-2', { store: { allow: 'any' }, retrieve: { allow: 'any', max_retrievals: 2 }, purge: { allow: 'admin' } });
    await store(vault, 'pay', 'card', 'budgeted', { access_policy: 'budget-2' });
  });
  afterAll(() => vault.close());

  it('spends up to the budget, then reports it exhausted without counting further', async () => {
    const read = await state();
    expect(await spend(read, 2)).toBe('spent');
    expect(await spend(read, 2)).toBe('spent');
    expect(await spend(read, 2)).toBe('exhausted');
    expect((await state()).n).toBe(2);
  });

  it('reports a replaced, expired or shredded entry as changed and spends nothing', async () => {
    await vault.db.query(`update vault.entries set retrieval_count = 0 where external_id = 'budgeted'`);
    const read = await state();
    expect(await spend({ ...read, etag: 'an-older-version' }, 2)).toBe('changed');
    expect(await spend(read, 2, new Date('2099-01-01T00:00:00Z'))).toBe('changed');
    await vault.db.query(`update vault.entries set purged_at = now(), encrypted_value = '' where external_id = 'budgeted'`);
    expect(await spend(read, 2)).toBe('changed');
    expect((await state()).n).toBe(0);
  });
});
