import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Db } from '../../storage/database';
import { withTransaction } from '../../storage/transaction';
import type { Clock } from '../../kernel/clock';
import type { Signer } from '../../kernel/signer';
import type { Logger } from '../../logging/logger';
import { ARCHIVE_FORMAT, ARCHIVE_RECORD_TYP, ARCHIVE_TYP, MARKER_TYP, SealLocator, type ArchiveSegment } from './audit-archive';
import { parseMultirange, RangeBuilder, rowDigest } from './audit-chain';
import {
  archivesOf,
  lockPartition,
  ensurePartitions,
  insertArchive,
  listArchives,
  listMarkers,
  listPartitions,
  oldestRow,
  partitionIds,
  partitionRows,
  pruneSegment,
  sealsOverlapping,
  type LogPartition,
  type StoredArchive,
} from './audit-retention.repository';
import { lockLogChain, SEALED_LOGS, type SealedLog, type StoredSeal } from './audit-seal.repository';
import { believeMarker, issueCheckpoint, sealStillHolds } from './audit.service';
import { sql } from 'drizzle-orm';

export interface RetentionContext {
  db: Db;
  clock: Clock;
  logger: Logger;
  signer: Signer | undefined;
  retentionDays: number;
  graceSeconds: number;
}

/** Why an export or prune did not happen; the CLI prints it and exits 2. */
export class RetentionRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetentionRefused';
  }
}

const DAY_MS = 86_400_000;

/** PostgreSQL's lock_not_available (55P03), as the driver or the transaction wrapper carries it. */
function isLockTimeout(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) if ((e as { code?: unknown }).code === '55P03') return true;
  return false;
}
const PAGE_ROWS = 5000;

/** Keeps monthly partitions ahead of the clock (from last month to three months on): at start-up and daily. */
export async function keepPartitionsAhead(db: Db, now: Date): Promise<number> {
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 3, 1));
  return ensurePartitions(db, from, to);
}

function requireSigner(ctx: RetentionContext): Signer {
  if (!ctx.signer) throw new RetentionRefused('no audit signing key: archives and prune markers must be signed (audit.signing_key_file)');
  return ctx.signer;
}

/** An archive record is believed only when the audit key signed exactly what it says. */
export function believeArchive(a: StoredArchive, signer: Signer | undefined): boolean {
  const payload = signer?.verify(a.jws, ARCHIVE_RECORD_TYP);
  return (
    payload !== undefined &&
    payload.log === a.log &&
    payload.partition === a.partition &&
    payload.rows === Number(a.row_count) &&
    payload.ids === a.ids &&
    payload.sha256 === a.sha256 &&
    payload.created_at === new Date(a.created_at).toISOString()
  );
}

/** Months (of both logs) that ended before `before` and long enough ago that no late row can still arrive. */
async function closedMonths(ctx: RetentionContext, before: Date): Promise<LogPartition[]> {
  const settled = ctx.clock.now().getTime() - (ctx.graceSeconds + 3600) * 1000;
  const out: LogPartition[] = [];
  for (const log of SEALED_LOGS) for (const p of await listPartitions(ctx.db, log)) if (p.to.getTime() <= Math.min(before.getTime(), settled)) out.push(p);
  return out;
}

/** A buffered, hashed file writer: written to FILE.partial, renamed into place only when complete and synced. */
class ArchiveFile {
  private readonly fd: number;
  private readonly hash = createHash('sha256');
  private readonly body = createHash('sha256');
  private buffer: string[] = [];
  private size = 0;
  constructor(readonly path: string) {
    try {
      this.fd = openSync(`${path}.partial`, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      throw new RetentionRefused(`${path}.partial exists: an export was interrupted there (or is running); remove it and export again`);
    }
  }
  line(item: object, bodyLine = true): void {
    const text = `${JSON.stringify(item)}\n`;
    this.hash.update(text);
    if (bodyLine) this.body.update(text);
    this.buffer.push(text);
    this.size += text.length;
    if (this.size > 1 << 20) this.flush();
  }
  bodySha256(): string {
    return this.body.copy().digest('hex');
  }
  private flush(): void {
    if (this.buffer.length > 0) writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.size = 0;
  }
  finish(): string {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    // link, not rename: it fails rather than replace a file that appeared meanwhile.
    linkSync(`${this.path}.partial`, this.path);
    unlinkSync(`${this.path}.partial`);
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return this.hash.digest('hex');
  }
  abandon(): void {
    try {
      closeSync(this.fd);
    } catch {}
    rmSync(`${this.path}.partial`, { force: true });
  }
}

export interface ExportResult {
  file: string;
  sha256: string;
  segments: ArchiveSegment[];
  rows: number;
  seals: number;
  skipped: Array<{ partition: string; why: string }>;
}

/**
 * `vsql-vault audit export --before DATE --out FILE`: every month of both logs that ended before DATE and
 * has no archive yet goes into one file — its rows (each checked against its seal on the way), the seals
 * that cover them, a signed checkpoint and a closing signature — and the file's SHA-256 is recorded per
 * month, signed. Refused, with nothing recorded, when a month holds a row no seal covers yet or one that
 * no longer matches its seal.
 */
export async function exportAudit(ctx: RetentionContext, options: { before: Date; out: string }): Promise<ExportResult> {
  const signer = requireSigner(ctx);
  const skipped: ExportResult['skipped'] = [];
  const chosen: Array<{ p: LogPartition; rows: number; ids: string }> = [];
  for (const p of await closedMonths(ctx, options.before)) {
    const now = await partitionIds(ctx.db, p);
    const archived = (await archivesOf(ctx.db, p)).some((a) => believeArchive(a, signer) && Number(a.row_count) === now.rows && a.ids === now.ids);
    if (archived) skipped.push({ partition: p.name, why: 'archived already' });
    else chosen.push({ p, ...now });
  }
  if (chosen.length === 0)
    throw new RetentionRefused(`nothing to export before ${options.before.toISOString()}: ${skipped.length} month(s) archived already, none other closed`);

  const exportedAt = ctx.clock.now().toISOString();
  const segments: ArchiveSegment[] = chosen.map(({ p, rows, ids }) => ({
    log: p.log,
    partition: p.name,
    from: p.from.toISOString(),
    to: p.to.toISOString(),
    rows,
    ids,
  }));
  const seals = new Map<SealedLog, StoredSeal[]>();
  for (const log of SEALED_LOGS) {
    const ids = chosen
      .filter((c) => c.p.log === log)
      .map((c) => c.ids.slice(1, -1))
      .filter((t) => t.length > 0);
    if (ids.length === 0) continue;
    const union = `{${ids.join(',')}}`;
    const found = await sealsOverlapping(ctx.db, log, union);
    seals.set(log, found);
  }
  // Every seal that covers an archived row must hold as a whole (a row deleted from it, in any month, is
  // tampering the archive would otherwise hide), before anything is written.
  const prunedIds = new Map<SealedLog, { ids: string; ranges: Array<[number, number]> }>();
  for (const log of SEALED_LOGS) {
    const earlier = (await listMarkers(ctx.db, log))
      .filter((m) => believeMarker(m, signer))
      .map((m) => m.ids.slice(1, -1))
      .filter((t) => t.length > 0);
    if (earlier.length > 0) prunedIds.set(log, { ids: `{${earlier.join(',')}}`, ranges: parseMultirange(`{${earlier.join(',')}}`) });
  }
  for (const [log, list] of seals)
    for (const seal of list) {
      const failure = await sealStillHolds(ctx.db, log, seal, prunedIds.get(log));
      if (failure)
        throw new RetentionRefused(
          `seal ${seal.seal_no} of ${log} does not hold (${failure.problem}${failure.row_id ? `, row ${failure.row_id}` : ''}): run verify-audit --full`,
        );
    }
  if (existsSync(options.out)) throw new RetentionRefused(`${options.out} exists already: an archive is never overwritten`);
  const file = new ArchiveFile(options.out);
  let rowsWritten = 0;
  try {
    file.line({ type: 'archive', format: ARCHIVE_FORMAT, exported_at: exportedAt, before: options.before.toISOString(), segments });
    const located = new Map<SealedLog, SealLocator>();
    for (const [log, list] of seals) {
      const locator = new SealLocator();
      for (const seal of list) locator.add({ seal_no: seal.seal_no, covered: seal.covered, digests: Buffer.from(seal.digests) });
      located.set(log, locator);
      for (const seal of list)
        file.line({
          type: 'seal',
          log,
          seal_no: seal.seal_no,
          sealed_at: new Date(seal.sealed_at).toISOString(),
          covered: seal.covered,
          row_count: seal.row_count,
          digests: Buffer.from(seal.digests).toString('base64'),
          prev_hash: seal.prev_hash,
          hash: seal.hash,
        });
    }
    for (const { p, rows, ids } of chosen) {
      let after = 0;
      let count = 0;
      const read = new RangeBuilder();
      for (;;) {
        const page = await withTransaction(ctx.db, (tx) => partitionRows(tx, p, after, PAGE_ROWS));
        for (const row of page) {
          const id = Number(row.id);
          const at = located.get(p.log)?.find(id);
          if (!at) throw new RetentionRefused(`${p.name}: row ${id} is not sealed yet; seal first (POST /admin/audit/seal) and export again`);
          if (!rowDigest(row.text).equals(at.digest))
            throw new RetentionRefused(`${p.name}: row ${id} no longer matches seal ${at.seal_no}: the trail was tampered with; run verify-audit --full`);
          file.line({ type: 'row', log: p.log, id, text: row.text });
          read.add(id);
          after = id;
        }
        count += page.length;
        if (page.length < PAGE_ROWS) break;
      }
      if (count !== rows || read.text() !== ids)
        throw new RetentionRefused(`${p.name}: rows changed while exporting (${rows} counted, ${count} read); export again`);
      rowsWritten += count;
    }
    const checkpoint = await issueCheckpoint({ db: ctx.db, clock: ctx.clock, signer });
    file.line({ type: 'checkpoint', jws: checkpoint.jws });
    file.line(
      { type: 'signature', jws: signer.sign({ format: ARCHIVE_FORMAT, exported_at: exportedAt, segments, body_sha256: file.bodySha256() }, ARCHIVE_TYP) },
      false,
    );
  } catch (error) {
    file.abandon();
    throw error;
  }
  const sha256 = file.finish();
  // The file is on disk, complete and synced, before the database says it exists.
  await withTransaction(ctx.db, async (tx) => {
    for (const s of segments) {
      const record = { created_at: exportedAt, log: s.log, partition: s.partition, from: s.from, to: s.to, rows: s.rows, ids: s.ids, sha256 };
      await insertArchive(tx, {
        createdAt: exportedAt,
        log: s.log as SealedLog,
        partition: s.partition,
        from: s.from,
        to: s.to,
        rows: s.rows,
        ids: s.ids,
        sha256,
        jws: signer.sign(record, ARCHIVE_RECORD_TYP),
      });
    }
  });
  ctx.logger.info('audit archive written', { file: options.out, sha256, segments: segments.map((s) => s.partition), rows: rowsWritten });
  return { file: options.out, sha256, segments, rows: rowsWritten, seals: [...seals.values()].reduce((n, l) => n + l.length, 0), skipped };
}

export interface PruneResult {
  before: string;
  pruned: Array<{ partition: string; rows: number; seals_removed: number; archive_sha256: string }>;
  refused: Array<{ partition: string; why: string }>;
}

/**
 * `vsql-vault audit prune [--before DATE]` (default: audit.retention_days ago): drops each month of the
 * logs that ended before the cut-off and was archived exactly as it stands (same rows, same ids, the
 * archive record signed), leaving a signed marker that names the seals that went with it. A month not
 * archived, or changed since, is refused and stays. Never inside the retention period.
 */
export async function pruneAudit(ctx: RetentionContext, options: { before?: Date } = {}): Promise<PruneResult> {
  const signer = requireSigner(ctx);
  const limit = new Date(ctx.clock.now().getTime() - ctx.retentionDays * DAY_MS);
  const before = options.before ?? limit;
  if (before.getTime() > limit.getTime())
    throw new RetentionRefused(
      `--before ${before.toISOString()} is inside audit.retention_days (${ctx.retentionDays} days): the earliest allowed cut-off is ${limit.toISOString()}`,
    );
  const result: PruneResult = { before: before.toISOString(), pruned: [], refused: [] };
  for (const p of await closedMonths(ctx, before)) {
    const now = await partitionIds(ctx.db, p);
    const archives = (await archivesOf(ctx.db, p)).filter((a) => believeArchive(a, signer));
    const archive = archives.find((a) => Number(a.row_count) === now.rows && a.ids === now.ids);
    if (!archive && now.rows === 0) continue; // an empty month not archived holds nothing: it stays, and is no refusal
    if (!archive) {
      result.refused.push({
        partition: p.name,
        why: archives.length === 0 ? 'not archived: run vsql-vault audit export first' : 'changed since it was archived: export it again',
      });
      continue;
    }
    let pruned: number;
    try {
      pruned = await withTransaction(
        ctx.db,
        async (tx) => {
          await tx.execute(sql`set local lock_timeout = '5s'`);
          await lockLogChain(tx, p.log);
          // No row may slip in between the check and the drop: the month is locked, then read again.
          await lockPartition(tx, p);
          const locked = await partitionIds(tx, p);
          if (locked.rows !== now.rows || locked.ids !== now.ids) throw new RetentionRefused('changed while pruning: export it again');
          // A seal leaves once every row it covers has left: with this month, or with one pruned before.
          const markers = (await listMarkers(tx, p.log)).filter((m) => believeMarker(m, signer));
          const earlier = markers.map((m) => m.ids.slice(1, -1)).filter((t) => t.length > 0);
          const earlierIds = `{${earlier.join(',')}}`;
          const within = `{${[...earlier, now.ids.slice(1, -1)].filter((t) => t.length > 0).join(',')}}`;
          const seals = now.rows === 0 ? [] : (await sealsOverlapping(tx, p.log, now.ids, within)).filter((s) => s.inside);
          // Nothing about a seal is taken on trust before it leaves: its hash, its count, its rows as they are.
          const earlierRanges = parseMultirange(earlierIds);
          for (const seal of seals) {
            const failure = await sealStillHolds(tx, p.log, seal, earlierRanges.length > 0 ? { ids: earlierIds, ranges: earlierRanges } : undefined);
            if (failure) throw new RetentionRefused(`seal ${seal.seal_no} does not hold (${failure.problem}): run verify-audit --full`);
          }
          const sealList = JSON.stringify(seals.map((s) => [s.seal_no, s.prev_hash, s.hash, s.covered]));
          const prunedAt = ctx.clock.now().toISOString();
          const payload = { log: p.log, partition: p.name, rows: now.rows, ids: now.ids, archive_sha256: archive.sha256, seals: sealList, pruned_at: prunedAt };
          await pruneSegment(tx, p, {
            prunedAt,
            rows: now.rows,
            ids: now.ids,
            archiveSha256: archive.sha256,
            seals: sealList,
            jws: signer.sign(payload, MARKER_TYP),
            sealNos: seals.map((s) => s.seal_no),
          });
          return seals.length;
        },
        undefined,
        (error) => error instanceof RetentionRefused,
      );
    } catch (error) {
      if (!(error instanceof RetentionRefused) && !isLockTimeout(error)) throw error;
      result.refused.push({
        partition: p.name,
        why: error instanceof RetentionRefused ? error.message : 'busy (a lock was not granted within 5 s): try again',
      });
      continue;
    }
    ctx.logger.info('audit month pruned', { partition: p.name, rows: now.rows, seals_removed: pruned, archive_sha256: archive.sha256 });
    result.pruned.push({ partition: p.name, rows: now.rows, seals_removed: pruned, archive_sha256: archive.sha256 });
  }
  return result;
}

/** For the compliance report: the retention setting, the oldest rows held, the archives made and the months pruned (each believed only if signed). */
export async function retentionEvidence(db: Db, signer: Signer | undefined, retentionDays: number) {
  const archives = await listArchives(db, 48);
  const markers = await listMarkers(db);
  return {
    retention_days: retentionDays,
    oldest_row: { access_log: await oldestRow(db, 'access_log'), purge_log: await oldestRow(db, 'purge_log') },
    archives: archives.map((a) => ({
      created_at: new Date(a.created_at).toISOString(),
      log: a.log,
      partition: a.partition,
      from: new Date(a.from_time).toISOString(),
      to: new Date(a.to_time).toISOString(),
      rows: Number(a.row_count),
      sha256: a.sha256,
      signed: believeArchive(a, signer),
    })),
    pruned: markers.slice(-48).map((m) => ({
      pruned_at: new Date(m.pruned_at).toISOString(),
      log: m.log,
      partition: m.partition,
      rows: Number(m.row_count),
      archive_sha256: m.archive_sha256,
      signed: signer?.verify(m.jws, MARKER_TYP)?.ids === m.ids,
    })),
  };
}
