import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort, PG_BIN, sleep } from '../fault/harness';

/**
 * The HA campaign's daemons (`npm run test:ha`): etcd, Patroni, HAProxy and PgBouncer from the Debian
 * packages, each started by the test in its own `vault-fault-ha-*` work dir (test/fault/harness.ts
 * makeWorkDir) on free loopback ports, with its cwd there: `destroyWorkDir` (and a later run's
 * `reapLeftovers`) kills every process whose cwd is inside, postgres children of a killed Patroni included.
 * Nothing here uses the machine's PostgreSQL on 5432 or the packages' system services.
 */

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Finds an executable on PATH or in the sbin folders (haproxy and pgbouncer live in /usr/sbin). */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const full = join(d, name);
    try {
      accessSync(full, constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What the campaign needs and does not find, with the package that provides it. */
export function missingTools(): string[] {
  const missing: string[] = [];
  for (const [bin, pkg] of [
    ['patroni', 'patroni'],
    ['etcd', 'etcd-server'],
    ['haproxy', 'haproxy'],
    ['pgbouncer', 'pgbouncer'],
  ] as const) {
    if (!which(bin)) missing.push(`${bin} (Debian package ${pkg})`);
  }
  for (const bin of ['initdb', 'pg_ctl', 'postgres', 'pg_basebackup', 'pg_rewind']) {
    if (!existsSync(join(PG_BIN, bin))) missing.push(`${join(PG_BIN, bin)} (Debian package postgresql-15)`);
  }
  if (isRoot && !which('setpriv')) missing.push('setpriv (Debian package util-linux)');
  return missing;
}

export interface Daemon {
  name: string;
  proc: ChildProcess;
  pid: number;
  output(): string;
  alive(): boolean;
  exited: Promise<number | string | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a daemon in the foreground with its cwd in `cwd`; `asPostgres` runs it as the postgres OS user
 * when the tests run as root (Patroni's postgres and PgBouncer refuse root). setpriv execs, so the child's
 * pid is the daemon's own: kill -9 of it is kill -9 of Patroni, not of a wrapper.
 */
export function spawnDaemon(name: string, command: string, args: string[], options: { cwd: string; asPostgres?: boolean }): Daemon {
  const [cmd, argv] =
    options.asPostgres && isRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]] : [command, args];
  let text = '';
  const proc = spawn(cmd, argv, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: options.cwd, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (text = (text + d).slice(-100_000)));
  proc.stderr!.on('data', (d) => (text = (text + d).slice(-100_000)));
  const exited = new Promise<number | string | null>((r) => proc.once('exit', (code, signal) => r(code ?? signal)));
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return {
    name,
    proc,
    pid: proc.pid,
    output: () => text,
    alive,
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (alive()) proc.kill(signal);
      await exited;
    },
  };
}

async function httpJson(url: string, timeoutMs = 1000): Promise<{ status: number; body: unknown }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body };
  } catch {
    return { status: 0, body: undefined };
  }
}

/** Polls `probe` every `everyMs` until it returns a value, or throws `what` (with `detail()`) after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  detail: () => string = () => '',
  everyMs = 100,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
}

// ---------------------------------------------------------------------------------------------- etcd

export interface Etcd {
  daemon: Daemon;
  clientPort: number;
}

/** One etcd member (the DCS is not what is under test; Patroni's leader key and its TTL are). */
export async function startEtcd(workDir: string): Promise<Etcd> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const dataDir = join(workDir, 'etcd');
  const daemon = spawnDaemon(
    'etcd',
    which('etcd')!,
    [
      '--name=etcd0',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=etcd0=http://127.0.0.1:${peerPort}`,
      '--initial-cluster-state=new',
      '--initial-cluster-token=vault-ha-test',
      '--heartbeat-interval=100',
      '--election-timeout=1000',
      '--log-level=warn',
    ],
    { cwd: workDir },
  );
  await waitFor(
    'etcd to answer /health',
    async () => {
      if (!daemon.alive()) throw new Error(`etcd exited: ${daemon.output()}`);
      const h = await httpJson(`http://127.0.0.1:${clientPort}/health`);
      return h.status === 200 && (h.body as { health?: string })?.health === 'true' ? true : undefined;
    },
    30_000,
    daemon.output,
  );
  return { daemon, clientPort };
}

// ------------------------------------------------------------------------------------------- Patroni

/**
 * The Patroni settings the campaign runs with (and docs/deploy.md shows): a 10 s leader TTL checked every
 * second, synchronous replication (synchronous_mode: only a synchronous standby may be promoted, so a
 * commit acknowledged to the vault is on the new primary), pg_rewind for the old primary's return.
 */
export const PATRONI_DCS = {
  ttl: 10,
  loop_wait: 1,
  retry_timeout: 4,
  maximum_lag_on_failover: 1_048_576,
  synchronous_mode: true,
  postgresql: {
    use_pg_rewind: true,
    use_slots: true,
    parameters: {
      synchronous_commit: 'on',
      wal_level: 'replica',
      wal_log_hints: 'on',
      hot_standby: 'on',
      max_connections: 60,
      max_wal_senders: 10,
      max_replication_slots: 10,
      wal_keep_size: '128MB',
      wal_retrieve_retry_interval: '500ms',
    },
  },
};

export interface PatroniNode {
  name: string;
  restPort: number;
  pgPort: number;
  dataDir: string;
  configFile: string;
  daemon: Daemon | undefined;
  /** The postmaster's pid from postmaster.pid, while it has one. */
  postmasterPid(): number | undefined;
  rest(path: string): Promise<{ status: number; body: unknown }>;
  start(): Daemon;
}

export interface ClusterMember {
  name: string;
  role: string; // leader, replica, sync_standby
  state: string; // running, streaming, starting, …
  port: number;
  lag?: number | string;
}

export async function patroniNode(workDir: string, name: string, etcd: Etcd, dcs: Record<string, unknown> = PATRONI_DCS): Promise<PatroniNode> {
  const restPort = await freePort();
  const pgPort = await freePort();
  const dataDir = join(workDir, `${name}-data`);
  const configFile = join(workDir, `${name}.yml`);
  // JSON is YAML: Patroni reads this file as written.
  const config = {
    scope: 'vault-ha',
    namespace: '/vault-ha-test/',
    name,
    restapi: { listen: `127.0.0.1:${restPort}`, connect_address: `127.0.0.1:${restPort}` },
    etcd3: { hosts: [`127.0.0.1:${etcd.clientPort}`] },
    bootstrap: {
      dcs,
      initdb: [{ encoding: 'UTF8' }, { locale: 'C' }, { auth: 'trust' }, 'no-sync'],
      pg_hba: ['local all all trust', 'host all all 127.0.0.1/32 trust', 'host replication replicator 127.0.0.1/32 trust'],
    },
    postgresql: {
      listen: `127.0.0.1:${pgPort}`,
      connect_address: `127.0.0.1:${pgPort}`,
      data_dir: dataDir,
      bin_dir: PG_BIN,
      pgpass: join(workDir, `${name}.pgpass`),
      authentication: {
        superuser: { username: 'postgres', password: 'ha-test' },
        replication: { username: 'replicator', password: 'ha-test' },
      },
      parameters: {
        unix_socket_directories: workDir,
        shared_buffers: '32MB',
        fsync: 'off', // the faults here are process kills, not power loss (as in the fault suite)
        full_page_writes: 'on', // pg_rewind needs them
        log_min_messages: 'warning',
        log_line_prefix: '%m [%p] ',
      },
    },
    watchdog: { mode: 'off' },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
    log: { level: process.env.VAULT_HA_PATRONI_LOG ?? 'WARNING' },
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const node: PatroniNode = {
    name,
    restPort,
    pgPort,
    dataDir,
    configFile,
    daemon: undefined,
    postmasterPid: () => {
      try {
        const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        return Number.isInteger(pid) && pid > 0 ? pid : undefined;
      } catch {
        return undefined;
      }
    },
    rest: (path) => httpJson(`http://127.0.0.1:${restPort}${path}`),
    start: () => {
      node.daemon = spawnDaemon(`patroni ${name}`, which('patroni')!, [configFile], { cwd: workDir, asPostgres: true });
      return node.daemon;
    },
  };
  return node;
}

/** The cluster as a live member's REST API sees it. */
export async function clusterState(nodes: PatroniNode[]): Promise<ClusterMember[] | undefined> {
  for (const n of nodes) {
    if (!n.daemon?.alive()) continue;
    const r = await n.rest('/cluster');
    if (r.status === 200) return (r.body as { members: ClusterMember[] }).members;
  }
  return undefined;
}

export const describeCluster = (members: ClusterMember[] | undefined) =>
  members ? members.map((m) => `${m.name}:${m.role}/${m.state}${m.lag === undefined ? '' : ` lag=${m.lag}`}`).join(', ') : '(no member answers)';

// ------------------------------------------------------------------------------------------- HAProxy

/** HAProxy in TCP mode in front of the Patroni nodes, routing to the one whose REST API says /primary. */
export function haproxyConfig(port: number, nodes: PatroniNode[]): string {
  return [
    'global',
    '  maxconn 200',
    'defaults',
    '  mode tcp',
    '  retries 2',
    '  timeout connect 2s',
    '  timeout client 30m',
    '  timeout server 30m',
    '  timeout check 1s',
    'listen vault-primary',
    `  bind 127.0.0.1:${port}`,
    '  option httpchk',
    '  http-check send meth GET uri /primary',
    '  http-check expect status 200',
    '  default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 1 on-marked-down shutdown-sessions',
    ...nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.pgPort} maxconn 100 check port ${n.restPort}`),
    '',
  ].join('\n');
}

export async function startHaproxy(workDir: string, nodes: PatroniNode[]): Promise<{ daemon: Daemon; port: number; config: string }> {
  const port = await freePort();
  const config = haproxyConfig(port, nodes);
  const file = join(workDir, 'haproxy.cfg');
  writeFileSync(file, config);
  const daemon = spawnDaemon('haproxy', which('haproxy')!, ['-f', file, '-db'], { cwd: workDir });
  await waitFor(
    'HAProxy to route to the primary',
    async () => {
      if (!daemon.alive()) throw new Error(`haproxy exited: ${daemon.output()}`);
      return (await isPrimaryAt(port)) ? true : undefined;
    },
    30_000,
    daemon.output,
    250,
  );
  return { daemon, port, config };
}

/** True when a connection to this port reaches a writable PostgreSQL. */
export async function isPrimaryAt(port: number, db = 'postgres'): Promise<boolean> {
  const sql = postgres(`postgres://postgres@127.0.0.1:${port}/${db}`, { max: 1, connect_timeout: 2, onnotice: () => {}, fetch_types: false });
  try {
    const [row] = await sql<{ recovery: boolean }[]>`select pg_is_in_recovery() as recovery`;
    return row?.recovery === false;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

// ----------------------------------------------------------------------------------------- PgBouncer

/**
 * PgBouncer 1.18 in transaction pooling: a server connection is the client's only from BEGIN to COMMIT
 * (or for one statement), so two statements of one vault connection may run on two server connections.
 * `ignore_startup_parameters = statement_timeout`: the vault sends its statement_timeout as a startup
 * parameter, which PgBouncer refuses otherwise ("unsupported startup parameter"); the database's own
 * setting (ALTER DATABASE … SET statement_timeout) then applies on every server connection.
 */
export function pgbouncerConfig(workDir: string, port: number, pgPort: number, poolSize: number): string {
  return [
    '[databases]',
    `vault = host=127.0.0.1 port=${pgPort} dbname=vault`,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${join(workDir, 'pgbouncer-users.txt')}`,
    'admin_users = postgres',
    'pool_mode = transaction',
    `default_pool_size = ${poolSize}`,
    'min_pool_size = 0',
    'reserve_pool_size = 0',
    'max_client_conn = 200',
    'max_db_connections = 0',
    'ignore_startup_parameters = statement_timeout',
    'server_reset_query =',
    'query_wait_timeout = 10',
    `logfile = ${join(workDir, 'pgbouncer.log')}`,
    `pidfile = ${join(workDir, 'pgbouncer.pid')}`,
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n');
}

export async function startPgbouncer(workDir: string, pgPort: number, poolSize: number): Promise<{ daemon: Daemon; port: number; config: string }> {
  const port = await freePort();
  const config = pgbouncerConfig(workDir, port, pgPort, poolSize);
  const file = join(workDir, 'pgbouncer.ini');
  writeFileSync(join(workDir, 'pgbouncer-users.txt'), '"postgres" ""\n');
  writeFileSync(file, config);
  const daemon = spawnDaemon('pgbouncer', which('pgbouncer')!, [file], { cwd: workDir, asPostgres: true });
  await waitFor(
    'PgBouncer to pass a query through',
    async () => {
      if (!daemon.alive()) throw new Error(`pgbouncer exited: ${daemon.output()}`);
      return (await isPrimaryAt(port, 'vault')) ? true : undefined;
    },
    30_000,
    () => `${daemon.output()}\n${existsSync(join(workDir, 'pgbouncer.log')) ? readFileSync(join(workDir, 'pgbouncer.log'), 'utf8') : ''}`,
    250,
  );
  return { daemon, port, config };
}
