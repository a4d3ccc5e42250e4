import { createHash } from 'node:crypto';
import type { Verifier } from '../../kernel/signer';
import { CHECKPOINT_TYP, chainHash, DIGEST_BYTES, inRanges, parseMultirange, RangeBuilder, rowDigest, type CheckpointEntry } from './audit-chain';

/**
 * The audit archive: one file of newline-delimited JSON that holds whole months of the sealed logs, the
 * seals that cover them and a signed checkpoint, and ends with the audit key's signature over everything
 * before it. It can be checked with nothing but the file and the public key (docs/audit-and-compliance.md):
 *
 *   {"type":"archive","format":"vsql-vault-audit-archive/1","exported_at":…,"before":…,"segments":[{log,partition,from,to,rows,ids}]}
 *   {"type":"seal","log":…,"seal_no":…,"covered":"{[a,b)}","row_count":…,"digests":"<base64>","prev_hash":…,"hash":…}   (every seal covering an archived row)
 *   {"type":"row","log":…,"id":…,"text":"[…]"}   (the exact serialization the seal digest covers, in id order)
 *   {"type":"checkpoint","jws":…}   (the chain heads when the archive was made)
 *   {"type":"signature","jws":…}    (payload: format, exported_at, segments, body_sha256 of every line above)
 */
export const ARCHIVE_FORMAT = 'vsql-vault-audit-archive/1';
export const ARCHIVE_TYP = 'vsql-vault-audit-archive+jwt';
export const ARCHIVE_RECORD_TYP = 'vsql-vault-audit-archive-record+jwt';
export const MARKER_TYP = 'vsql-vault-audit-prune-marker+jwt';

export interface ArchiveSegment {
  log: string;
  partition: string;
  from: string;
  to: string;
  rows: number;
  ids: string;
}

export interface ArchiveSeal {
  log: string;
  seal_no: number;
  sealed_at: string;
  covered: string;
  row_count: number;
  digests: string;
  prev_hash: string;
  hash: string;
}

export interface ArchiveVerification {
  status: 'valid' | 'invalid';
  file_sha256: string;
  exported_at: string | null;
  segments: ArchiveSegment[];
  rows: number;
  seals: number;
  signed_by: string | null;
  problems: string[];
}

interface SealIndex {
  seal: ArchiveSeal;
  digests: Buffer;
}
/**
 * Finds, for a row id, the digest its seal holds for it: the seals' ranges sorted, each knowing its seal and
 * the position of its first id (a binary search per row; nothing per id is kept in memory).
 */
export class SealLocator {
  private ranges: Array<{ lo: number; hi: number; seal: { seal_no: number; digests: Buffer }; pos: number }> = [];

  /** Adds a seal; returns how many ids its covered ranges hold. */
  add(seal: { seal_no: number; covered: string; digests: Buffer }): number {
    let pos = 0;
    for (const [lo, hi] of parseMultirange(seal.covered)) {
      this.ranges.push({ lo, hi, seal, pos });
      pos += hi - lo;
    }
    this.ranges.sort((a, b) => a.lo - b.lo);
    return pos;
  }

  find(id: number): { seal_no: number; digest: Buffer } | undefined {
    let a = 0;
    let b = this.ranges.length - 1;
    while (a <= b) {
      const m = (a + b) >> 1;
      const r = this.ranges[m]!;
      if (id < r.lo) b = m - 1;
      else if (id >= r.hi) a = m + 1;
      else {
        const k = r.pos + (id - r.lo);
        return { seal_no: r.seal.seal_no, digest: r.seal.digests.subarray(k * DIGEST_BYTES, (k + 1) * DIGEST_BYTES) };
      }
    }
    return undefined;
  }
}

/**
 * Checks an archive line by line (it may hold millions of rows: what stays in memory is the seals and, per
 * month, the id ranges seen):
 * every row against its seal's digest, every seal's hash, consecutive seals chained, each month complete
 * (its rows are exactly the ids the header names), the checkpoint and the closing signature by the key.
 */
export async function verifyArchive(lines: AsyncIterable<string>, verifiers: readonly Verifier[]): Promise<ArchiveVerification> {
  const problems: string[] = [];
  const problem = (p: string) => {
    if (problems.length < 20) problems.push(p);
  };
  const file = createHash('sha256');
  const body = createHash('sha256');
  let header: { format?: unknown; exported_at?: unknown; segments?: unknown } | undefined;
  let segments: ArchiveSegment[] = [];
  const seals = new Map<string, SealIndex[]>();
  const locators = new Map<string, SealLocator>();
  const seen = new Map<string, { ids: RangeBuilder; last: number; count: number }>();
  let checkpoint: string | undefined;
  let signature: string | undefined;
  let rows = 0;
  let sealCount = 0;
  let lineNo = 0;
  let afterSignature = false;

  let segmentRanges: Array<{ segment: ArchiveSegment; ranges: Array<[number, number]> }> = [];
  const segmentOf = (log: string, id: number) => segmentRanges.find((s) => s.segment.log === log && inRanges(s.ranges, id))?.segment;

  for await (const line of lines) {
    lineNo++;
    file.update(`${line}\n`);
    if (afterSignature) {
      if (line.length > 0) problem(`line ${lineNo}: content after the signature`);
      continue;
    }
    let item: Record<string, unknown>;
    try {
      item = JSON.parse(line) as Record<string, unknown>;
    } catch {
      problem(`line ${lineNo}: not JSON`);
      body.update(`${line}\n`);
      continue;
    }
    if (item.type === 'signature') {
      signature = typeof item.jws === 'string' ? item.jws : undefined;
      afterSignature = true;
      continue;
    }
    body.update(`${line}\n`);
    if (lineNo === 1) {
      if (item.type !== 'archive' || item.format !== ARCHIVE_FORMAT || !Array.isArray(item.segments)) {
        problem('line 1: not a vsql-vault audit archive header');
        break;
      }
      header = item;
      segments = item.segments as ArchiveSegment[];
      segmentRanges = segments.map((segment) => ({ segment, ranges: parseMultirange(String(segment.ids)) }));
      for (const s of segments) seen.set(s.partition, { ids: new RangeBuilder(), last: 0, count: 0 });
      continue;
    }
    if (item.type === 'seal') {
      const seal = item as unknown as ArchiveSeal;
      const digests = Buffer.from(seal.digests, 'base64');
      if (digests.length !== seal.row_count * DIGEST_BYTES || chainHash(seal.prev_hash, digests) !== seal.hash)
        problem(`${seal.log} seal ${seal.seal_no}: its hash does not match its contents`);
      const list = seals.get(seal.log) ?? [];
      const prev = list[list.length - 1];
      if (prev && prev.seal.seal_no + 1 === seal.seal_no && prev.seal.hash !== seal.prev_hash)
        problem(`${seal.log} seal ${seal.seal_no}: does not chain to seal ${prev.seal.seal_no}`);
      const entry = { seal, digests };
      list.push(entry);
      seals.set(seal.log, list);
      const locator = locators.get(seal.log) ?? new SealLocator();
      const covers = locator.add({ seal_no: seal.seal_no, covered: seal.covered, digests });
      if (covers !== seal.row_count) problem(`${seal.log} seal ${seal.seal_no}: covers ${covers} ids but counts ${seal.row_count} rows`);
      locators.set(seal.log, locator);
      sealCount++;
      continue;
    }
    if (item.type === 'row') {
      rows++;
      const log = String(item.log);
      const id = Number(item.id);
      const text = String(item.text);
      let first: unknown;
      try {
        first = (JSON.parse(text) as unknown[])[0];
      } catch {
        first = undefined;
      }
      if (first !== id) problem(`${log} row ${id}: its text is not that row's`);
      const segment = segmentOf(log, id);
      if (!segment) {
        problem(`${log} row ${id}: outside every month the header names`);
        continue;
      }
      const s = seen.get(segment.partition)!;
      if (id <= s.last) problem(`${log} row ${id}: rows out of order or repeated`);
      s.last = id;
      s.count++;
      s.ids.add(id);
      const at = locators.get(log)?.find(id);
      if (!at) problem(`${log} row ${id}: no seal in the archive covers it`);
      else if (!rowDigest(text).equals(at.digest)) problem(`${log} row ${id}: changed (its digest differs from seal ${at.seal_no})`);
      continue;
    }
    if (item.type === 'checkpoint') {
      checkpoint = typeof item.jws === 'string' ? item.jws : undefined;
      continue;
    }
    problem(`line ${lineNo}: unknown line type`);
  }

  if (!header) problem('no archive header');
  for (const s of segments) {
    const got = seen.get(s.partition);
    if (!got || got.count !== s.rows || got.ids.text() !== s.ids)
      problem(`${s.partition}: the rows present (${got?.count ?? 0}) are not the ${s.rows} the header names`);
  }

  const verifierFor = (jws: string | undefined, typ: string) => {
    if (!jws) return undefined;
    for (const v of verifiers) {
      const payload = v.verify(jws, typ);
      if (payload) return { payload, kid: v.kid };
    }
    return undefined;
  };
  const signed = verifierFor(signature, ARCHIVE_TYP);
  if (!signature) problem('no signature line');
  else if (!signed) problem('the signature does not check with the key given');
  else {
    if (signed.payload.body_sha256 !== body.digest('hex')) problem('the signature does not cover this content (a byte changed)');
    if (JSON.stringify(signed.payload.segments) !== JSON.stringify(segments)) problem('the signed segments differ from the header');
  }
  const cp = verifierFor(checkpoint, CHECKPOINT_TYP);
  if (!checkpoint) problem('no checkpoint line');
  else if (!cp) problem('the checkpoint does not check with the key given');
  else {
    const entries = (cp.payload.logs ?? []) as CheckpointEntry[];
    for (const [log, list] of seals) {
      const last = list[list.length - 1]!.seal;
      const head = entries.find((e) => e.log === log);
      if (!head || head.seal_no < last.seal_no) problem(`${log}: the checkpoint does not reach seal ${last.seal_no}`);
      else if (head.seal_no === last.seal_no && head.hash !== last.hash) problem(`${log}: seal ${last.seal_no} differs from the checkpoint`);
    }
  }
  return {
    status: problems.length === 0 ? 'valid' : 'invalid',
    file_sha256: file.digest('hex'),
    exported_at: typeof header?.exported_at === 'string' ? header.exported_at : null,
    segments,
    rows,
    seals: sealCount,
    signed_by: signed?.kid ?? null,
    problems,
  };
}
