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

/** A row's digest inside a seal: the first 16 bytes of SHA-256 over its serialization (the SQL computes the same). */
export function rowDigest(serialized: string): Buffer {
  return createHash('sha256').update(serialized, 'utf8').digest().subarray(0, DIGEST_BYTES);
}

/** Half-open id ranges [lo, hi) of an int8multirange's text form ("{[1,101),[105,106)}"), in order. */
export function parseMultirange(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const m of text.matchAll(/\[(-?\d+),(-?\d+)\)/g)) out.push([Number(m[1]), Number(m[2])]);
  return out;
}

/** The int8multirange text of ids added in ascending order, built as they stream by. */
export class RangeBuilder {
  private parts: string[] = [];
  private lo: number | undefined;
  private prev = 0;
  add(id: number): void {
    if (this.lo === undefined) this.lo = id;
    else if (id !== this.prev + 1) {
      this.parts.push(`[${this.lo},${this.prev + 1})`);
      this.lo = id;
    }
    this.prev = id;
  }
  text(): string {
    return `{${[...this.parts, ...(this.lo === undefined ? [] : [`[${this.lo},${this.prev + 1})`])].join(',')}}`;
  }
}

/** The int8multirange text PostgreSQL prints for a set of ids (sorted ascending, no repeats). */
export function multirangeOf(ids: readonly number[]): string {
  const builder = new RangeBuilder();
  for (const id of ids) builder.add(id);
  return builder.text();
}

/** Position of each id of a multirange, in id order: where its digest sits in a seal's digest string. */
export function positionsOf(covered: string): Map<number, number> {
  const at = new Map<number, number>();
  let k = 0;
  for (const [lo, hi] of parseMultirange(covered)) for (let id = lo; id < hi; id++) at.set(id, k++);
  return at;
}

/** Whether an id lies in a multirange. */
export function inRanges(ranges: ReadonlyArray<[number, number]>, id: number): boolean {
  let a = 0;
  let b = ranges.length - 1;
  while (a <= b) {
    const m = (a + b) >> 1;
    const [lo, hi] = ranges[m]!;
    if (id < lo) b = m - 1;
    else if (id >= hi) a = m + 1;
    else return true;
  }
  return false;
}
