import {
  countPending,
  expandIds,
  genesisHash,
  listSeals,
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
  VERIFICATION_TYP,
  type CheckpointEntry,
  type ExtendsVerdict,
} from './audit-chain';
import type { Clock } from '../../kernel/clock';
import { recordOnly } from '../../kernel/executor';
import type { OperationContext } from '../../kernel/context';
import type { Actor } from '../../kernel/principal';

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
  seals_checked: number;
  rows_checked: number;
  last_sealed_id: number | null;
  last_seal_at: string | null;
  head_hash: string | null;
  pending_rows: number;
  first_failure: { seal_no?: number; row_id?: number; problem: string } | null;
  /** Against the checkpoint given, when one was: does today's chain still hold its head? */
  checkpoint?: ExtendsVerdict & { seal_no: number };
}

export interface AuditVerification {
  status: TrailStatus;
  verified_at: string;
  /** What this answer can and cannot prove, in words. */
  proves: string;
  checkpoint: { issued_at: string; status: 'extends' | 'truncated' } | null;
  logs: LogVerification[];
}

const PROVES_WITHOUT_CHECKPOINT =
  'Every sealed row is unchanged and the chain of seals is unbroken from the first seal to the newest one present. Without a checkpoint kept outside the database this cannot show that the newest seals, or rows not yet sealed, were not removed: pass ?checkpoint=<jws> from GET /admin/audit/checkpoint.';
const PROVES_WITH_CHECKPOINT =
  'Every sealed row is unchanged, the chain of seals is unbroken, and the chain still holds the head the signed checkpoint attests: nothing sealed before it was removed. Rows sealed or written after the checkpoint are proven only as far as the chain itself.';

async function verifyLog(db: Db, log: SealedLog): Promise<{ out: LogVerification; chain: Map<number, string> }> {
  const seals = await listSeals(db, log);
  const chain = new Map(seals.map((s) => [s.seal_no, s.hash]));
  return { out: await judgeLog(db, log, seals), chain };
}

async function judgeLog(db: Db, log: SealedLog, seals: Awaited<ReturnType<typeof listSeals>>): Promise<LogVerification> {
  const out: LogVerification = {
    log,
    status: 'intact',
    seals_checked: 0,
    rows_checked: 0,
    last_sealed_id: null,
    last_seal_at: null,
    head_hash: null,
    pending_rows: 0,
    first_failure: null,
  };
  const fail = (failure: NonNullable<LogVerification['first_failure']>) => {
    out.status = 'tampered';
    out.first_failure = failure;
    return out;
  };
  let prevHash = genesisHash(log);
  let prevLast: number | null = null;
  for (const [i, seal] of seals.entries()) {
    const digests = Buffer.from(seal.digests);
    if (seal.seal_no !== i + 1) return fail({ seal_no: i + 1, problem: 'seal missing from the chain' });
    const last = seal.last_id === null ? null : Number(seal.last_id);
    if (last !== null && prevLast !== null && last <= prevLast) return fail({ seal_no: seal.seal_no, problem: 'covered row ids go backwards or repeat' });
    if (last !== null) prevLast = last;
    if (seal.prev_hash !== prevHash) return fail({ seal_no: seal.seal_no, problem: 'seal does not chain to the previous seal' });
    if (digests.length !== seal.row_count * DIGEST_BYTES || chainHash(seal.prev_hash, digests) !== seal.hash) {
      return fail({ seal_no: seal.seal_no, problem: 'seal was altered: its hash does not match its contents' });
    }
    const now = await withTransaction(db, (tx) => recomputeDigests(tx, log, seal.covered));
    if (!now.digests.equals(digests)) {
      const expected = await expandIds(db, seal.covered);
      const present = await presentIds(db, log, seal.covered);
      const missing = firstMissing(expected, present);
      if (missing !== undefined) return fail({ seal_no: seal.seal_no, row_id: Number(missing), problem: 'sealed row was deleted' });
      const k = firstDifferentDigest(digests, now.digests);
      return fail({ seal_no: seal.seal_no, row_id: Number(present[k]), problem: 'sealed row was changed' });
    }
    out.seals_checked++;
    out.rows_checked += seal.row_count;
    out.last_sealed_id = seal.last_id === null ? null : Number(seal.last_id);
    out.last_seal_at = new Date(seal.sealed_at).toISOString();
    out.head_hash = seal.hash;
    prevHash = seal.hash;
  }
  const last = seals[seals.length - 1];
  if (last) {
    const intruders = await rowsInClosedGaps(db, log, last.covered_total, await unionOfCovered(db, log));
    if (intruders[0]) return fail({ row_id: Number(intruders[0]), problem: 'row written into a range the chain had already closed' });
  }
  out.pending_rows = await countPending(db, log, last?.covered_total ?? '{}');
  return out;
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
 * Recomputes the whole trail; says where it breaks. With a checkpoint (a JWS from GET
 * /admin/audit/checkpoint, kept elsewhere) it also proves the chain still holds that head, and answers
 * `truncated`, naming the missing or replaced seals, when it does not. The result is recorded, signed with
 * the audit key, so the compliance report can cite it and a row inserted by anyone else is caught.
 */
export async function verifyAuditTrail(
  ctx: { db: Db; clock: Clock; signer?: Signer | undefined },
  options: { checkpoint?: string } = {},
): Promise<AuditVerification> {
  return verifyAgainst(ctx, options.checkpoint === undefined ? undefined : readCheckpoint(ctx.signer, options.checkpoint));
}

async function verifyAgainst(
  ctx: { db: Db; clock: Clock; signer?: Signer | undefined },
  checkpoint: ReturnType<typeof readCheckpoint> | undefined,
): Promise<AuditVerification> {
  const logs: LogVerification[] = [];
  for (const log of SEALED_LOGS) {
    const { out, chain } = await verifyLog(ctx.db, log);
    const entry = checkpoint?.entries.find((e) => e.log === log);
    if (entry) {
      out.checkpoint = { ...extendsCheckpoint(chain, entry), seal_no: entry.seal_no };
      if (out.checkpoint.status === 'truncated' && out.status === 'intact') out.status = 'truncated';
    }
    logs.push(out);
  }
  const status: TrailStatus = logs.some((l) => l.status === 'tampered') ? 'tampered' : logs.some((l) => l.status === 'truncated') ? 'truncated' : 'intact';
  const result: AuditVerification = {
    status,
    verified_at: ctx.clock.now().toISOString(),
    proves: checkpoint ? PROVES_WITH_CHECKPOINT : PROVES_WITHOUT_CHECKPOINT,
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
export async function requestVerification({ ctx, checkpoint }: { ctx: OperationContext; checkpoint?: string }): Promise<AuditVerification> {
  // A checkpoint this vault did not sign is refused (and audited) before anything is recorded or recomputed.
  const attested = checkpoint === undefined ? undefined : readCheckpoint(ctx.settings.auditSigner, checkpoint);
  await recordOnly(ctx, { operation: 'audit.verify' }, attested === undefined ? undefined : 'against a checkpoint');
  return verifyAgainst({ db: ctx.db, clock: ctx.clock, signer: ctx.settings.auditSigner }, attested);
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
