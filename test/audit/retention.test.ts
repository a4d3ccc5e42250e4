import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyArchive } from '../../src/features/audit/audit-archive';
import { ensurePartitions } from '../../src/features/audit/audit-retention.repository';
import { exportAudit, pruneAudit, RetentionRefused, type RetentionContext } from '../../src/features/audit/audit-retention.service';
import { createVerifier } from '../../src/kernel/signer';
import { createLogger } from '../../src/logging/logger';
import { loadConfig } from '../../src/config/load-config';
import { putRetention, store } from '../support/fixtures';
import { createTestVault, TestClock, type TestVault } from '../support/test-app';

interface Verification {
  status: string;
  mode: string;
  logs: { log: string; status: string; seals_pruned: number; rows_checked: number; first_failure: { problem: string; row_id?: number } | null }[];
}

async function* linesOf(text: string) {
  for (const line of text.split('\n')) if (line.length > 0) yield line;
}

/**
 * Audit retention (PCI DSS 10.5.1): months of the logs leave the database only archived, as whole
 * partitions, with a signed marker; what remains still verifies, and every shortcut is refused.
 */
describe('audit retention: export, offline verification, prune', () => {
  let vault: TestVault;
  let dir: string;
  let ctx: RetentionContext;
  const clock = new TestClock(new Date('2024-01-10T10:00:00Z'));

  const verify = async (full: boolean) => {
    const res = await vault.request('GET', `/admin/audit/verify${full ? '?full=true' : ''}`, { as: 'admin' });
    expect(res.status).toBe(200);
    return (await res.json()) as Verification;
  };
  const seal = async () => expect((await vault.request('POST', '/admin/audit/seal', { as: 'admin' })).status).toBe(200);
  const verifiers = () => [createVerifier(vault.auditSigner!.publicJwk)];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vault-archive-'));
    vault = await createTestVault({ apps: [{ name: 'pay' }], clock, config: { audit: { seal_grace_seconds: 1 } } });
    await ensurePartitions(vault.db.db, new Date('2024-01-01T00:00:00Z'), new Date('2024-04-01T00:00:00Z'));
    await putRetention(vault, 'card');
    // January: stores; the seal takes them and, before it, the first rows of February (one seal straddles).
    for (let i = 0; i < 5; i++) await store(vault, 'pay', 'card', `jan-${i}`);
    clock.set('2024-02-05T10:00:00Z');
    for (let i = 0; i < 3; i++) await store(vault, 'pay', 'card', `feb-${i}`);
    await seal();
    for (let i = 3; i < 6; i++) await store(vault, 'pay', 'card', `feb-${i}`);
    clock.set('2024-03-05T10:00:00Z');
    for (let i = 0; i < 2; i++) await store(vault, 'pay', 'card', `mar-${i}`);
    await seal();
    clock.set('2025-06-01T00:00:00Z'); // January and February are now older than 400 days
    ctx = {
      db: vault.db.db,
      clock,
      logger: createLogger({ level: 'error', write: () => {} }),
      signer: vault.auditSigner,
      retentionDays: 400,
      graceSeconds: 1,
    };
  });
  afterAll(async () => {
    await vault.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('audit.retention_days below 365 is refused at start-up', () => {
    expect(() => loadConfig({ env: { VSQL_VAULT_AUDIT_RETENTION_DAYS: '364' } })).toThrow(/365/);
    expect(loadConfig({ env: {} }).audit.retention_days).toBe(400);
  });

  it('pruning a month that was never archived is refused, and nothing leaves', async () => {
    const before = (await vault.accessLog()).length;
    const result = await pruneAudit(ctx);
    expect(result.pruned).toEqual([]);
    expect(result.refused.map((r) => r.partition)).toContain('access_log_y2024m01');
    expect(result.refused.find((r) => r.partition === 'access_log_y2024m01')!.why).toMatch(/not archived/);
    expect((await vault.accessLog()).length).toBe(before);
  });

  it('a prune inside the retention period is refused outright', async () => {
    await expect(pruneAudit(ctx, { before: new Date('2025-05-01T00:00:00Z') })).rejects.toThrow(RetentionRefused);
  });

  it('an archive record inserted without the audit key does not license a prune', async () => {
    const [ids] = await vault.db.query<{ n: string; ids: string }>(
      "select count(*)::text as n, range_agg(int8range(id, id, '[]'))::text as ids from vault.access_log_y2024m01",
    );
    await vault.db.query(
      `insert into vault.audit_archives (created_at, log, partition, from_time, to_time, row_count, ids, sha256, jws)
       values (now(), 'access_log', 'access_log_y2024m01', '2024-01-01Z', '2024-02-01Z', $1, $2::int8multirange, 'ab', 'x.y.z')`,
      [ids!.n, ids!.ids],
    );
    const result = await pruneAudit(ctx);
    expect(result.pruned).toEqual([]);
    expect(result.refused.find((r) => r.partition === 'access_log_y2024m01')!.why).toMatch(/not archived/);
  });

  let archive = '';
  it('export writes every closed month into one signed file that verifies offline with the public key alone', async () => {
    const out = join(dir, 'audit-2024.ndjson');
    const result = await exportAudit(ctx, { before: new Date('2024-03-01T00:00:00Z'), out });
    // Both logs' months: the purge log's are empty here, and archived (and later pruned) all the same.
    expect(result.segments.map((s) => s.partition).sort()).toEqual(['access_log_y2024m01', 'access_log_y2024m02', 'purge_log_y2024m01', 'purge_log_y2024m02']);
    expect(result.rows).toBe(result.segments.reduce((n, s) => n + s.rows, 0));
    archive = readFileSync(out, 'utf8');
    const checked = await verifyArchive(linesOf(archive), verifiers());
    expect(checked.problems).toEqual([]);
    expect(checked).toMatchObject({ status: 'valid', file_sha256: result.sha256, rows: result.rows });
    const [recorded] = await vault.db.query<{ n: number }>('select count(*)::int as n from vault.audit_archives where sha256 = $1', [result.sha256]);
    expect(recorded!.n).toBe(4);
    // Another export finds nothing new to archive.
    await expect(exportAudit(ctx, { before: new Date('2024-03-01T00:00:00Z'), out: join(dir, 'again.ndjson') })).rejects.toThrow(/nothing to export/);
  });

  it('an archive with one byte changed fails offline verification, as does one checked with another key', async () => {
    const at = archive.indexOf('"text":"[') + 12;
    const changed = `${archive.slice(0, at)}${archive[at] === '1' ? '2' : '1'}${archive.slice(at + 1)}`;
    const result = await verifyArchive(linesOf(changed), verifiers());
    expect(result.status).toBe('invalid');
    expect(result.problems.join('\n')).toMatch(/changed|a byte changed|not that row/);
    const other = await createTestVault({ apps: [] });
    try {
      const foreign = await verifyArchive(linesOf(archive), [createVerifier(other.auditSigner!.publicJwk)]);
      expect(foreign.status).toBe('invalid');
      expect(foreign.problems).toContain('the signature does not check with the key given');
    } finally {
      await other.close();
    }
  });

  it('prune drops the archived months as partitions, leaves signed markers, and the rest still verifies', async () => {
    const janIds = await vault.db.query<{ id: number }>('select id::int as id from vault.access_log_y2024m01');
    const result = await pruneAudit(ctx);
    expect(result.pruned.map((p) => p.partition).sort()).toEqual(['access_log_y2024m01', 'access_log_y2024m02', 'purge_log_y2024m01', 'purge_log_y2024m02']);
    expect(result.refused.map((r) => r.partition)).not.toContain('access_log_y2024m01');
    const [gone] = await vault.db.query<{ t: string | null }>("select to_regclass('vault.access_log_y2024m01')::text as t");
    expect(gone!.t).toBeNull();
    expect((await vault.accessLog()).some((r) => janIds.some((j) => j.id === r.id))).toBe(false);
    const [markers] = await vault.db.query<{ n: number }>('select count(*)::int as n from vault.audit_prune_markers');
    expect(markers!.n).toBe(4);

    const full = await verify(true);
    expect(full.status).toBe('intact');
    const access = full.logs.find((l) => l.log === 'access_log')!;
    expect(access.seals_pruned).toBeGreaterThan(0);
    expect(access.rows_checked).toBeGreaterThan(0);
    expect((await verify(false)).status).toBe('intact');
  });

  it('the compliance report shows the retention setting, the oldest row held, the archives made and the months pruned', async () => {
    const res = await vault.request('GET', '/compliance/report', { as: 'admin' });
    expect(res.status).toBe(200);
    const { audit } = (await res.json()) as {
      audit: {
        retention_days: number;
        oldest_row: { access_log: string | null };
        archives: { partition: string; sha256: string; signed: boolean; rows: number }[];
        pruned: { partition: string; signed: boolean }[];
        last_full_verification: { status: string; signed: boolean } | null;
      };
    };
    expect(audit.retention_days).toBe(400);
    expect(audit.oldest_row.access_log! >= '2024-03-01T00:00:00.000Z').toBe(true);
    const jan = audit.archives.find((a) => a.partition === 'access_log_y2024m01')!;
    expect(jan).toMatchObject({ signed: true, rows: 5 + 1 }); // five stores and the retention policy's PUT
    expect(audit.archives.find((a) => a.sha256 === 'ab')).toMatchObject({ signed: false }); // the forged record
    expect(audit.pruned.map((p) => p.partition).sort()).toEqual(['access_log_y2024m01', 'access_log_y2024m02', 'purge_log_y2024m01', 'purge_log_y2024m02']);
    expect(audit.pruned.every((p) => p.signed)).toBe(true);
    expect(audit.last_full_verification).toMatchObject({ status: 'intact', signed: true });
  });

  it('after the prune, a changed row in what remains is still found', async () => {
    const [victim] = await vault.db.query<{ id: number }>('select id::int as id from vault.access_log_y2024m03 order by id limit 1');
    await vault.db.exec(`
      alter table vault.access_log_y2024m03 disable trigger access_log_y2024m03_append_only;
      update vault.access_log_y2024m03 set reason = 'rewritten' where id = ${victim!.id};
      alter table vault.access_log_y2024m03 enable trigger access_log_y2024m03_append_only;`);
    const full = await verify(true);
    expect(full.status).toBe('tampered');
    expect(full.logs.find((l) => l.log === 'access_log')!.first_failure).toMatchObject({ row_id: victim!.id, problem: 'sealed row was changed' });
  });
});

describe('a removal without an archive is tampering', () => {
  let vault: TestVault;
  const clock = new TestClock(new Date('2024-05-10T10:00:00Z'));
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }], clock, config: { audit: { seal_grace_seconds: 1 } } });
    await ensurePartitions(vault.db.db, new Date('2024-05-01T00:00:00Z'), new Date('2024-07-01T00:00:00Z'));
    await putRetention(vault, 'card');
    for (let i = 0; i < 3; i++) await store(vault, 'pay', 'card', `may-${i}`);
    clock.set('2024-06-10T10:00:00Z');
    for (let i = 0; i < 3; i++) await store(vault, 'pay', 'card', `jun-${i}`);
    expect((await vault.request('POST', '/admin/audit/seal', { as: 'admin' })).status).toBe(200);
  });
  afterAll(() => vault.close());

  const verify = async (full: boolean) =>
    (await (await vault.request('GET', `/admin/audit/verify${full ? '?full=true' : ''}`, { as: 'admin' })).json()) as Verification;

  it('an owner who drops a month partition (no archive, no marker) is caught', async () => {
    expect((await verify(true)).status).toBe('intact');
    await vault.db.exec('alter table vault.access_log detach partition vault.access_log_y2024m05; drop table vault.access_log_y2024m05;');
    const full = await verify(true);
    expect(full.status).toBe('tampered');
    expect(full.logs.find((l) => l.log === 'access_log')!.first_failure!.problem).toBe('sealed row was deleted');
  });

  it('a prune marker inserted without the audit key is reported, not believed', async () => {
    await vault.db.query(
      `insert into vault.audit_prune_markers (pruned_at, log, partition, row_count, ids, archive_sha256, seals, jws)
       values (now(), 'access_log', 'access_log_y2024m05', 3, '{[1,4)}', 'ab', '[]', 'x.y.z')`,
    );
    const full = await verify(true);
    expect(full.status).toBe('tampered');
    expect(full.logs.find((l) => l.log === 'access_log')!.first_failure!.problem).toMatch(/prune marker for access_log_y2024m05 is not signed/);
  });
});

describe('export refuses a month it cannot prove', () => {
  it('a month with a row no seal covers yet is not exported, and nothing is recorded', async () => {
    const clock = new TestClock(new Date('2024-08-10T10:00:00Z'));
    const vault = await createTestVault({ apps: [{ name: 'pay' }], clock });
    const dir = mkdtempSync(join(tmpdir(), 'vault-archive-'));
    try {
      await ensurePartitions(vault.db.db, new Date('2024-08-01T00:00:00Z'), new Date('2024-09-01T00:00:00Z'));
      await putRetention(vault, 'card');
      await store(vault, 'pay', 'card', 'unsealed');
      clock.set('2025-12-01T00:00:00Z');
      const ctx = {
        db: vault.db.db,
        clock,
        logger: createLogger({ level: 'error', write: () => {} }),
        signer: vault.auditSigner,
        retentionDays: 400,
        graceSeconds: 1,
      };
      const out = join(dir, 'a.ndjson');
      await expect(exportAudit(ctx, { before: new Date('2024-09-01T00:00:00Z'), out })).rejects.toThrow(/not sealed yet/);
      expect(() => readFileSync(out)).toThrow();
      const [n] = await vault.db.query<{ n: number }>('select count(*)::int as n from vault.audit_archives');
      expect(n!.n).toBe(0);
      writeFileSync(join(dir, 'placeholder'), '');
    } finally {
      await vault.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The insider attacks a review found against the first cut of retention, each performed as described and
 * now caught: a seal's covered ids rewritten before a prune, a finding hidden behind an older intact record,
 * a row given a pruned id, and a month dropped behind an incremental verification.
 */
describe('retention: insider attacks are caught', () => {
  async function setup() {
    const clock = new TestClock(new Date('2024-01-10T10:00:00Z'));
    const vault = await createTestVault({ apps: [{ name: 'pay' }], clock, config: { audit: { seal_grace_seconds: 1 } } });
    await ensurePartitions(vault.db.db, new Date('2024-01-01T00:00:00Z'), new Date('2024-04-01T00:00:00Z'));
    await putRetention(vault, 'card');
    for (let i = 0; i < 5; i++) await store(vault, 'pay', 'card', `jan-${i}`);
    clock.set('2024-02-05T10:00:00Z');
    for (let i = 0; i < 3; i++) await store(vault, 'pay', 'card', `feb-${i}`);
    expect((await vault.request('POST', '/admin/audit/seal', { as: 'admin' })).status).toBe(200); // seal 1: January and early February
    for (let i = 3; i < 6; i++) await store(vault, 'pay', 'card', `feb-${i}`);
    clock.set('2024-03-05T10:00:00Z');
    for (let i = 0; i < 2; i++) await store(vault, 'pay', 'card', `mar-${i}`);
    expect((await vault.request('POST', '/admin/audit/seal', { as: 'admin' })).status).toBe(200);
    clock.set('2025-06-01T00:00:00Z');
    const ctx: RetentionContext = {
      db: vault.db.db,
      clock,
      logger: createLogger({ level: 'error', write: () => {} }),
      signer: vault.auditSigner,
      retentionDays: 400,
      graceSeconds: 1,
    };
    const verify = async (query = '') => (await (await vault.request('GET', `/admin/audit/verify${query}`, { as: 'admin' })).json()) as Verification;
    const dir = mkdtempSync(join(tmpdir(), 'vault-attack-'));
    return {
      vault,
      ctx,
      verify,
      dir,
      close: async () => {
        await vault.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const withoutTriggers = (table: string, statement: string) =>
    `alter table vault.${table} disable trigger ${table}_append_only; ${statement}; alter table vault.${table} enable trigger ${table}_append_only;`;

  it('a seal narrowed to the archived month before a prune is refused by the prune, and nothing leaves', async () => {
    const s = await setup();
    try {
      await exportAudit(s.ctx, { before: new Date('2024-02-01T00:00:00Z'), out: join(s.dir, 'jan.ndjson') });
      const [jan] = await s.vault.db.query<{ ids: string }>("select range_agg(int8range(id, id, '[]'))::text as ids from vault.access_log_y2024m01");
      await s.vault.db.exec(withoutTriggers('audit_seals', `update vault.audit_seals set covered = '${jan!.ids}' where log = 'access_log' and seal_no = 1`));
      const result = await pruneAudit(s.ctx, { before: new Date('2024-02-01T00:00:00Z') });
      expect(result.pruned.map((p) => p.partition)).not.toContain('access_log_y2024m01');
      expect(result.refused.find((r) => r.partition === 'access_log_y2024m01')!.why).toMatch(/seal 1 does not hold/);
      const [still] = await s.vault.db.query<{ t: string | null }>("select to_regclass('vault.access_log_y2024m01')::text as t");
      expect(still!.t).not.toBeNull();
      expect((await s.verify('?full=true')).status).toBe('tampered');
    } finally {
      await s.close();
    }
  });

  it('after a full run finds tampering, the next (incremental) run does not say intact again', async () => {
    const s = await setup();
    try {
      expect((await s.verify('?full=true')).status).toBe('intact');
      const [victim] = await s.vault.db.query<{ id: number }>('select id::int as id from vault.access_log_y2024m03 order by id limit 1');
      await s.vault.db.exec(withoutTriggers('access_log_y2024m03', `update vault.access_log_y2024m03 set reason = 'rewritten' where id = ${victim!.id}`));
      expect((await s.verify('?full=true')).status).toBe('tampered');
      const next = await s.verify();
      expect({ status: next.status, mode: next.mode }).toEqual({ status: 'tampered', mode: 'full' });
    } finally {
      await s.close();
    }
  });

  it('a row given an id a prune removed is reported, and the serving role cannot choose an id at all', async () => {
    const s = await setup();
    try {
      await s.vault.db.exec(readFileSync(new URL('../../docs/database-roles.sql', import.meta.url), 'utf8'));
      await exportAudit(s.ctx, { before: new Date('2024-02-01T00:00:00Z'), out: join(s.dir, 'jan.ndjson') });
      const [j] = await s.vault.db.query<{ id: string }>('select max(id)::text as id from vault.access_log_y2024m01');
      await pruneAudit(s.ctx, { before: new Date('2024-02-01T00:00:00Z') });
      const forge = (when: string) =>
        `insert into vault.access_log (id, created_at, operation, granted, status, reason) overriding system value values (${j!.id}, '${when}', 'retrieve', true, 200, 'forged')`;
      await s.vault.db.exec('set role vsql_vault');
      try {
        await expect(s.vault.db.exec(forge('2024-03-06T00:00:00Z'))).rejects.toThrow(/permission/);
      } finally {
        await s.vault.db.exec('reset role');
      }
      await s.vault.db.exec(forge('2024-03-06T00:00:00Z')); // the owner can; verification still sees it
      const full = await s.verify('?full=true');
      expect(full.status).toBe('tampered');
      expect(full.logs.find((l) => l.log === 'access_log')!.first_failure).toMatchObject({ row_id: Number(j!.id) });
    } finally {
      await s.close();
    }
  });

  it('a month dropped without an archive after a signed verification is reported by the next incremental run', async () => {
    const s = await setup();
    try {
      expect((await s.verify('?full=true')).status).toBe('intact');
      await s.vault.db.exec('alter table vault.access_log detach partition vault.access_log_y2024m01; drop table vault.access_log_y2024m01;');
      const next = await s.verify();
      expect(next.status).toBe('tampered');
      expect(next.logs.find((l) => l.log === 'access_log')!.first_failure!.problem).toMatch(/access_log_y2024m01 was removed without an archive/);
    } finally {
      await s.close();
    }
  });

  it('old seals deleted behind an incremental run are reported by it', async () => {
    const s = await setup();
    try {
      expect((await s.verify('?full=true')).status).toBe('intact');
      await s.vault.db.exec(withoutTriggers('audit_seals', "delete from vault.audit_seals where log = 'access_log' and seal_no = 1"));
      const next = await s.verify();
      expect(next.status).toBe('tampered');
      expect(next.logs.find((l) => l.log === 'access_log')!.first_failure).toMatchObject({ seal_no: 1, problem: 'seal missing from the chain' });
    } finally {
      await s.close();
    }
  });

  it('export refuses when a row was deleted from a seal that covers the month, and never overwrites a file', async () => {
    const s = await setup();
    try {
      const [victim] = await s.vault.db.query<{ id: number }>('select id::int as id from vault.access_log_y2024m02 order by id limit 1');
      await s.vault.db.exec(withoutTriggers('access_log_y2024m02', `delete from vault.access_log_y2024m02 where id = ${victim!.id}`));
      await expect(exportAudit(s.ctx, { before: new Date('2024-02-01T00:00:00Z'), out: join(s.dir, 'jan.ndjson') })).rejects.toThrow(
        /seal 1 of access_log does not hold \(sealed row was deleted/,
      );
      writeFileSync(join(s.dir, 'taken.ndjson'), 'keep me');
      await expect(exportAudit(s.ctx, { before: new Date('2024-01-15T00:00:00Z'), out: join(s.dir, 'taken.ndjson') })).rejects.toThrow();
      expect(readFileSync(join(s.dir, 'taken.ndjson'), 'utf8')).toBe('keep me');
    } finally {
      await s.close();
    }
  });
});
