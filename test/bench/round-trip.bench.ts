import { it } from 'vitest';
import { AUDITED_READ_SQL } from '../../src/features/entries/audited-read.repository';
import { NO_GRANTS, STATEMENT_STORE_SQL } from '../../src/features/entries/store-statement.repository';
import { RETENTION_DIGEST, RULES_DIGEST } from '../../src/features/policies/policy.repository';
import { runMigrations } from '../../src/storage/migrate';
import { ENTRY_COLUMNS } from '../../src/storage/rows';
import { createThrowawayDatabase } from './throwaway-database';

/**
 * What one audited statement costs from Node with nothing else around it: a bare postgres.js client on
 * one connection sending, one after another, `select 1`, the vault's one-statement create and its
 * one-statement read (the same texts and parameters), first as the vault runs them and then, for the
 * diagnosis only, with `synchronous_commit = off` (the commit not waiting for its WAL flush, which the
 * vault never does: a served read's access-log row could be lost). The difference is what the flush
 * costs every audited request at one connection. Prints; asserts nothing.
 *   npm run bench:round-trip                (BENCH_STATEMENTS=1500 of each)
 */
const N = Number(process.env.BENCH_STATEMENTS ?? 1500);

it('one audited statement from a bare client, with and without waiting for the WAL flush', async () => {
  const { default: postgres } = await import('postgres');
  const database = await createThrowawayDatabase('vault_bench_rtt');
  const lines: string[] = [];
  try {
    await runMigrations(database.url);
    const setup = postgres(database.url, { max: 1, onnotice: () => {} });
    await setup.unsafe(`insert into vault.retention_policies (purpose, max_retention_days, default_ttl_days, purge_method, require_purge_proof, created_at, updated_at)
      values ('card', 3650, 365, 'physical-delete', true, now(), now())`);
    const [retention] = await setup.unsafe<{ digest: string }[]>(
      `select ${RETENTION_DIGEST('r')} as digest from vault.retention_policies r where purpose = 'card'`,
    );
    const [policy] = await setup.unsafe<{ digest: string }[]>(`select ${RULES_DIGEST('rules')} as digest from vault.access_policies where name = 'owner-only'`);
    await setup.end();
    const verdicts = JSON.stringify({ 'owner-only': { digest: policy!.digest, owner: [200, null, null], other: [403, 'not_owner', null] } });
    const later = (ms: number) => new Date(Date.now() + ms).toISOString();

    lines.push(`one connection, ${N} statements of each, µs per statement (PostgreSQL on ${new URL(database.url).host})`);
    lines.push('| synchronous_commit | select 1 | create (store statement) | read (GET statement) |');
    lines.push('|---|---|---|---|');
    for (const [run, mode] of ['on', 'off', 'on', 'off'].entries()) {
      const sql = postgres(database.url, { max: 1, prepare: true, onnotice: () => {}, connection: { synchronous_commit: mode } });
      const timed = async (one: (i: number) => Promise<unknown>) => {
        for (let i = 0; i < 50; i++) await one(-1 - i);
        const started = performance.now();
        for (let i = 0; i < N; i++) await one(i);
        return Math.round(((performance.now() - started) * 1000) / N);
      };
      const ping = await timed(() => sql.unsafe('select 1', [], { prepare: true }));
      const id = (i: number) => `rtt-${run}-${i}`;
      const create = await timed(async (i) => {
        const now = new Date().toISOString();
        const values: Record<string, unknown> = {
          purpose: 'card',
          external_id: id(i),
          encrypted_value: `vault:v1:AES256-GCM:keyid=7:${'Q'.repeat(120)}`,
          key_ref: 'kms:card-key-v7',
          access_policy: 'owner-only',
          owner_app: 'admin',
          etag: `${run}-${i}-etag`,
          retrieval_count: 0,
          created_at: now,
          updated_at: now,
          expires_at: later(300 * 86_400_000),
          value_written_at: now,
        };
        const params = ENTRY_COLUMNS.map((c) => values[c] ?? null);
        params.push(
          retention!.digest,
          policy!.digest,
          '{absent,active}',
          now,
          `rtt-s-${run}-${i}`,
          'admin',
          null,
          'api_key',
          '127.0.0.1',
          later(10_000),
          NO_GRANTS,
          null,
          null,
        );
        const [row] = await sql.unsafe<{ id: string | null }[]>(STATEMENT_STORE_SQL, params as never[], { prepare: true });
        if (!row?.id) throw new Error(`the create of ${id(i)} wrote nothing`);
      });
      const read = await timed(async (i) => {
        const params = [
          'card',
          id(i),
          verdicts,
          'admin',
          new Date().toISOString(),
          'retrieve',
          `rtt-r-${run}-${i}`,
          null,
          'api_key',
          '127.0.0.1',
          '{}',
          later(10_000),
        ];
        const [row] = await sql.unsafe<{ status: number }[]>(AUDITED_READ_SQL, params as never[], { prepare: true });
        if (row?.status !== 200) throw new Error(`the read of ${id(i)} answered ${row?.status}`);
      });
      lines.push(`| ${mode} | ${ping} | ${create} | ${read} |`);
      await sql.end();
    }
  } finally {
    await database.drop();
    console.log(lines.join('\n'));
  }
});
