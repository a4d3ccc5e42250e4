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
