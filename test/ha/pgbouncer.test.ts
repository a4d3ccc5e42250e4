import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ADMIN_KEY,
  type Answer,
  call,
  type Cluster,
  destroyWorkDir,
  initCluster,
  isProblem503,
  makeWorkDir,
  must,
  sleep,
  startVault,
  type VaultProcess,
} from '../fault/harness';
import { type Daemon, startPgbouncer } from './ha-harness';

const run = promisify(execFile);
const POOL_SIZE = 3; // PgBouncer's server connections to the vault database
const VAULT_POOL = 10; // the vault's client connections to PgBouncer: more than the servers, so they must share
const EXPIRED = 3000;

/**
 * PgBouncer 1.18 in transaction pooling (pool_mode = transaction, default_pool_size = 3) in front of a
 * throwaway PostgreSQL, the vault through it with storage.prepared_statements = false (the env override
 * VSQL_VAULT_STORAGE_PREPARED_STATEMENTS) and migrations applied directly (`vsql-vault migrate`,
 * storage.migrate_on_start = false: migrations hold a session advisory lock). Concurrent PUT/GET/DELETE
 * with two sweeps running: every answer is the one asked for, every request has exactly one access-log
 * row (found by its X-Request-Id) with its status, every expired entry is purged once with its proof.
 * First, the same vault with prepared statements (the default) against the same PgBouncer: it must fail,
 * or the option would be proving nothing.
 */
describe('PgBouncer in transaction pooling: the vault with storage.prepared_statements = false', () => {
  const dist = inject('haDist');
  let dir: string | undefined;
  let cluster: Cluster | undefined;
  let bouncer: { daemon: Daemon; port: number } | undefined;
  let vault: VaultProcess | undefined;
  let sql: postgres.Sql | undefined;
  let env: Record<string, string> = {};

  beforeAll(async () => {
    if (!dist) throw new Error('the HA global set-up did not provide the bundle (run with --config test/ha/vitest.config.ts)');
    dir = makeWorkDir('ha-pgbouncer');
    cluster = await initCluster(dir, 'db');
    await cluster.start();
    const admin = postgres(cluster.url(), { max: 1, onnotice: () => {} });
    await admin`create database vault`;
    // Through PgBouncer the vault's statement_timeout startup parameter is ignored: the database's applies.
    await admin`alter database vault set statement_timeout = '5s'`;
    await admin.end();
    // Migrations go to PostgreSQL directly, as the schema owner would run them.
    await run(process.execPath, [join(dist, 'server.mjs'), 'migrate'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', VSQL_VAULT_STORAGE_DATABASE_URL: cluster.url('vault'), VSQL_VAULT_LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    bouncer = await startPgbouncer(dir, cluster.port, POOL_SIZE);
    env = {
      VSQL_VAULT_STORAGE_DATABASE_URL: `postgres://postgres@127.0.0.1:${bouncer.port}/vault`,
      VSQL_VAULT_STORAGE_MIGRATE_ON_START: 'false',
      VSQL_VAULT_STORAGE_POOL_MAX: String(VAULT_POOL),
      VSQL_VAULT_SERVER_REQUEST_TIMEOUT_MS: '5000',
      VSQL_VAULT_PURGE_BATCH_SIZE: '100',
      VSQL_VAULT_PURGE_SWEEP_CONCURRENCY: '2',
    };
    sql = postgres(cluster.url('vault'), { max: 2, onnotice: () => {} });
  });

  afterAll(async () => {
    await sql?.end({ timeout: 5 }).catch(() => undefined);
    await vault?.kill('SIGKILL');
    await bouncer?.daemon.kill('SIGKILL');
    destroyWorkDir(dir, cluster ? [cluster] : []);
  });

  it('the deployment: statement_timeout on every server connection, and with prepared statements (the default) the vault fails through it', async () => {
    const through = postgres(`postgres://postgres@127.0.0.1:${bouncer!.port}/vault`, { max: 1, onnotice: () => {}, connection: { statement_timeout: 100 } });
    try {
      const [row] = await through<{ statement_timeout: string }[]>`show statement_timeout`;
      expect(row!.statement_timeout).toBe('5s'); // the database's, not the ignored startup parameter
    } finally {
      await through.end();
    }

    const started = performance.now();
    const prepared = await startVault(dist!, dir!, { ...env, VSQL_VAULT_SERVER_REQUEST_TIMEOUT_MS: '2000' }); // /health pings with an unparameterised query: it starts
    const startMs = performance.now() - started;
    try {
      await must(prepared.base, 'PUT', '/admin/retention-policies/control', { max_retention_days: 30 }, [200, 201, 503]);
      // New keys and replaces of them are one statement each, which postgres.js re-prepares by itself when
      // a server connection does not know it; stores with an Idempotency-Key and DELETEs are transactions,
      // where it cannot, so the driver's prepared statements meet server connections that never saw them.
      const answers: Answer[] = [];
      /** Twelve concurrent stores of `prefix` keys in this round, with an Idempotency-Key each or none. */
      const stores = (prefix: string, round: number, idempotent: boolean) =>
        Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            call(prepared.base, 'PUT', `/vault/control/${prefix}-${round}-${i}`, {
              key: ADMIN_KEY,
              body: { encrypted_value: `vault:v1:${prefix}-${round}-${i}-${answers.length}` },
              ...(idempotent && { headers: { 'Idempotency-Key': `control-${round}-${i}-${answers.length}` } }),
            }),
          ),
        );
      for (const round of [0, 1, 0, 2]) {
        answers.push(...(await stores('c', round, true)));
        answers.push(...(await stores('s', round, false)));
      }
      answers.push(...(await Promise.all(Array.from({ length: 12 }, (_, i) => call(prepared.base, 'DELETE', `/vault/control/s-1-${i}`, { key: ADMIN_KEY })))));
      const failed = answers.filter((a) => a.status !== 201 && a.status !== 200 && a.status !== 204);
      const output = prepared.output();
      console.log(
        `pgbouncer: with prepared statements, ${failed.length} of ${answers.length} concurrent stores failed ` +
          `(${[...new Set(failed.map((a) => a.status))].join(', ')}, slowest ${Math.round(Math.max(...answers.map((a) => a.ms)))} ms; the vault started in ${Math.round(startMs)} ms); ` +
          `the vault logged ${(output.match(/prepared statement/g) ?? []).length} prepared-statement errors: ${[...new Set(output.match(/prepared statement \\?"[^"\\]+\\?" [a-z ]+/g) ?? [])].slice(0, 3).join('; ')}`,
      );
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.filter((a) => !isProblem503(a)).map((a) => `${a.status} ${a.text.slice(0, 200)}`)).toEqual([]); // it fails closed
      expect(output).toMatch(/prepared statement \\?"[^"\\]+\\?" (does not exist|already exists)/);
    } finally {
      await prepared.kill('SIGKILL');
    }
  });

  it('concurrent PUT/GET/DELETE and two sweeps through PgBouncer: every answer right, one audit row per request, every expired entry purged once', async () => {
    vault = await startVault(dist!, dir!, { ...env, VSQL_VAULT_STORAGE_PREPARED_STATEMENTS: 'false' });
    const v = vault;
    await must(v.base, 'PUT', '/admin/retention-policies/pool', { max_retention_days: 30 });
    await must(v.base, 'PUT', '/admin/retention-policies/pool-exp', { max_retention_days: 30 });
    await sql!.unsafe(
      `insert into vault.entries (purpose, external_id, encrypted_value, key_ref, access_policy, owner_app, etag, created_at, updated_at, expires_at)
       select 'pool-exp', 'x-' || g, 'vault:v1:ct-' || md5(g::text), 'kms:key-7', 'owner-only', 'loader', md5('x' || g), now() - interval '2 days',
              now() - interval '2 days', now() - interval '1 day' - make_interval(secs => g)
         from generate_series(1, ${EXPIRED}) g`,
    );
    await sql!`analyze vault.entries`;

    interface Sent {
      rid: string;
      method: string;
      id: string;
      expect: number[];
      answer: Answer;
      operation: string;
    }
    const sent: Sent[] = [];
    let stop = false;
    const send = async (rid: string, method: string, id: string, operation: string, expectStatus: number[], body?: unknown) => {
      const answer = await call(v.base, method, `/vault/pool/${id}`, {
        key: ADMIN_KEY,
        headers: { 'X-Request-Id': rid },
        ...(body !== undefined && { body }),
      });
      sent.push({ rid, method, id, expect: expectStatus, answer, operation });
      return answer;
    };
    const values = new Map<string, string>();
    const worker = async (w: number) => {
      for (let i = 0; !stop && i < 400; i++) {
        const id = `p-${w}-${i}`;
        const value = `vault:v1:AES256-GCM:keyid=7:${id}:${Math.random().toString(36).slice(2)}`;
        values.set(id, value);
        const put = await send(`${id}-put`, 'PUT', id, 'store', [201], { encrypted_value: value, access_policy: 'open-retrieve' });
        if (put.status !== 201) continue;
        const get = await send(`${id}-get`, 'GET', id, 'retrieve', [200]);
        if (get.status === 200 && (JSON.parse(get.text) as { encrypted_value: string }).encrypted_value !== value) get.status = -1; // a wrong value is a wrong answer
        if (i % 2 === 0) {
          const del = await send(`${id}-del`, 'DELETE', id, 'purge', [200]);
          if (del.status === 200) await send(`${id}-gone`, 'GET', id, 'retrieve', [404, 410]);
        }
      }
    };
    // Sample the server side: how many backends serve the vault database (PgBouncer's pool) while the load runs.
    let peakBackends = 0;
    const sampler = (async () => {
      while (!stop) {
        const [row] = await sql!<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity where datname = 'vault' and backend_type = 'client backend' and pid <> pg_backend_pid()`;
        peakBackends = Math.max(peakBackends, row!.n - 1); // less this sampler's second connection, if open
        await sleep(100);
      }
    })();
    const t0 = performance.now();
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    await sleep(1000);
    const sweeps = [0, 20].map(async (delay, s) => {
      await sleep(delay);
      const answer = await call(v.base, 'POST', '/admin/purge/sweep', { key: ADMIN_KEY, headers: { 'X-Request-Id': `ask-sweep-${s}` }, timeoutMs: 60_000 });
      return answer;
    });
    const sweepAnswers = await Promise.all(sweeps);
    await sleep(2000);
    stop = true;
    await Promise.all(workers);
    await sampler;
    const seconds = (performance.now() - t0) / 1000;

    const wrong = sent.filter((s) => !s.expect.includes(s.answer.status));
    const sweepBodies = sweepAnswers.map((a) => (a.status === 200 ? (JSON.parse(a.text) as { purged: number; sweep_run_id: number }) : undefined));
    const purgedBySweeps = sweepBodies.map((b) => b?.purged ?? -1);
    // The sweeper writes one row per purged entry as system:sweeper, under the request id `sweep-<run id>`.
    const sweeperIds = sweepBodies.map((b) => `sweep-${b?.sweep_run_id}`);
    console.log(
      `pgbouncer: ${sent.length} requests in ${seconds.toFixed(1)} s (${Math.round(sent.length / seconds)}/s) from 6 workers and two sweeps ` +
        `(purged ${purgedBySweeps.join(' + ')} of ${EXPIRED}), the vault's ${VAULT_POOL} connections over at most ${peakBackends} server connections ` +
        `(default_pool_size ${POOL_SIZE}); ${wrong.length} wrong answers; slowest ${Math.round(Math.max(...sent.map((s) => s.answer.ms)))} ms`,
    );
    expect(wrong.map((s) => `${s.method} ${s.id}: ${s.answer.status} ${s.answer.error ?? ''} ${s.answer.text.slice(0, 200)}`)).toEqual([]);
    expect(sweepAnswers.map((a) => a.status)).toEqual([200, 200]);
    expect(purgedBySweeps.reduce((a, b) => a + b, 0)).toBe(EXPIRED);
    expect(sent.filter((s) => s.method === 'DELETE').length).toBeGreaterThan(50);
    expect(peakBackends).toBeLessThanOrEqual(POOL_SIZE);
    expect(peakBackends).toBeGreaterThan(0);

    // One access-log row per request, with its operation and status; none for a request id we did not send.
    const rows = await sql!<{ request_id: string; operation: string; status: number; n: number }[]>`
      select request_id, min(operation) as operation, min(status)::int as status, count(*)::int as n
        from vault.access_log where request_id like 'p-%' or request_id like 'ask-sweep-%' group by request_id`;
    const byRid = new Map(rows.map((r) => [r.request_id, r]));
    expect(
      sent
        .filter((s) => {
          const r = byRid.get(s.rid);
          return r?.n !== 1 || r.operation !== s.operation || r.status !== s.answer.status;
        })
        .map((s) => `${s.rid}: answered ${s.answer.status}, rows ${JSON.stringify(byRid.get(s.rid) ?? null)}`),
    ).toEqual([]);
    expect(rows.length).toBe(sent.length + 2);
    expect(['ask-sweep-0', 'ask-sweep-1'].map((rid) => [byRid.get(rid)?.operation, byRid.get(rid)?.n])).toEqual([
      ['sweep', 1],
      ['sweep', 1],
    ]);

    // The data: stored entries that were not deleted are there with their value; deleted ones are gone with one purge record.
    const deleted = new Set(sent.filter((s) => s.method === 'DELETE' && s.answer.status === 200).map((s) => s.id));
    const stored = sent.filter((s) => s.method === 'PUT' && s.answer.status === 201).map((s) => s.id);
    const entries = new Map(
      (await sql!<{ external_id: string; encrypted_value: string }[]>`select external_id, encrypted_value from vault.entries where purpose = 'pool'`).map(
        (r) => [r.external_id, r.encrypted_value],
      ),
    );
    expect(stored.filter((id) => (deleted.has(id) ? entries.has(id) : entries.get(id) !== values.get(id)))).toEqual([]);
    const [purges] = await sql!<
      { pool_logs: number; pool_dups: number; exp_left: number; exp_logs: number; exp_dups: number; exp_audited: number; exp_rows: number; unproven: number }[]
    >`
      select
        (select count(*)::int from vault.purge_log where purpose = 'pool') as pool_logs,
        (select count(*)::int from (select 1 from vault.purge_log where purpose = 'pool' group by external_id having count(*) > 1) d) as pool_dups,
        (select count(*)::int from vault.entries where purpose = 'pool-exp') as exp_left,
        (select count(*)::int from vault.purge_log where purpose = 'pool-exp') as exp_logs,
        (select count(*)::int from (select 1 from vault.purge_log where purpose = 'pool-exp' group by external_id having count(*) > 1) d) as exp_dups,
        (select count(distinct external_id)::int from vault.access_log where purpose = 'pool-exp' and operation = 'purge' and granted
            and app = 'system:sweeper' and request_id in ${sql!(sweeperIds)}) as exp_audited,
        (select count(*)::int from vault.access_log where purpose = 'pool-exp' and app = 'system:sweeper') as exp_rows,
        (select count(*)::int from vault.purge_log where purpose in ('pool', 'pool-exp') and proof is null) as unproven`;
    expect(purges).toEqual({
      pool_logs: deleted.size,
      pool_dups: 0,
      exp_left: 0,
      exp_logs: EXPIRED,
      exp_dups: 0,
      exp_audited: EXPIRED,
      exp_rows: EXPIRED,
      unproven: 0,
    });
    expect(v.proc.exitCode).toBeNull();
  });
});
