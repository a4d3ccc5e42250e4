import {
  auditStatementSettings,
  rowsInRanges,
  countPending,
  expandIds,
  genesisHash,
  listSealHeads,
  listSeals,
  recentVerifications,
  type StoredSeal,
  presentIds,
  recomputeDigests,
  recordVerification,
  rowsInClosedGaps,
  sealLog,
  SEALED_LOGS,
  unionOfCovered,
  type SealedLog,
  type SealResult,
  type StoredVerification,
  chainHead,
} from './audit-seal.repository';
import type { Db } from '../../storage/database';
import { withTransaction } from '../../storage/transaction';
import { createHash } from 'node:crypto';
import { NotFoundError, UnprocessableError } from '../../kernel/errors';
import type { Signer } from '../../kernel/signer';
import {
  CHECKPOINT_TYP,
  chainHash,
  DIGEST_BYTES,
  extendsCheckpoint,
  firstDifferentDigest,
  firstMissing,
  inRanges,
  parseMultirange,
  positionsOf,
  VERIFICATION_TYP,
  type CheckpointEntry,
  type ExtendsVerdict,
} from './audit-chain';
import type { Clock } from '../../kernel/clock';
import { recordOnly } from '../../kernel/executor';
import type { OperationContext } from '../../kernel/context';
import type { Actor } from '../../kernel/principal';
import { listLogTables, listMarkers, type StoredMarker } from './audit-retention.repository';
import { MARKER_TYP } from './audit-archive';

export interface SealSettings {
  graceSeconds: number;
  maxRows: number;
}

/**
 * Seals everything not yet sealed in both logs, one transaction per seal. Each seal's hash goes to the
 * log stream too: a copy of the chain head outside the database, so even a superuser who rewrites the
 * tables and every seal cannot make the history agree with what was shipped.
 */
export async function sealAuditTrail(ctx: Pick<OperationContext<Actor>, 'db' | 'logger' | 'settings'>): Promise<SealResult[]> {
  const sealed: SealResult[] = [];
  for (const log of SEALED_LOGS) {
    for (;;) {
      const result = await withTransaction(ctx.db, (tx) => sealLog(tx, log, ctx.settings.seal));
      if (!result) break;
      ctx.logger.info('audit sealed', { log, seal_no: result.sealNo, rows: result.rowCount, last_id: result.lastId, hash: result.hash });
      sealed.push(result);
      if (result.rowCount < ctx.settings.seal.maxRows) break;
    }
  }
  // Each new head goes to the log stream signed: a copy outside the database that truncation cannot reach.
  const signer = ctx.settings.auditSigner;
  if (sealed.length > 0 && signer) {
    const checkpoint = await issueCheckpoint({ db: ctx.db, clock: { now: () => new Date() }, signer });
    ctx.logger.info('audit checkpoint', { checkpoint: checkpoint.jws, logs: checkpoint.logs.map((l) => ({ log: l.log, seal_no: l.seal_no, hash: l.hash })) });
  }
  return sealed;
}

export type TrailStatus = 'intact' | 'tampered' | 'truncated';

export interface LogVerification {
  log: SealedLog;
  status: TrailStatus;
  /** The seal this run started after: 0 for a full verification, else where the last signed verification ended. */
  from_seal_no: number;
  seals_checked: number;
  rows_checked: number;
  /** Seals whose rows left with an archived, pruned month (their place in the chain is kept by signed markers). */
  seals_pruned: number;
  last_sealed_id: number | null;
  last_seal_at: string | null;
  head_seal_no: number | null;
  head_hash: string | null;
  pending_rows: number;
  /** The log's tables (its monthly partitions and the default one) as this run found them. */
  partitions: string[];
  first_failure: { seal_no?: number; row_id?: number; problem: string } | null;
  /** Against the checkpoint given, when one was: does today's chain still hold its head? */
  checkpoint?: ExtendsVerdict & { seal_no: number };
}

export interface AuditVerification {
  status: TrailStatus;
  verified_at: string;
  /** `incremental`: only seals after the last signed verification were re-read; `full`: all of them. */
  mode: 'full' | 'incremental';
  /** The signed verification an incremental run continued from. */
  since: { verified_at: string } | null;
  /** What this answer can and cannot prove, in words. */
  proves: string;
  checkpoint: { issued_at: string; status: 'extends' | 'truncated' } | null;
  logs: LogVerification[];
}

const PROVES_WITHOUT_CHECKPOINT =
  'Every sealed row is unchanged and the chain of seals is unbroken from the first seal to the newest one present. Without a checkpoint kept outside the database this cannot show that the newest seals, or rows not yet sealed, were not removed: pass ?checkpoint=<jws> from GET /admin/audit/checkpoint.';
const PROVES_WITH_CHECKPOINT =
  'Every sealed row is unchanged, the chain of seals is unbroken, and the chain still holds the head the signed checkpoint attests: nothing sealed before it was removed. Rows sealed or written after the checkpoint are proven only as far as the chain itself.';
const PROVES_INCREMENTAL =
  ' Incremental: the rows sealed before the last signed verification were proven by it and were not re-read now, only that its chain head is still in place; ?full=true (verify-audit --full) re-reads every row.';
const PROVES_PRUNED =
  ' Months pruned after they were archived are accounted for by signed prune markers; their rows are proven by the archive file (vsql-vault audit verify-archive).';

/** Where the chain of one log was cut by prunes: the removed seals (number → hashes) and the removed ids. */
interface PrunedHistory {
  seals: Map<number, { prev_hash: string; hash: string; covered: string }>;
  ids: string;
  ranges: Array<[number, number]>;
  partitions: Set<string>;
  forged: string | undefined;
}

/** A prune marker is believed only when the audit key signed exactly what it says. */
export function believeMarker(m: StoredMarker, signer: Signer | undefined): boolean {
  const payload = signer?.verify(m.jws, MARKER_TYP);
  return (
    payload !== undefined &&
    payload.log === m.log &&
    payload.partition === m.partition &&
    payload.rows === Number(m.row_count) &&
    payload.ids === m.ids &&
    payload.archive_sha256 === m.archive_sha256 &&
    payload.seals === m.seals
  );
}

async function prunedHistory(db: Db, log: SealedLog, signer: Signer | undefined): Promise<PrunedHistory> {
  const seals = new Map<number, { prev_hash: string; hash: string; covered: string }>();
  const ranges: Array<[number, number]> = [];
  const partitions = new Set<string>();
  let forged: string | undefined;
  for (const m of await listMarkers(db, log)) {
    if (!believeMarker(m, signer)) {
      forged ??= m.partition;
      continue;
    }
    partitions.add(m.partition);
    for (const [no, prev, hash, covered] of JSON.parse(m.seals) as Array<[number, string, string, string]>) seals.set(no, { prev_hash: prev, hash, covered });
    ranges.push(...parseMultirange(m.ids));
  }
  ranges.sort((a, b) => a[0] - b[0]);
  return { seals, ids: `{${ranges.map(([lo, hi]) => `[${lo},${hi})`).join(',')}}`, ranges, partitions, forged };
}

/** Whether every id of a multirange lies among the pruned ids. */
function allPruned(covered: string, pruned: PrunedHistory): boolean {
  for (const [lo, hi] of parseMultirange(covered)) for (let id = lo; id < hi; id++) if (!inRanges(pruned.ranges, id)) return false;
  return true;
}

/** Where an incremental run starts for one log: the head the last signed intact verification proved, and the months it saw. */
type Base = { seal_no: number; hash: string; partitions: string[] } | undefined;

const SEAL_PAGE = 16;

async function judgeLog(
  db: Db,
  log: SealedLog,
  signer: Signer | undefined,
  base: Base,
): Promise<{ out: LogVerification; chain: Map<number, string>; markers: number }> {
  const out: LogVerification = {
    log,
    status: 'intact',
    from_seal_no: 0,
    seals_checked: 0,
    rows_checked: 0,
    seals_pruned: 0,
    last_sealed_id: null,
    last_seal_at: null,
    head_seal_no: null,
    head_hash: null,
    pending_rows: 0,
    partitions: [],
    first_failure: null,
  };
  // Seals first, then markers: a prune committing in between shows as a seal in both, never in neither.
  const heads = await listSealHeads(db, log);
  const pruned = await prunedHistory(db, log, signer);
  const chain = new Map<number, string>();
  for (const [no, s] of pruned.seals) chain.set(no, s.hash);
  for (const h of heads) chain.set(h.seal_no, h.hash);
  const result = (failure?: NonNullable<LogVerification['first_failure']>) => {
    if (failure) {
      out.status = 'tampered';
      out.first_failure = failure;
    }
    return { out, chain, markers: pruned.partitions.size + (pruned.forged === undefined ? 0 : 1) };
  };
  if (pruned.forged !== undefined)
    return result({ problem: `prune marker for ${pruned.forged} is not signed by the audit key: rows removed without a verifiable archive` });
  for (const [no, s] of pruned.seals)
    if (!allPruned(s.covered, pruned)) return result({ seal_no: no, problem: 'a pruned seal covered rows that were never pruned' });
  out.partitions = await listLogTables(db, log);

  // An incremental run continues from a head the last signed verification proved, if it is still there.
  const start = base !== undefined && chain.get(base.seal_no) === base.hash ? base : undefined;
  if (base !== undefined && !start) {
    out.status = 'truncated';
    out.first_failure = { seal_no: base.seal_no, problem: 'the seal the last signed verification ended at is gone or was replaced' };
  }
  out.from_seal_no = start?.seal_no ?? 0;
  const byNo = new Map(heads.map((h) => [h.seal_no, h]));
  if (start) {
    // What the earlier run proved is not re-read, but its shape is: every seal up to it still there (or pruned
    // with a signed marker) and chained, and every month it saw still there (or pruned with a marker).
    let prev = genesisHash(log);
    for (let n = 1; n <= start.seal_no; n++) {
      const seal = byNo.get(n) ?? pruned.seals.get(n);
      if (!seal) return result({ seal_no: n, problem: 'seal missing from the chain' });
      if (seal.prev_hash !== prev) return result({ seal_no: n, problem: 'seal does not chain to the previous seal' });
      prev = seal.hash;
    }
    const now = new Set(out.partitions);
    const dropped = start.partitions.find((p) => !now.has(p) && !pruned.partitions.has(p));
    if (dropped) return result({ problem: `month ${dropped} was removed without an archive and a signed prune marker` });
  }
  const newest = Math.max(0, ...chain.keys());
  let prevHash = start?.hash ?? genesisHash(log);
  const startLast = start ? byNo.get(start.seal_no)?.last_id : null;
  let prevLast: number | null = startLast ? Number(startLast) : null;
  out.seals_pruned = [...pruned.seals.keys()].filter((n) => n > out.from_seal_no).length;
  // Seals are read a page at a time: their digests are 16 bytes a row, too many to hold at once.
  let page = new Map<number, StoredSeal>();
  let pageEnd = out.from_seal_no;
  for (let n = out.from_seal_no + 1; n <= newest; n++) {
    if (n > pageEnd) {
      page = new Map((await listSeals(db, log, n - 1, SEAL_PAGE)).map((seal) => [seal.seal_no, seal]));
      pageEnd = n - 1 + SEAL_PAGE;
    }
    const seal = page.get(n);
    if (!seal) {
      const gone = pruned.seals.get(n);
      if (!gone) return result({ seal_no: n, problem: 'seal missing from the chain' });
      if (gone.prev_hash !== prevHash) return result({ seal_no: n, problem: 'pruned seal does not chain to the previous seal' });
      prevHash = gone.hash;
      continue;
    }
    const _digests = Buffer.from(seal.digests);
    const last = seal.last_id === null ? null : Number(seal.last_id);
    if (last !== null && prevLast !== null && last <= prevLast) return result({ seal_no: n, problem: 'covered row ids go backwards or repeat' });
    if (last !== null) prevLast = last;
    if (seal.prev_hash !== prevHash) return result({ seal_no: n, problem: 'seal does not chain to the previous seal' });
    const failure = await sealStillHolds(db, log, seal, pruned.ranges.length > 0 ? pruned : undefined);
    if (failure) return result(failure);
    page.delete(n);
    out.seals_checked++;
    out.rows_checked += seal.row_count;
    out.last_sealed_id = last;
    out.last_seal_at = new Date(seal.sealed_at).toISOString();
    prevHash = seal.hash;
  }
  const lastHead = heads[heads.length - 1];
  out.head_seal_no = newest === 0 ? null : newest;
  out.head_hash = newest === 0 ? null : (chain.get(newest) ?? null);
  if (out.last_sealed_id === null && lastHead?.last_id) out.last_sealed_id = Number(lastHead.last_id);
  const tail = await withTransaction(db, async (tx) => {
    await auditStatementSettings(tx);
    const intruders = lastHead ? await rowsInClosedGaps(tx, log, lastHead.covered_total, await unionOfCovered(tx, log)) : [];
    const revenants = pruned.ranges.length > 0 ? await rowsInRanges(tx, log, pruned.ids, 10) : [];
    return { intruder: intruders[0], revenant: revenants[0], pending: await countPending(tx, log, lastHead?.covered_total ?? '{}') };
  });
  if (tail.revenant) return result({ row_id: Number(tail.revenant), problem: 'row present with an id a prune removed' });
  if (tail.intruder) return result({ row_id: Number(tail.intruder), problem: 'row written into a range the chain had already closed' });
  out.pending_rows = tail.pending;
  return result();
}

/**
 * Whether a seal still holds: its hash over its digests, as many covered ids as digests, and the rows it
 * covers, as they are now, equal to its digests. Rows a prune removed (a month archived and dropped) are not
 * looked for; the others must all be there, unchanged, at their places. Undefined when it holds.
 */
export async function sealStillHolds(
  db: Db,
  log: SealedLog,
  seal: StoredSeal,
  pruned: { ids: string; ranges: Array<[number, number]> } | undefined,
): Promise<NonNullable<LogVerification['first_failure']> | undefined> {
  const digests = Buffer.from(seal.digests);
  const ranges = parseMultirange(seal.covered);
  const covers = ranges.reduce((n, [lo, hi]) => n + hi - lo, 0);
  if (digests.length !== seal.row_count * DIGEST_BYTES || covers !== seal.row_count || chainHash(seal.prev_hash, digests) !== seal.hash) {
    return { seal_no: seal.seal_no, problem: 'seal was altered: its hash does not match its contents' };
  }
  const straddles = pruned !== undefined && ranges.some(([lo, hi]) => pruned.ranges.some(([a, b]) => a < hi && lo < b));
  const minus = straddles ? pruned.ids : '{}';
  const now = await withTransaction(db, (tx) => recomputeDigests(tx, log, seal.covered, minus));
  let expected = digests;
  if (straddles) {
    const positions = positionsOf(seal.covered);
    const parts: Buffer[] = [];
    for (const [id, k] of positions) if (!inRanges(pruned.ranges, id)) parts.push(digests.subarray(k * DIGEST_BYTES, (k + 1) * DIGEST_BYTES));
    expected = Buffer.concat(parts);
  }
  if (!now.digests.equals(expected)) {
    const { wanted, present } = await withTransaction(db, async (tx) => {
      await auditStatementSettings(tx);
      return { wanted: await expandIds(tx, seal.covered, minus), present: await presentIds(tx, log, seal.covered, minus) };
    });
    const missing = firstMissing(wanted, present);
    if (missing !== undefined) return { seal_no: seal.seal_no, row_id: Number(missing), problem: 'sealed row was deleted' };
    const k = firstDifferentDigest(expected, now.digests);
    return { seal_no: seal.seal_no, row_id: Number(present[k]), problem: 'sealed row was changed' };
  }
  return undefined;
}

/** A checkpoint's entries, when this vault's audit key signed it; else the request is refused (422). */
function readCheckpoint(signer: Signer | undefined, jws: string): { issuedAt: string; entries: CheckpointEntry[] } {
  const payload = signer?.verify(jws, CHECKPOINT_TYP);
  const logs = payload?.logs;
  if (!payload || !Array.isArray(logs) || typeof payload.iat !== 'number') {
    throw new UnprocessableError("The checkpoint was not signed by this vault's audit key, or is not a checkpoint.")
      .withReason('checkpoint_invalid')
      .withProblemCode('checkpoint_invalid');
  }
  return { issuedAt: new Date(payload.iat * 1000).toISOString(), entries: logs as CheckpointEntry[] };
}

/**
 * Where an incremental run may start: the newest verification record whose signature checks, if it found
 * the trail intact (a newer signed `tampered` or `truncated` one means a full run, so a finding never
 * disappears behind an older intact record). Unsigned, forged or older-format records are passed over (a
 * forged one can make a run full, never shorter).
 */
async function lastProvenHeads(db: Db, signer: Signer | undefined): Promise<{ verifiedAt: string; heads: Map<string, NonNullable<Base>> } | undefined> {
  if (!signer) return undefined;
  for (const stored of await recentVerifications(db, 20)) {
    const believed = believeVerification(stored, signer);
    if (!believed.signed) continue;
    if (believed.status !== 'intact') return undefined;
    const report = JSON.parse(stored.report) as Partial<AuditVerification>;
    const heads = new Map<string, NonNullable<Base>>();
    for (const l of report.logs ?? [])
      if (typeof l.head_seal_no === 'number' && typeof l.head_hash === 'string' && Array.isArray(l.partitions))
        heads.set(l.log, { seal_no: l.head_seal_no, hash: l.head_hash, partitions: l.partitions });
    return { verifiedAt: believed.verified_at, heads };
  }
  return undefined;
}

/**
 * Verifies the trail and says where it breaks. By default incrementally: from the heads the last signed
 * intact verification proved, re-reading only the seals made since (`full` re-reads everything). With a
 * checkpoint (a JWS from GET /admin/audit/checkpoint, kept elsewhere) it also proves the chain still holds
 * that head, and answers `truncated`, naming the missing or replaced seals, when it does not. The result
 * is recorded, signed with the audit key, so the compliance report can cite it and a forged row is caught.
 */
export async function verifyAuditTrail(
  ctx: { db: Db; clock: Clock; signer?: Signer | undefined },
  options: { checkpoint?: string; full?: boolean } = {},
): Promise<AuditVerification> {
  return verifyAgainst(ctx, options.checkpoint === undefined ? undefined : readCheckpoint(ctx.signer, options.checkpoint), options.full ?? false);
}

async function verifyAgainst(
  ctx: { db: Db; clock: Clock; signer?: Signer | undefined },
  checkpoint: ReturnType<typeof readCheckpoint> | undefined,
  full: boolean,
): Promise<AuditVerification> {
  const since = full ? undefined : await lastProvenHeads(ctx.db, ctx.signer);
  const logs: LogVerification[] = [];
  for (const log of SEALED_LOGS) {
    let judged = await judgeLog(ctx.db, log, ctx.signer, since?.heads.get(log));
    // A prune that committed while this log was read can look like a removal: read it once more.
    if (judged.out.status === 'tampered' && (await listMarkers(ctx.db, log)).length !== judged.markers)
      judged = await judgeLog(ctx.db, log, ctx.signer, since?.heads.get(log));
    const { out, chain } = judged;
    const entry = checkpoint?.entries.find((e) => e.log === log);
    if (entry) {
      out.checkpoint = { ...extendsCheckpoint(chain, entry), seal_no: entry.seal_no };
      if (out.checkpoint.status === 'truncated' && out.status === 'intact') out.status = 'truncated';
    }
    logs.push(out);
  }
  const status: TrailStatus = logs.some((l) => l.status === 'tampered') ? 'tampered' : logs.some((l) => l.status === 'truncated') ? 'truncated' : 'intact';
  const incremental = logs.some((l) => l.from_seal_no > 0);
  const result: AuditVerification = {
    status,
    verified_at: ctx.clock.now().toISOString(),
    mode: incremental ? 'incremental' : 'full',
    since: incremental && since ? { verified_at: since.verifiedAt } : null,
    proves:
      (checkpoint ? PROVES_WITH_CHECKPOINT : PROVES_WITHOUT_CHECKPOINT) +
      (incremental ? PROVES_INCREMENTAL : '') +
      (logs.some((l) => l.seals_pruned > 0) ? PROVES_PRUNED : ''),
    checkpoint: checkpoint
      ? { issued_at: checkpoint.issuedAt, status: logs.some((l) => l.checkpoint?.status === 'truncated') ? 'truncated' : 'extends' }
      : null,
    logs,
  };
  const report = JSON.stringify(result);
  const rowsChecked = logs.reduce((n, l) => n + l.rows_checked, 0);
  const record = { verified_at: result.verified_at, status, rows_checked: rowsChecked, report_sha256: createHash('sha256').update(report).digest('hex') };
  await recordVerification(ctx.db, {
    verifiedAt: new Date(result.verified_at),
    status,
    rowsChecked,
    report,
    jws: ctx.signer ? ctx.signer.sign(record, VERIFICATION_TYP) : null,
  });
  return result;
}

/**
 * What the newest verification record may be believed to say: its own status when the audit key's
 * signature over exactly that record checks, `forged` when it does not (a row the serving role, or anyone
 * without the key, inserted), `unsigned` when this vault has no audit key to check it with.
 */
export function believeVerification(stored: StoredVerification, signer: Signer | undefined) {
  const verifiedAt = new Date(stored.verified_at).toISOString();
  const base = { verified_at: verifiedAt, rows_checked: Number(stored.rows_checked) };
  if (!signer) return { ...base, status: 'unsigned' as const, signed: false };
  const payload = stored.jws ? signer.verify(stored.jws, VERIFICATION_TYP) : undefined;
  const matches =
    payload !== undefined &&
    payload.verified_at === verifiedAt &&
    payload.status === stored.status &&
    payload.rows_checked === Number(stored.rows_checked) &&
    payload.report_sha256 === createHash('sha256').update(stored.report).digest('hex');
  return matches ? { ...base, status: stored.status as TrailStatus, signed: true } : { ...base, status: 'forged' as const, signed: false };
}

export type BelievedVerification = ReturnType<typeof believeVerification> & {
  mode?: 'full' | 'incremental';
  checkpoint?: { issued_at: string; status: string } | null;
};

/**
 * What the newest verification records may be believed to say, for the compliance report: the newest one,
 * the newest full one and the newest made against a checkpoint (mode and checkpoint are read from a
 * record's report only when its signature, which covers the report's SHA-256, checks).
 */
export async function trailEvidence(db: Db, signer: Signer | undefined) {
  const records = await recentVerifications(db, 100);
  const believed: BelievedVerification[] = records.map((stored) => {
    const b = believeVerification(stored, signer);
    if (!b.signed) return b;
    const report = JSON.parse(stored.report) as Partial<AuditVerification>;
    return { ...b, mode: report.mode ?? 'full', checkpoint: report.checkpoint ?? null };
  });
  return {
    last: believed[0],
    lastFull: believed.find((b) => b.signed && b.mode === 'full'),
    lastAgainstCheckpoint: believed.find((b) => b.signed && b.checkpoint),
  };
}

/** A signed checkpoint of both logs' chain heads now: what an operator keeps outside the database. */
export async function issueCheckpoint(ctx: { db: Db; clock: Clock; signer: Signer }): Promise<{ jws: string; logs: CheckpointEntry[] }> {
  const logs: CheckpointEntry[] = [];
  for (const log of SEALED_LOGS) {
    const head = await chainHead(ctx.db, log);
    if (!head) continue;
    logs.push({
      log,
      seal_no: head.seal_no,
      last_id: head.last_id === null ? null : Number(head.last_id),
      rows: Number(head.rows),
      hash: head.hash,
      sealed_at: new Date(head.sealed_at).toISOString(),
    });
  }
  const payload = { iss: 'vsql-vault', iat: Math.floor(ctx.clock.now().getTime() / 1000), logs };
  return { jws: ctx.signer.sign(payload, CHECKPOINT_TYP), logs };
}

/** GET /admin/audit/verify (admin, auditor). The access-log row of this read is written first. */
export async function requestVerification({
  ctx,
  checkpoint,
  full,
}: {
  ctx: OperationContext;
  checkpoint?: string;
  full?: boolean;
}): Promise<AuditVerification> {
  // A checkpoint this vault did not sign is refused (and audited) before anything is recorded or recomputed.
  const attested = checkpoint === undefined ? undefined : readCheckpoint(ctx.settings.auditSigner, checkpoint);
  await recordOnly(ctx, { operation: 'audit.verify' }, attested === undefined ? undefined : 'against a checkpoint');
  return verifyAgainst({ db: ctx.db, clock: ctx.clock, signer: ctx.settings.auditSigner }, attested, full ?? false);
}

/** GET /admin/audit/checkpoint (admin, auditor): the chain heads now, signed. */
export async function requestCheckpoint({ ctx }: { ctx: OperationContext }) {
  const signer = ctx.settings.auditSigner;
  if (!signer)
    throw new NotFoundError('No audit signing key is configured, so this vault issues no checkpoints (audit.signing_key_file).').withReason('no_audit_key');
  await recordOnly(ctx, { operation: 'audit.checkpoint' });
  return issueCheckpoint({ db: ctx.db, clock: ctx.clock, signer });
}

/** POST /admin/audit/seal (admin): seal now instead of waiting for the schedule. */
export async function requestSeal({ ctx }: { ctx: OperationContext }): Promise<SealResult[]> {
  await recordOnly(ctx, { operation: 'audit.seal' });
  return sealAuditTrail(ctx);
}
