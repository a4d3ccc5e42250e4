import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildPurgeRecord, canonicalJson, purgeProof, sha256Hex, type PurgedEntry } from '../../src/features/purge/purge-proof';

const entry: PurgedEntry = {
  purpose: 'card',
  externalId: 'payment-12345',
  ownerApp: 'pay',
  accessPolicy: 'owner-only',
  algorithmHint: 'AES-256-GCM',
  keyRef: 'akv:payez-kv:card-key-v7',
  fingerprint: null,
  encryptedValue: 'vault:v1:AES256-GCM:keyid=7:base64ciphertext...',
  createdAt: new Date('2026-06-01T12:00:00.000Z'),
  updatedAt: new Date('2026-06-02T12:00:00.000Z'),
  expiresAt: new Date('2026-08-30T12:00:00.000Z'),
};
const PURGED_AT = new Date('2026-07-01T00:00:00.000Z');

describe('canonicalJson()', () => {
  it('sorts object keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('does not depend on insertion order', () => {
    expect(canonicalJson({ x: 1, y: 2, z: 3 })).toBe(canonicalJson({ z: 3, y: 2, x: 1 }));
  });

  it('keeps array order', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
  });

  it('sorts by UTF-16 code units (uppercase before lowercase, no locale)', () => {
    expect(canonicalJson({ b: 1, B: 2, a: 3, _: 4 })).toBe('{"B":2,"_":4,"a":3,"b":1}');
  });

  it('escapes strings as JSON.stringify does, and keeps null but drops undefined', () => {
    expect(canonicalJson({ s: 'a"b\\c\n—', n: null, u: undefined })).toBe(`{"n":null,"s":${JSON.stringify('a"b\\c\n—')}}`);
  });

  it('serialises scalars as JSON', () => {
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson(42)).toBe('42');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(null)).toBe('null');
  });
});

describe('buildPurgeRecord()', () => {
  const record = buildPurgeRecord(entry, 'physical-delete', 'manual purge by pay', PURGED_AT);

  it('holds the documented fields, with the value only as its SHA-256', () => {
    expect(record).toEqual({
      v: 1,
      purpose: 'card',
      external_id: 'payment-12345',
      owner_app: 'pay',
      access_policy: 'owner-only',
      algorithm_hint: 'AES-256-GCM',
      key_ref: 'akv:payez-kv:card-key-v7',
      fingerprint: null,
      value_sha256: createHash('sha256').update(entry.encryptedValue, 'utf8').digest('hex'),
      created_at: '2026-06-01T12:00:00.000Z',
      updated_at: '2026-06-02T12:00:00.000Z',
      expires_at: '2026-08-30T12:00:00.000Z',
      purged_at: '2026-07-01T00:00:00.000Z',
      method: 'physical-delete',
      reason: 'manual purge by pay',
    });
  });

  it('never contains the value itself', () => {
    expect(canonicalJson(record)).not.toContain(entry.encryptedValue);
  });
});

describe('purgeProof()', () => {
  const canonical = canonicalJson(buildPurgeRecord(entry, 'crypto-shred', 'r', PURGED_AT));

  it('is sha256: + 64 lowercase hex over the canonical bytes, recomputable with any SHA-256', () => {
    const proof = purgeProof(canonical);
    expect(proof).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(proof).toBe(`sha256:${createHash('sha256').update(Buffer.from(canonical, 'utf8')).digest('hex')}`);
    expect(sha256Hex(canonical)).toBe(proof.slice('sha256:'.length));
  });

  it('changes when any field of the record changes', () => {
    const base = buildPurgeRecord(entry, 'crypto-shred', 'r', PURGED_AT);
    const proof = purgeProof(canonicalJson(base));
    expect(purgeProof(canonicalJson({ ...base, external_id: 'payment-12346' }))).not.toBe(proof);
    expect(purgeProof(canonicalJson(buildPurgeRecord({ ...entry, encryptedValue: `${entry.encryptedValue}x` }, 'crypto-shred', 'r', PURGED_AT)))).not.toBe(
      proof,
    );
    expect(purgeProof(canonicalJson(buildPurgeRecord(entry, 'physical-delete', 'r', PURGED_AT)))).not.toBe(proof);
  });

  it('is stable for the same record built twice', () => {
    const again = canonicalJson(buildPurgeRecord({ ...entry }, 'crypto-shred', 'r', new Date(PURGED_AT)));
    expect(purgeProof(again)).toBe(purgeProof(canonical));
  });
});
