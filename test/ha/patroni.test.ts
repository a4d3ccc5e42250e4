import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ADMIN_KEY,
  call,
  destroyWorkDir,
  isProblem503,
  makeWorkDir,
  must,
  sleep,
  startLoad,
  startVault,
  type LoadRecord,
  type VaultProcess,
} from '../fault/harness';
import {
  clusterState,
  describeCluster,
  type Daemon,
  type Etcd,
  isPrimaryAt,
  PATRONI_DCS,
  patroniNode,
  type PatroniNode,
  startEtcd,
  startHaproxy,
  waitFor,
} from './ha-harness';

const REQUEST_TIMEOUT_MS = 3000;
/** A request that times out still tries to write its refusal's audit row, for at most 1 s (http/audit-rejection.ts). */
const SLACK_MS = 2000;

/**
 * HA the way PostgreSQL users run it: three Patroni members (etcd as the DCS, synchronous_mode) behind
 * HAProxy, which routes to the member whose REST API answers 200 on /primary. One vault process connects
 * through HAProxy. Under PUT/GET load the leader's node dies: kill -9 of its Patroni and of its postmaster
 * in the same tick (a node lost, not a clean switchover: nobody releases the leader key, it has to expire).
 * Patroni promotes the synchronous standby; the same vault process keeps serving; answers during the
 * switch are 503 problems, never 500s; every acknowledged store is on the new primary, readable, with
 * exactly one granted `store` audit row. Then the dead node comes back and rejoins as a replica.
 */
const variants = [
  { label: 'synchronous_mode', strict: false },
  { label: 'synchronous_mode + synchronous_mode_strict', strict: true },
];

describe.each(variants)('Patroni ($label) behind HAProxy: the leader node is killed under load', ({ strict }) => {
  const dist = inject('haDist');
  const tag = strict ? 'ha strict' : 'ha';
  let dir: string | undefined;
  let etcd: Etcd | undefined;
  let nodes: PatroniNode[] = [];
  let haproxy: { daemon: Daemon; port: number } | undefined;
  let vault: VaultProcess | undefined;
  const daemons = (): Daemon[] => [etcd?.daemon, haproxy?.daemon, ...nodes.map((n) => n.daemon)].filter((d): d is Daemon => d !== undefined);
  const logs = () =>
    daemons()
      .map((d) => `--- ${d.name} (${d.alive() ? 'alive' : 'gone'}):\n${d.output().slice(-3000)}`)
      .join('\n');

  beforeAll(async () => {
    if (!dist) throw new Error('the HA global set-up did not provide the bundle (run with --config test/ha/vitest.config.ts)');
    dir = makeWorkDir(strict ? 'ha-patroni-strict' : 'ha-patroni');
    const t0 = performance.now();
    etcd = await startEtcd(dir);
    const dcs = { ...PATRONI_DCS, synchronous_mode_strict: strict };
    nodes = [await patroniNode(dir, 'pg1', etcd, dcs), await patroniNode(dir, 'pg2', etcd, dcs), await patroniNode(dir, 'pg3', etcd, dcs)];
    // The first member bootstraps the cluster (initdb) and takes the leader key; the others clone it.
    nodes[0]!.start();
    await waitFor('pg1 to bootstrap and lead', async () => ((await nodes[0]!.rest('/primary')).status === 200 ? true : undefined), 90_000, logs, 250);
    nodes[1]!.start();
    nodes[2]!.start();
    const members = await waitFor(
      'three running members, one of them the synchronous standby',
      async () => {
        const m = await clusterState(nodes);
        const ready =
          m?.length === 3 &&
          m.every((x) => x.state === 'running' || x.state === 'streaming') &&
          m.some((x) => x.role === 'sync_standby') &&
          m.filter((x) => x.role !== 'leader').every((x) => typeof x.lag === 'number');
        return ready ? m : undefined;
      },
      120_000,
      logs,
      250,
    );
    haproxy = await startHaproxy(dir, nodes);
    const admin = postgres(`postgres://postgres@127.0.0.1:${haproxy.port}/postgres`, { max: 1, onnotice: () => {} });
    await admin`create database vault`;
    await admin.end();
    vault = await startVault(dist, dir, {
      VSQL_VAULT_STORAGE_DATABASE_URL: `postgres://postgres@127.0.0.1:${haproxy.port}/vault?target_session_attrs=primary`,
      VSQL_VAULT_SERVER_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    await must(vault.base, 'PUT', '/admin/retention-policies/card', { max_retention_days: 30 });
    console.log(`${tag}: cluster up in ${Math.round(performance.now() - t0)} ms: ${describeCluster(members)}; HAProxy on ${haproxy.port}`);
  });

  afterAll(async () => {
    await vault?.kill('SIGKILL');
    for (const d of daemons()) await d.kill('SIGKILL').catch(() => undefined);
    destroyWorkDir(dir); // and every postgres left under it (their cwd is their data dir)
  });

  it('kill -9 of the leader (Patroni and postgres): a new leader, the same vault process serving, 503s only, nothing acknowledged lost', async () => {
    const v = vault!;
    const before = await clusterState(nodes);
    const leaderName = before?.find((m) => m.role === 'leader')?.name;
    const syncName = before?.find((m) => m.role === 'sync_standby')?.name;
    const leader = nodes.find((n) => n.name === leaderName);
    if (!leader?.daemon) throw new Error(`no leader: ${describeCluster(before)}`);
    const postmaster = leader.postmasterPid();
    if (!postmaster) throw new Error(`no postmaster.pid for ${leader.name}`);
    const survivors = nodes.filter((n) => n !== leader);

    const load = startLoad({ base: () => v.base, purpose: 'card', prefix: strict ? 'hs' : 'ha', workers: 3, timeoutMs: 30_000, pauseMs: 20 });
    await sleep(3000);

    // The node dies: both processes in the same tick.
    const killedAt = performance.now();
    process.kill(leader.daemon.pid, 'SIGKILL');
    process.kill(postmaster, 'SIGKILL');
    await leader.daemon.exited;

    // Watch the survivors: when one answers /primary, and when the new leader has a synchronous standby again.
    // The start of the last poll that found no primary: writes acknowledged before it committed on the old one.
    let lastWithoutPrimary = killedAt;
    const promoted = await waitFor(
      'a surviving member to answer 200 on /primary',
      async () => {
        const started = performance.now();
        for (const n of survivors) if ((await n.rest('/primary')).status === 200) return { node: n, at: performance.now() };
        lastWithoutPrimary = started;
        return undefined;
      },
      60_000,
      logs,
      100,
    );
    // Ground truth from the new primary itself: when a standby is synchronous again (polled every 50 ms).
    const watch = postgres(`postgres://postgres@127.0.0.1:${promoted.node.pgPort}/postgres`, { max: 1, onnotice: () => {} });
    // When the poll first sees a synchronous standby, and the start of the last poll that saw none: the
    // standby appeared after that start (on a loaded machine a poll can take far longer than its interval).
    let lastWithoutSync = performance.now();
    const syncAgain = waitFor(
      'the new primary to have a synchronous standby',
      async () => {
        const started = performance.now();
        const [row] = await watch<{ n: number }[]>`select count(*)::int as n from pg_stat_replication where sync_state in ('sync', 'quorum')`;
        if (row!.n > 0) return performance.now();
        lastWithoutSync = started;
        return undefined;
      },
      60_000,
      logs,
      50,
    ).finally(() => watch.end());
    const firstWrite = await waitFor(
      'the vault to acknowledge a store started after the kill',
      async () => {
        const after = load.records.filter((r) => r.op === 'PUT' && r.answer.status === 201 && r.answer.startedAt > killedAt);
        return after.length > 0 ? Math.min(...after.map((r) => r.answer.endedAt)) : undefined;
      },
      30_000,
      () => `${v.output().slice(-3000)}\n${logs()}`,
      50,
    );
    await sleep(3000); // steady writing on the new primary
    const syncAt = await syncAgain;
    await load.stop();
    const afterSwitch = await clusterState(survivors);

    const records: LoadRecord[] = load.records;
    const puts = records.filter((r) => r.op === 'PUT');
    const acked = puts.filter((r) => r.answer.status === 201);
    const refused = records.filter((r) => r.answer.status === 503);
    const refusedPuts = puts.filter((r) => r.answer.status === 503);
    const unanswered = records.filter((r) => r.answer.status === 0);
    // The longest stretch without an acknowledged store, around the kill.
    const ackTimes = acked.map((r) => r.answer.endedAt).sort((a, b) => a - b);
    const lastAckBefore = Math.max(...ackTimes.filter((t) => t <= killedAt));
    const firstRefusal = Math.min(...refused.map((r) => r.answer.endedAt));
    const lastRefusal = Math.max(...refused.map((r) => r.answer.endedAt));

    // The database, read straight from the new primary.
    const sql = postgres(`postgres://postgres@127.0.0.1:${promoted.node.pgPort}/vault`, { max: 1, onnotice: () => {} });
    let rows: Map<string, string>;
    let storeRows: Map<string, number>;
    let deniedStoreRows: Map<string, number>;
    let inDoubtTrail: string[] = [];
    try {
      const [state] = await sql<{ recovery: boolean }[]>`select pg_is_in_recovery() as recovery`;
      expect(state!.recovery).toBe(false);
      rows = new Map(
        (await sql<{ external_id: string; encrypted_value: string }[]>`select external_id, encrypted_value from vault.entries where purpose = 'card'`).map(
          (r) => [r.external_id, r.encrypted_value],
        ),
      );
      storeRows = new Map(
        (
          await sql<{ external_id: string; n: number }[]>`
            select external_id, count(*)::int as n from vault.access_log
             where purpose = 'card' and operation = 'store' and granted group by external_id`
        ).map((r) => [r.external_id, r.n]),
      );
      if (refusedPuts.some((r) => rows.has(r.id))) {
        const ids = refusedPuts.filter((r) => rows.has(r.id)).map((r) => r.id);
        const trail = await sql<{ external_id: string; granted: boolean; status: number; reason: string | null; created_at: Date }[]>`
          select external_id, granted, status, reason, created_at from vault.access_log
           where purpose = 'card' and operation = 'store' and external_id in ${sql(ids)} order by external_id, id`;
        inDoubtTrail = ids.map((id) => {
          const answer = refusedPuts.find((r) => r.id === id)!.answer;
          const logged = trail
            .filter((t) => t.external_id === id)
            .map((t) => `${t.granted ? 'granted' : 'denied'} ${t.status}${t.reason ? ` ${t.reason}` : ''}`);
          return `${id}: answered 503 after ${Math.round(answer.ms)} ms, ${Math.round(answer.endedAt - killedAt)} ms from the kill; entry stored; store rows: ${logged.join(', ')}`;
        });
      }
      deniedStoreRows = new Map(
        (
          await sql<{ external_id: string; n: number }[]>`
            select external_id, count(*)::int as n from vault.access_log
             where purpose = 'card' and operation = 'store' and not granted group by external_id`
        ).map((r) => [r.external_id, r.n]),
      );
    } finally {
      await sql.end();
    }
    const inDoubt = refusedPuts.filter((r) => rows.has(r.id));
    // Patroni's synchronous_mode (not _strict) lets the new leader accept commits before the remaining replica streams from it.
    // Stores that may have committed on the new primary (answered after the last poll that found no primary:
    // one answered just after the kill was committed on the old primary, with its synchronous standby) and
    // were acknowledged before the poll saw a synchronous standby on it.
    const ackedUnprotected = acked.filter((r) => r.answer.endedAt > lastWithoutPrimary && r.answer.endedAt < syncAt);
    const reasons = new Map<string, number>();
    for (const r of refused) {
      const detail = (JSON.parse(r.answer.text) as { detail?: string }).detail ?? '';
      reasons.set(detail, (reasons.get(detail) ?? 0) + 1);
    }

    console.log(
      [
        `${tag}: leader ${leader.name} (sync standby ${syncName}) killed -9 with its postmaster under load; ${promoted.node.name} answered /primary ` +
          `${Math.round(promoted.at - killedAt)} ms later; cluster then: ${describeCluster(afterSwitch)}`,
        `${tag}: the vault's first acknowledged store after the kill ${Math.round(firstWrite - killedAt)} ms after it; no store acknowledged for ` +
          `${Math.round(firstWrite - lastAckBefore)} ms (last before the kill ${Math.round(killedAt - lastAckBefore)} ms before it)`,
        `${tag}: ${records.length} requests (${puts.length} stores, ${acked.length} acknowledged); ${refused.length} answered 503 ` +
          `(${refusedPuts.length} stores, ${refused.length - refusedPuts.length} reads) between ${Math.round(firstRefusal - killedAt)} and ` +
          `${Math.round(lastRefusal - killedAt)} ms after the kill; ${unanswered.length} unanswered; ${inDoubt.length} refused stores committed anyway ` +
          `(acknowledgement lost with the node; ${inDoubt.filter((r) => deniedStoreRows.has(r.id)).length} of them also have a denied store row); ` +
          `${refusedPuts.filter((r) => deniedStoreRows.has(r.id)).length} refused stores have their denied row; slowest answer ${Math.round(Math.max(...records.map((r) => r.answer.ms)))} ms; lost: ` +
          `${acked.filter((r) => rows.get(r.id) !== r.value).length}`,
        `${tag}: the 503s said: ${[...reasons].map(([d, n]) => `${n} × "${d}"`).join('; ')}`,
        `${tag}: the new primary had a synchronous standby again ${Math.round(syncAt - promoted.at)} ms after it answered /primary ` +
          `(${Math.round(syncAt - killedAt)} ms after the kill; the last poll without one started ${Math.round(syncAt - lastWithoutSync)} ms before); ` +
          `${ackedUnprotected.length} stores were acknowledged before the poll saw it` +
          (strict ? ' (strict: only within the poll interval)' : ' (on the new primary alone)'),
        ...inDoubtTrail.map((line) => `${tag}: refused but committed: ${line}`),
      ].join('\n'),
    );

    // Answers: what was asked for, or a 503 problem (never a 500, never silence), each within the request bound.
    expect(
      records
        .filter((r) => !(r.op === 'PUT' ? [201, 503] : [200, 503]).includes(r.answer.status))
        .map((r) => `${r.op} ${r.id} ${r.answer.status} ${r.answer.error ?? ''} ${r.answer.text.slice(0, 200)}`),
    ).toEqual([]);
    expect(refused.filter((r) => !isProblem503(r.answer)).map((r) => r.answer.text.slice(0, 200))).toEqual([]);
    expect(records.filter((r) => r.answer.ms > REQUEST_TIMEOUT_MS + SLACK_MS).map((r) => `${r.op} ${r.id} ${Math.round(r.answer.ms)} ms`)).toEqual([]);
    // The kill did interrupt writing, and writing resumed well past it.
    expect(refused.length).toBeGreaterThan(0);
    expect(acked.filter((r) => r.answer.startedAt > firstWrite).length).toBeGreaterThan(10);
    // Only the synchronous standby may be promoted.
    expect(promoted.node.name).toBe(syncName);
    // Strict: no commit is acknowledged while the new primary has no synchronous standby (the poll's 50 ms aside).
    // (An answer that ended before the last poll without one was committed without one: that would be a breach.)
    if (strict) expect(ackedUnprotected.filter((r) => r.answer.endedAt < lastWithoutSync).map((r) => r.id)).toEqual([]);

    // Every acknowledged store is on the new primary with its value and exactly one granted store row; a
    // refused store either left nothing or (acknowledgement lost) its entry with exactly one row, never half.
    expect(
      acked
        .filter((r) => rows.get(r.id) !== r.value || storeRows.get(r.id) !== 1)
        .map(
          (r) =>
            `${r.id}: acknowledged ${Math.round(r.answer.endedAt - killedAt)} ms from the kill; entry ${rows.has(r.id) ? 'differs' : 'missing'}, store rows ${storeRows.get(r.id) ?? 0}`,
        ),
    ).toEqual([]);
    expect(refusedPuts.filter((r) => (rows.has(r.id) ? 1 : 0) !== (storeRows.get(r.id) ?? 0)).map((r) => r.id)).toEqual([]);
    const known = new Set(puts.map((r) => r.id));
    expect([...rows.keys()].filter((id) => !known.has(id))).toEqual([]);

    // Readable through the same vault process, first time (no stale pooled connection answering 503).
    const unreadable: string[] = [];
    for (let i = 0; i < acked.length; i += 12) {
      const batch = acked.slice(i, i + 12);
      const answers = await Promise.all(batch.map((r) => call(v.base, 'GET', `/vault/card/${r.id}`, { key: ADMIN_KEY })));
      answers.forEach((a, j) => {
        const r = batch[j]!;
        if (a.status !== 200 || (JSON.parse(a.text) as { encrypted_value: string }).encrypted_value !== r.value)
          unreadable.push(`${r.id}: ${a.status} ${a.text.slice(0, 200)}`);
      });
    }
    expect(unreadable).toEqual([]);
    expect(v.proc.exitCode).toBeNull();
    expect(v.proc.signalCode).toBeNull();
  });

  it('the killed node comes back as a replica of the new leader, and the vault still writes', async () => {
    const dead = nodes.find((n) => !n.daemon?.alive());
    if (!dead) throw new Error('no dead node: the previous test did not run');
    const t0 = performance.now();
    dead.start();
    const members = await waitFor(
      `${dead.name} to rejoin, and three members again: a leader, a synchronous standby, every replica streaming`,
      async () => {
        const m = await clusterState(nodes);
        const replicas = m?.filter((x) => x.role !== 'leader') ?? [];
        return m?.length === 3 &&
          m.filter((x) => x.role === 'leader').length === 1 &&
          m.some((x) => x.role === 'sync_standby') &&
          replicas.every((x) => (x.state === 'running' || x.state === 'streaming') && typeof x.lag === 'number' && x.lag < 1_000_000)
          ? m
          : undefined;
      },
      90_000,
      logs,
      250,
    );
    console.log(`${tag}: ${dead.name} rejoined in ${Math.round(performance.now() - t0)} ms: ${describeCluster(members)}`);
    expect(members.filter((m) => m.role === 'leader').length).toBe(1);
    expect(members.some((m) => m.role === 'sync_standby')).toBe(true);
    expect(await isPrimaryAt(haproxy!.port)).toBe(true);
    const put = await call(vault!.base, 'PUT', '/vault/card/after-rejoin', { key: ADMIN_KEY, body: { encrypted_value: 'vault:v1:after-rejoin' } });
    expect(put.status, put.text).toBe(201);
    expect(vault!.proc.exitCode).toBeNull();
  });
});
