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
} from './audit-seal.repository';
import type { Db } from '../../storage/database';
import { withTransaction } from '../../storage/transaction';
import { chainHash, DIGEST_BYTES, firstDifferentDigest, firstMissing } from './audit-chain';
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
  return sealed;
}

export interface LogVerification {
  log: SealedLog;
  status: 'intact' | 'tampered';
  seals_checked: number;
  rows_checked: number;
  last_sealed_id: number | null;
  last_seal_at: string | null;
  head_hash: string | null;
  pending_rows: number;
  first_failure: { seal_no?: number; row_id?: number; problem: string } | null;
}

export interface AuditVerification {
  status: 'intact' | 'tampered';
  verified_at: string;
  logs: LogVerification[];
}

async function verifyLog(db: Db, log: SealedLog): Promise<LogVerification> {
  const seals = await listSeals(db, log);
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
  for (const [i, seal] of seals.entries()) {
    const digests = Buffer.from(seal.digests);
    if (seal.seal_no !== i + 1) return fail({ seal_no: i + 1, problem: 'seal missing from the chain' });
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

/** Recomputes the whole trail; says where it breaks. Recorded, so the compliance report can cite it. */
export async function verifyAuditTrail(ctx: { db: Db; clock: Clock }): Promise<AuditVerification> {
  const logs: LogVerification[] = [];
  for (const log of SEALED_LOGS) logs.push(await verifyLog(ctx.db, log));
  const result: AuditVerification = {
    status: logs.every((l) => l.status === 'intact') ? 'intact' : 'tampered',
    verified_at: ctx.clock.now().toISOString(),
    logs,
  };
  await recordVerification(ctx.db, {
    verifiedAt: new Date(result.verified_at),
    status: result.status,
    rowsChecked: logs.reduce((n, l) => n + l.rows_checked, 0),
    report: JSON.stringify(result),
  });
  return result;
}

/** GET /admin/audit/verify (admin, auditor). The access-log row of this read is written first. */
export async function requestVerification({ ctx }: { ctx: OperationContext }): Promise<AuditVerification> {
  await recordOnly(ctx, { operation: 'audit.verify' });
  return verifyAuditTrail(ctx);
}

/** POST /admin/audit/seal (admin): seal now instead of waiting for the schedule. */
export async function requestSeal({ ctx }: { ctx: OperationContext }): Promise<SealResult[]> {
  await recordOnly(ctx, { operation: 'audit.seal' });
  return sealAuditTrail(ctx);
}
