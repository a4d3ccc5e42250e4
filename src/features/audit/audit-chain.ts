import { createHash } from 'node:crypto';

/** Bytes of one row digest inside a seal. */
export const DIGEST_BYTES = 16;

/** A seal's hash: SHA-256 over the previous seal's hash (UTF-8 hex text) followed by its row digests. */
export function chainHash(prevHash: string, digests: Buffer): string {
  return createHash('sha256').update(Buffer.from(prevHash, 'utf8')).update(digests).digest('hex');
}

/** Index of the first row digest that differs between two digest strings, or -1 when they are equal. */
export function firstDifferentDigest(expected: Buffer, actual: Buffer): number {
  const n = Math.max(expected.length, actual.length) / DIGEST_BYTES;
  for (let i = 0; i < n; i++) {
    const a = expected.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
    const b = actual.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
    if (!a.equals(b)) return i;
  }
  return -1;
}

/** First position where two ordered id lists disagree: the first expected id that is missing. */
export function firstMissing(expected: readonly string[], present: readonly string[]): string | undefined {
  const have = new Set(present);
  return expected.find((id) => !have.has(id));
}

/** What a signed checkpoint says of one log: the chain head at the time it was issued. */
export interface CheckpointEntry {
  log: string;
  seal_no: number;
  last_id: number | null;
  rows: number;
  hash: string;
  sealed_at: string;
}

export const CHECKPOINT_TYP = 'vsql-vault-audit-checkpoint+jwt';
export const VERIFICATION_TYP = 'vsql-vault-audit-verification+jwt';

/** How today's chain of one log stands against a checkpoint kept elsewhere. */
export type ExtendsVerdict = { status: 'extends' } | { status: 'truncated'; missing_seals: number[]; replaced_seals: number[] };

/**
 * Pure: whether a chain (seal number → hash, as it is now) still holds the checkpoint's head with the same
 * hash. Seals at or below the checkpoint that are gone are missing; one with another hash was replaced
 * (the tail was cut and sealed again). Either way rows the checkpoint attests are no longer provable.
 */
export function extendsCheckpoint(chain: ReadonlyMap<number, string>, entry: CheckpointEntry): ExtendsVerdict {
  const missing: number[] = [];
  for (let n = 1; n <= entry.seal_no; n++) if (!chain.has(n)) missing.push(n);
  const head = chain.get(entry.seal_no);
  const replaced = head !== undefined && head !== entry.hash ? [entry.seal_no] : [];
  return missing.length === 0 && replaced.length === 0 ? { status: 'extends' } : { status: 'truncated', missing_seals: missing, replaced_seals: replaced };
}
