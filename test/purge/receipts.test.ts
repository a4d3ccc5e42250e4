import { createHash, generateKeyPairSync } from 'node:crypto';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiptSigner } from '../../src/features/purge/purge-receipt';
import { createTestVault, type TestVault } from '../support/test-app';
import { putRetention, store } from '../support/fixtures';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

async function verify(vault: TestVault, jws: string) {
  const jwks = (await (await vault.request('GET', '/.well-known/jwks.json')).json()) as JSONWebKeySet;
  const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(jwks));
  return { payload: JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>, header: protectedHeader };
}

for (const kind of ['ed25519', 'p256'] as const) {
  describe(`signed purge receipts (${kind})`, () => {
    let vault: TestVault;
    beforeAll(async () => {
      const pair = kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      // The receipt key is also the audit key when no audit key of its own is configured (as main.ts does).
      const signer = createReceiptSigner(pem);
      vault = await createTestVault({ apps: [{ name: 'pay' }], receiptSigner: signer, auditSigner: signer });
      await putRetention(vault, 'card', { max_retention_days: 30, default_ttl_days: 5, purge_method: 'crypto-shred' });
    });
    afterAll(() => vault.close());

    it('serves the public key, and nothing private, without a credential', async () => {
      const res = await vault.request('GET', '/.well-known/jwks.json');
      expect(res.status).toBe(200);
      const { keys } = (await res.json()) as { keys: Record<string, string>[] };
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatchObject({ alg: kind === 'ed25519' ? 'EdDSA' : 'ES256', use: 'sig' });
      expect(keys[0]!.kid).toMatch(/^[\w-]{43}$/);
      expect(keys[0]).not.toHaveProperty('d');
    });

    it('a manual purge returns and stores a JWS over the proof record that verifies against the JWKS', async () => {
      await store(vault, 'pay', 'card', 'r-1', { encrypted_value: 'ciphertext-r1' });
      const res = await vault.request('DELETE', '/vault/card/r-1', { as: 'pay' });
      expect(res.status).toBe(200);
      const receipt = (await res.json()) as { receipt: string; proof: string; record: string; purge_log_id: number };
      const { payload, header } = await verify(vault, receipt.receipt);
      expect(header.typ).toBe('vsql-vault-purge-receipt+jwt');
      expect(payload).toMatchObject({
        iss: 'vsql-vault',
        purge_log_id: receipt.purge_log_id,
        purpose: 'card',
        external_id: 'r-1',
        method: 'crypto-shred',
        proof: receipt.proof,
        record: receipt.record,
      });
      expect(`sha256:${sha(payload.record as string)}`).toBe(receipt.proof);
      const [stored] = await vault.db.query<{ jws: string }>('select jws from vault.purge_receipts where purge_log_id = $1', [receipt.purge_log_id]);
      expect(stored!.jws).toBe(receipt.receipt);
    });

    it('a tampered receipt does not verify', async () => {
      await store(vault, 'pay', 'card', 'r-2');
      const { receipt } = (await (await vault.request('DELETE', '/vault/card/r-2', { as: 'pay' })).json()) as { receipt: string };
      const [h, p, s] = receipt.split('.');
      const forged = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
      forged.external_id = 'someone-else';
      await expect(verify(vault, `${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${s}`)).rejects.toThrow();
    });

    it('every entry a sweep purges gets a verifiable receipt', async () => {
      for (let i = 0; i < 5; i++) await store(vault, 'pay', 'card', `s-${i}`);
      vault.clock.advanceDays(6);
      const sweep = await vault.request('POST', '/admin/purge/sweep', { as: 'admin' });
      expect(await sweep.json()).toMatchObject({ purged: 5 });
      const rows = await vault.db.query<{ jws: string; proof: string; external_id: string }>(
        `select r.jws, l.proof, l.external_id from vault.purge_receipts r join vault.purge_log l on l.id = r.purge_log_id where l.sweep_run_id is not null order by l.external_id`,
      );
      expect(rows.map((r) => r.external_id)).toEqual(['s-0', 's-1', 's-2', 's-3', 's-4']);
      for (const row of rows) {
        const { payload } = await verify(vault, row.jws);
        expect(payload).toMatchObject({ external_id: row.external_id, proof: row.proof });
      }
    });
  });
}

describe('without a signing key', () => {
  it('proofs stay plain SHA-256, receipts are null and the JWKS is empty', async () => {
    const vault = await createTestVault({ apps: [{ name: 'pay' }], auditSigner: false });
    try {
      await putRetention(vault, 'card');
      await store(vault, 'pay', 'card', 'n-1');
      const body = (await (await vault.request('DELETE', '/vault/card/n-1', { as: 'pay' })).json()) as { receipt: unknown; proof: string };
      expect(body.receipt).toBeNull();
      expect(body.proof).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await (await vault.request('GET', '/.well-known/jwks.json')).json()).toEqual({ keys: [] });
      expect(await vault.db.query('select * from vault.purge_receipts')).toEqual([]);
    } finally {
      await vault.close();
    }
  });

  it('refuses a key that is neither Ed25519 nor P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => createReceiptSigner(rsa)).toThrow(/Ed25519 or P-256/);
  });
});
