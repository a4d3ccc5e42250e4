import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type HistogramSeries, Registry } from './registry';

const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Reasons are codes from closed sets; anything else (which should not happen) is folded into "other". */
const bounded = (v: string | null | undefined) => (v && /^[a-z][a-z0-9_.:-]{0,63}$/.test(v) ? v : v ? 'other' : 'none');

/**
 * Everything the vault exports to Prometheus, created once per process and passed to whoever records.
 * Labels are route patterns, operations, statuses and closed reason codes: never ids, paths or apps.
 */
export function createVaultMetrics(options: { transactionsInFlight?: () => number; poolSize?: number } = {}) {
  const registry = new Registry();
  const requests = registry.register(new Counter('vault_http_requests_total', 'HTTP requests by route pattern, method and status.'));
  const latency = registry.register(new Histogram('vault_http_request_duration_seconds', 'HTTP request latency by route pattern and method.', SECONDS_BUCKETS));
  const decisions = registry.register(new Counter('vault_decisions_total', 'Vault decisions by operation and outcome; denials by reason code.'));
  const authFailures = registry.register(new Counter('vault_auth_failures_total', 'Failed authentications by credential type and reason.'));
  const sweeps = registry.register(new Counter('vault_sweep_runs_total', 'Purge sweeps by status.'));
  const purged = registry.register(new Counter('vault_purged_entries_total', 'Entries purged by method (manual and swept).'));
  const readStatements = registry.register(
    new Counter('vault_read_statements_total', 'One-statement GET/HEAD statements sent, by how many reads each carried (1, or shared).'),
  );
  const readsCarried = registry.register(new Counter('vault_read_statement_reads_total', 'GETs and HEADs carried by those statements.'));
  const stores = registry.register(
    new Counter(
      'vault_stores_total',
      'PUTs by how they were decided and written: one statement (a create, or a replace the caller may make) or the transaction (a refusal, an Idempotency-Key, a changed policy or hold).',
    ),
  );
  let lastSweep = 0;
  registry.register(new Gauge('vault_last_sweep_timestamp_seconds', 'End of the last successful sweep run by this process (0: none yet).', () => lastSweep));
  const auditFailures = registry.register(
    new Counter('vault_audit_write_failures_total', 'Requests refused (503) because their access-log row could not be written.'),
  );
  registry.register(
    new Gauge(
      'vault_db_transactions_in_flight',
      'Database transactions open in this process (writes and budgeted reads; one-statement reads hold a connection only for their statement).',
      () => options.transactionsInFlight?.() ?? 0,
    ),
  );
  registry.register(new Gauge('vault_db_pool_size', 'Configured database pool size.', () => options.poolSize ?? 1));
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const started = Date.now() / 1000 - process.uptime();
  registry.register(new Gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch.', () => Math.round(started)));
  registry.register(new Gauge('process_resident_memory_bytes', 'Resident memory size.', () => process.memoryUsage().rss));
  registry.register(new Gauge('nodejs_heap_used_bytes', 'V8 heap in use.', () => process.memoryUsage().heapUsed));
  registry.register(
    new Gauge(
      'process_cpu_seconds_total',
      'User and system CPU time spent.',
      () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1e6;
      },
      'counter',
    ),
  );
  registry.register(new Gauge('nodejs_eventloop_delay_p99_seconds', 'Event loop delay, 99th percentile since start.', () => loopDelay.percentile(99) / 1e9));

  // Every request counts into these: their series are found through maps of the label values as they
  // come (route pattern → method → status; operation → reason), so no label set or series key is built
  // per request. The values come from the same bounded sets as the labels.
  const byRoute = new Map<string, Map<string, { latency: HistogramSeries; byStatus: Map<number, { value: number }> }>>();
  const GRANTED = Symbol('granted');
  const byOperation = new Map<string, Map<string | null | typeof GRANTED, { value: number }>>();

  return {
    expose: () => registry.expose(),
    request(route: string, method: string, status: number, seconds: number) {
      let byMethod = byRoute.get(route);
      if (!byMethod) byRoute.set(route, (byMethod = new Map()));
      let series = byMethod.get(method);
      if (!series) byMethod.set(method, (series = { latency: latency.series({ route, method }), byStatus: new Map() }));
      let count = series.byStatus.get(status);
      if (!count) series.byStatus.set(status, (count = requests.series({ route, method, status: String(status) })));
      count.value++;
      series.latency.observe(seconds);
    },
    decision(operation: string, granted: boolean, reason: string | null) {
      let byReason = byOperation.get(operation);
      if (!byReason) byOperation.set(operation, (byReason = new Map()));
      const key = granted ? GRANTED : reason;
      let count = byReason.get(key);
      if (!count) {
        count = decisions.series({ operation: bounded(operation), outcome: granted ? 'granted' : 'denied', reason: granted ? 'none' : bounded(reason) });
        byReason.set(key, count);
      }
      count.value++;
    },
    authFailure(method: string, reason: string) {
      authFailures.inc({ method, reason: bounded(reason.replace(/:.*$/, '')) });
    },
    sweep(status: 'succeeded' | 'failed', counts: Record<string, Record<string, number>>) {
      sweeps.inc({ status });
      // `held` is what a legal hold kept, not a purge.
      for (const byMethod of Object.values(counts))
        for (const [method, n] of Object.entries(byMethod)) if (method !== 'held') purged.inc({ method: bounded(method) }, n);
      if (status === 'succeeded') lastSweep = Math.round(Date.now() / 1000);
    },
    purged(method: string) {
      purged.inc({ method: bounded(method) });
    },
    auditWriteFailure() {
      auditFailures.inc();
    },
    store(path: 'statement' | 'transaction') {
      stores.inc({ path });
    },
    readStatement(reads: number) {
      readStatements.inc({ reads: reads === 1 ? '1' : 'shared' });
      readsCarried.inc({}, reads);
    },
  };
}

export type VaultMetrics = ReturnType<typeof createVaultMetrics>;
