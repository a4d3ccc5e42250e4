import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPurgeRecord, canonicalJson, purgeProof } from '../../src/features/purge/purge-proof';
import type { PurgeMethod } from '../../src/features/policies/retention';
import { createTestVault, type TestVault } from '../support/test-app';
import { putRetention } from '../support/fixtures';

/**
 * The database computes purge records and proofs (so a purge and its proof are one statement); the README
 * documents the recipe and features/purge/purge-proof.ts implements it in TypeScript. These must never drift.
 */
describe('purge proof recipe: database and TypeScript agree', () => {
  let vault: TestVault;
  const methods: PurgeMethod[] = ['physical-delete', 'crypto-shred', 'retention-expire'];
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
    for (const method of methods) {
      await putRetention(vault, `p-${method}`, { max_retention_days: 30, default_ttl_days: 7, purge_method: method, description: 'recipe "test" ✓' });
    }
  });
  afterAll(() => vault.close());

  const awkward = ['plain-ascii-ciphertext', 'quote " backslash \\ slash / tab \t newline \n ctrl \u0001 \u001f', 'unicode é ü 漢字 🙂 \u2028 \u2029'];

  for (const method of methods) {
    it(`${method}: the stored record is canonical and the proof is its SHA-256`, async () => {
      for (const [i, value] of awkward.entries()) {
        const id = `rec-${i}`;
        const body = {
          encrypted_value: value,
          algorithm_hint: 'AES-256-GCM',
          key_ref: i === 0 ? undefined : 'kms:key/"v7"',
          fingerprint: i === 1 ? 'fp:abc' : undefined,
          metadata: { note: value },
        };
        const put = await vault.request('PUT', `/vault/p-${method}/${id}`, { as: 'pay', body });
        expect(put.status).toBe(201);
        const [row] = await vault.db.query<{ created_at: Date; updated_at: Date; expires_at: Date }>(
          'select created_at, updated_at, expires_at from vault.entries where purpose = $1 and external_id = $2',
          [`p-${method}`, id],
        );
        const del = await vault.request('DELETE', `/vault/p-${method}/${id}`, { as: 'pay' });
        expect(del.status).toBe(200);
        const receipt = (await del.json()) as { record: string; proof: string; reason: string; purged_at: string; method: string };
        expect(receipt.method).toBe(method);
        const expected = buildPurgeRecord(
          {
            purpose: `p-${method}`,
            externalId: id,
            ownerApp: 'pay',
            accessPolicy: 'owner-only',
            algorithmHint: 'AES-256-GCM',
            keyRef: body.key_ref ?? null,
            fingerprint: body.fingerprint ?? null,
            encryptedValue: value,
            createdAt: new Date(row!.created_at),
            updatedAt: new Date(row!.updated_at),
            expiresAt: new Date(row!.expires_at),
          },
          method,
          receipt.reason,
          new Date(receipt.purged_at),
        );
        expect(receipt.record).toBe(canonicalJson(expected));
        expect(receipt.proof).toBe(purgeProof(receipt.record));
        expect(receipt.proof).toBe(`sha256:${createHash('sha256').update(receipt.record, 'utf8').digest('hex')}`);
        expect(JSON.parse(receipt.record).value_sha256).toBe(createHash('sha256').update(value, 'utf8').digest('hex'));
        if (method === 'retention-expire') expect(receipt.reason).toBe(`retention policy 'p-${method}' (30 days max, 7 day default TTL); manual purge by pay`);
        else expect(receipt.reason).toBe('manual purge by pay');
      }
    });
  }
});
