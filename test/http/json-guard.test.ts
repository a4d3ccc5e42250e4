import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonShapeProblem } from '../../src/http/json-guard';
import { createTestVault, type TestVault } from '../support/test-app';
import { putRetention } from '../support/fixtures';

describe('jsonShapeProblem', () => {
  it.each([
    ['{"a":1,"a":2}', 'a key is repeated in one object'],
    ['{"a":{"b":1,"c":{"b":2}},"b":3}', undefined],
    ['{"a\\u0062":1,"ab":2}', 'a key is repeated in one object'],
    ['{"x":"{\\"a\\":1,\\"a\\":2}"}', undefined],
    ['[{"a":1},{"a":1}]', undefined],
    ['{"a":[1,{"k":1,"k":2}]}', 'a key is repeated in one object'],
    [`${'['.repeat(40)}${']'.repeat(40)}`, 'nested deeper than 32 levels'],
    [`${'{"a":'.repeat(32)}1${'}'.repeat(32)}`, undefined],
  ])('%s', (text, problem) => {
    expect(jsonShapeProblem(text, 32)).toBe(problem);
  });
});

describe('store bodies with repeated keys or deep nesting', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
    await putRetention(vault, 'card');
  });
  afterAll(() => vault.close());

  it('refuses a repeated access_policy with 400 and stores nothing', async () => {
    const res = await vault.request('PUT', '/vault/card/dup-1', {
      as: 'pay',
      rawBody: '{"encrypted_value":"ct","access_policy":"owner-only","access_policy":"open-retrieve"}',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(await vault.db.query(`select 1 from vault.entries where external_id = 'dup-1'`)).toEqual([]);
  });

  it('refuses 10 000 levels of nested metadata with 400, not 500', async () => {
    const deep = `${'{"m":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const res = await vault.request('PUT', '/vault/card/deep-1', {
      as: 'pay',
      rawBody: `{"encrypted_value":"ct","metadata":${deep}}`,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(await vault.db.query(`select 1 from vault.entries where external_id = 'deep-1'`)).toEqual([]);
  });
});
