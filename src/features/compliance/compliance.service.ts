import { trailEvidence, type BelievedVerification } from '../audit/audit.service';
import { retentionEvidence } from '../audit/audit-retention.service';
import { keyFigures, keyTotals, type KeyFigures } from '../keys/key.repository';
import { heldDue, holdFigures, listHolds, type LegalHold } from '../holds/hold.repository';
import {
  aggregateAccesses,
  aggregateEntries,
  aggregatePurges,
  latestSeals,
  listRetentionPolicies,
  useReportSnapshot,
  type AccessCounts,
  type EntryAggregates,
  type LatestSeal,
  type PurgeCounts,
  type ReportPolicy,
} from './compliance.repository';
import type { SweepRunRow } from '../../storage/schema/index';
import { lastFinishedSweepRun } from '../purge/sweep.repository';
import { addDays, describeRetention } from '../policies/retention';
import { inTransaction } from '../../kernel/executor';
import type { OperationContext } from '../../kernel/context';

/** The original report's fixed horizons ("last 30 days", "next 30 days"); `window_days` moves only the *_in_window figures. */
export const FIXED_DAYS = 30;
/** At most this many key_refs are listed (stalest first); `key_refs_total` says how many there are. */
export const KEY_REF_LIMIT = 1000;

export interface PurposeReport {
  total_entries: number;
  active: number;
  expired_pending_purge: number;
  crypto_shredded: number;
  retention_policy: string | null;
  policy: {
    max_retention_days: number;
    default_ttl_days: number | null;
    purge_method: string;
    require_purge_proof: boolean;
    description: string | null;
  } | null;
  entries_expiring_next_30_days: number;
  purged_last_30_days: number;
  purged_in_window: number;
}

/**
 * The report as served. It is a document whose key names are the contract (the original's keys kept
 * verbatim, the additions beside them), so the verb builds the wire shape itself instead of a camelCase
 * copy mapped later.
 */
export interface ComplianceReport {
  generated_at: string;
  window: { days: number; since: string; until: string };
  summary: {
    total_entries: number;
    active_entries: number;
    expired_pending_purge: number;
    expired_pending_purge_by_cause: { expired: number; max_retention: number };
    crypto_shredded_entries: number;
    entries_expiring_next_30_days: number;
    purged_last_30_days: number;
    purged_in_window: number;
  };
  by_purpose: Record<string, PurposeReport>;
  purge_compliance: {
    purge_sweep_last_run: string | null;
    entries_purged_last_sweep: number | null;
    purge_proof_available: boolean;
    proof_hashing_enabled: boolean;
    purges_in_window_without_required_proof: number;
    /** Purges per UTC day (YYYY-MM-DD) in the window, days without any left out, oldest first; the values sum to `summary.purged_in_window`. */
    purged_by_day_in_window: Record<string, number>;
    last_sweep: {
      sweep_run_id: number;
      started_at: string;
      finished_at: string | null;
      status: string;
      trigger: string;
      purged: number;
      counts: Record<string, Record<string, number>>;
      error: string | null;
    } | null;
  };
  access_summary: {
    total_accesses_last_30_days: number;
    denied_accesses_last_30_days: number;
    total_accesses_in_window: number;
    denied_accesses_in_window: number;
    denied_by_reason_in_window: Record<string, number>;
    failed_authentications_in_window: number;
    failed_authentications_last_30_days: number;
    /** Denied rows per UTC day (YYYY-MM-DD) in the window, days without any left out, oldest first; the values sum to `denied_accesses_in_window`. */
    denied_by_day_in_window: Record<string, number>;
  };
  key_staleness: {
    key_refs: { key_ref: string; entries: number; oldest_created_at: string }[];
    key_refs_total: number;
    key_refs_truncated: boolean;
    entries_without_key_ref: number;
    oldest_created_at_without_key_ref: string | null;
  };
  /** Legal holds (PCI DSS 3.1.1: the justification of any retention beyond policy is each hold's reason and case_ref). */
  legal_holds: {
    holds: {
      name: string;
      purpose: string;
      external_ids: string[] | null;
      owner_app: string | null;
      reason: string;
      case_ref: string | null;
      created_at: string;
      entries_kept: number;
      entries_past_retention: number;
    }[];
    entries_kept_past_retention: number;
    requirement: string;
  };
  /** Key lifecycle evidence (PCI DSS 3.6.1, 3.7.4, 3.7.5): each figure's requirement is named in `requirements`. */
  keys: {
    key_refs: {
      key_ref: string;
      status: string;
      cryptoperiod_days: number | null;
      entries: number;
      entries_past_cryptoperiod: number;
      oldest_ciphertext: string | null;
    }[];
    key_refs_total: number;
    key_refs_truncated: boolean;
    entries_under_retired_keys: number;
    entries_under_compromised_keys: number;
    entries_past_cryptoperiod: number;
    entries_without_key_ref: number;
    rewraps_in_window: number;
    requirements: Record<string, string>;
  };
  audit: {
    /** `forged`: the newest record's signature does not check; `unsigned`: this vault has no audit key. */
    last_verification: BelievedVerification | null;
    /** The newest signed verification that re-read every row (?full=true), and the newest against a checkpoint. */
    last_full_verification: BelievedVerification | null;
    last_checkpoint_verification: BelievedVerification | null;
    seals: Record<string, { seal_no: number; sealed_at: string; last_id: number | null } | null>;
  } & RetentionEvidence;
}

/** Which PCI DSS requirement each figure of the keys section evidences. */
export const KEY_REQUIREMENTS: Record<string, string> = {
  key_refs: 'PCI DSS 3.6.1 (key management procedures: which data sits under which key, with its status)',
  entries_past_cryptoperiod: 'PCI DSS 3.7.4 (keys changed at the end of their cryptoperiod: ciphertexts older than it)',
  entries_under_retired_keys: 'PCI DSS 3.7.5 (retired keys not used to protect data: should be zero once re-keying is done)',
  entries_under_compromised_keys: 'PCI DSS 3.7.5 (compromised keys replaced: should be zero)',
  entries_without_key_ref: 'PCI DSS 3.6.1 (ciphertexts whose key is not recorded)',
  rewraps_in_window: 'PCI DSS 3.7.4 (re-wraps done in the window, each with a purge proof of the old ciphertext)',
};

/** Days since 1970-01-01 (UTC) → `YYYY-MM-DD`. */
const isoDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

/** A per-day tally (days since 1970-01-01) as the report's `{ "YYYY-MM-DD": n }`, oldest first, empty days left out. */
function byDay(counts: Map<number, number>): Record<string, number> {
  return Object.fromEntries(
    [...counts.entries()]
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => a - b)
      .map(([day, count]) => [isoDay(day), count]),
  );
}

/** Denied rows whose reason column is empty are listed under this key. */
export const UNSPECIFIED_REASON = 'unspecified';

const emptyPurpose = (): PurposeReport => ({
  total_entries: 0,
  active: 0,
  expired_pending_purge: 0,
  crypto_shredded: 0,
  retention_policy: null,
  policy: null,
  entries_expiring_next_30_days: 0,
  purged_last_30_days: 0,
  purged_in_window: 0,
});

function policyView(p: ReportPolicy): PurposeReport['policy'] {
  return {
    max_retention_days: p.maxRetentionDays,
    default_ttl_days: p.defaultTtlDays,
    purge_method: p.purgeMethod,
    require_purge_proof: p.requirePurgeProof,
    description: p.description,
  };
}

/**
 * GET /compliance/report (admin, auditor): PCI DSS Req. 3 evidence at `ctx.clock.now()`. Every figure is
 * read in one REPEATABLE READ snapshot inside the request's own audited transaction, so the numbers agree
 * with each other and the access-log row saying who read them commits with them (that row is written
 * after the reads, so a report never counts itself). Seven statements, sequential on one connection: the
 * policies, one pass over entries, two range scans of the logs (BRIN), and three index look-ups. Sequential
 * on purpose: the entries pass already runs on parallel workers, and the same statements run concurrently
 * on pool connections measured no faster while each would have seen its own snapshot.
 */
export async function buildComplianceReport({
  ctx,
  windowDays,
  as,
}: {
  ctx: OperationContext;
  windowDays: number;
  /** The representation served (the page or the JWS), named in the access-log row's reason; the JSON is the default. */
  as?: 'html' | 'jws';
}): Promise<ComplianceReport> {
  return inTransaction(ctx, { operation: 'compliance.report' }, async (tx) => {
    await useReportSnapshot(tx);
    const now = ctx.clock.now();
    const windowSince = addDays(now, -windowDays);
    const logRange = { windowSince, since30: addDays(now, -FIXED_DAYS), until: now };
    const policies = await listRetentionPolicies(tx, now);
    const data: ReportData = {
      now,
      windowDays,
      windowSince,
      proofHashing: ctx.settings.purgeProofHash,
      policies,
      entries: await aggregateEntries(tx, { now, expiringBefore: addDays(now, FIXED_DAYS), cutoffs: policies, keyRefLimit: KEY_REF_LIMIT }),
      purges: await aggregatePurges(tx, logRange),
      accesses: await aggregateAccesses(tx, logRange),
      sweep: await lastFinishedSweepRun(tx),
      keys: { ...(await keyFigures(tx, now, KEY_REF_LIMIT)), totals: await keyTotals(tx, now, windowSince) },
      holds: { list: await listHolds(tx), figures: await holdFigures(tx, now), due: [...(await heldDue(tx, now)).values()].reduce((a, b) => a + b, 0) },
      trail: await trailEvidence(tx, ctx.settings.auditSigner),
      retention: await retentionEvidence(tx, ctx.settings.auditSigner, ctx.settings.auditRetentionDays),
      seals: await latestSeals(tx),
    };
    return { result: assembleReport(data), status: 200, reason: `window ${windowDays} days${as ? `, as ${as}` : ''}` };
  });
}

type RetentionEvidence = Awaited<ReturnType<typeof retentionEvidence>>;

/** What the report is computed from, all read in one snapshot. */
export interface ReportData {
  now: Date;
  windowDays: number;
  windowSince: Date;
  proofHashing: boolean;
  policies: ReportPolicy[];
  entries: EntryAggregates;
  purges: PurgeCounts[];
  accesses: AccessCounts[];
  sweep: SweepRunRow | undefined;
  keys: { keys: KeyFigures[]; total: number; totals: Awaited<ReturnType<typeof keyTotals>> };
  holds: { list: LegalHold[]; figures: Map<string, { kept: number; pastRetention: number }>; due: number };
  /** The newest verification records as they may be believed (their signatures checked). */
  trail: Awaited<ReturnType<typeof trailEvidence>>;
  retention: RetentionEvidence;
  seals: LatestSeal[];
}

/** Pure: turns the snapshot's aggregates into the report (sums, policy texts, proof verdict, ordering). */
export function assembleReport(data: ReportData): ComplianceReport {
  const { now, windowDays, windowSince, policies, entries, purges, accesses, sweep, trail, retention, seals, keys, holds } = data;
  const byPurpose = new Map<string, PurposeReport>();
  const purposeOf = (name: string) => byPurpose.get(name) ?? byPurpose.set(name, emptyPurpose()).get(name)!;
  const summary: ComplianceReport['summary'] = {
    total_entries: 0,
    active_entries: 0,
    expired_pending_purge: 0,
    expired_pending_purge_by_cause: { expired: 0, max_retention: 0 },
    crypto_shredded_entries: 0,
    entries_expiring_next_30_days: 0,
    purged_last_30_days: 0,
    purged_in_window: 0,
  };

  for (const e of entries.purposes) {
    const p = purposeOf(e.purpose);
    p.total_entries = e.total;
    p.active = e.active;
    p.crypto_shredded = e.shredded;
    p.entries_expiring_next_30_days = e.expiring;
    // Due = expired, or (the sweep's second test) past created_at + max_retention_days of the current
    // policy; the second count covers only unexpired entries, so the two never overlap and the sum is exact.
    p.expired_pending_purge = e.expired + e.overRetention;
    summary.total_entries += e.total;
    summary.active_entries += e.active;
    summary.crypto_shredded_entries += e.shredded;
    summary.entries_expiring_next_30_days += e.expiring;
    summary.expired_pending_purge_by_cause.expired += e.expired;
    summary.expired_pending_purge_by_cause.max_retention += e.overRetention;
  }
  const requiresProof = new Map<string, boolean>();
  for (const policy of policies) {
    const p = purposeOf(policy.purpose);
    p.policy = policyView(policy);
    p.retention_policy = describeRetention(policy);
    requiresProof.set(policy.purpose, policy.requirePurgeProof);
  }
  summary.expired_pending_purge = summary.expired_pending_purge_by_cause.expired + summary.expired_pending_purge_by_cause.max_retention;

  // A purge without proof is a gap only where the purpose's policy asks for proof (no policy left: the sweep's default, true).
  // One row per purpose and day: the per-purpose figures are their sums, the per-day chart their sums the other way.
  let missingProof = 0;
  const purgedByDay = new Map<number, number>();
  for (const g of purges) {
    const p = purposeOf(g.purpose);
    p.purged_in_window += g.inWindow;
    p.purged_last_30_days += g.last30Days;
    purgedByDay.set(g.day, (purgedByDay.get(g.day) ?? 0) + g.inWindow);
    summary.purged_in_window += g.inWindow;
    summary.purged_last_30_days += g.last30Days;
    if (requiresProof.get(g.purpose) ?? true) missingProof += g.inWindowWithoutProof;
  }

  const access: ComplianceReport['access_summary'] = {
    total_accesses_last_30_days: 0,
    denied_accesses_last_30_days: 0,
    total_accesses_in_window: 0,
    denied_accesses_in_window: 0,
    denied_by_reason_in_window: {},
    failed_authentications_in_window: 0,
    failed_authentications_last_30_days: 0,
    denied_by_day_in_window: {},
  };
  const deniedByDay = new Map<number, number>();
  for (const a of accesses) {
    access.total_accesses_in_window += a.inWindow;
    access.total_accesses_last_30_days += a.last30Days;
    if (a.granted) continue;
    access.denied_accesses_in_window += a.inWindow;
    access.denied_accesses_last_30_days += a.last30Days;
    deniedByDay.set(a.day, (deniedByDay.get(a.day) ?? 0) + a.inWindow);
    if (a.inWindow > 0) {
      const key = a.reason ?? UNSPECIFIED_REASON;
      access.denied_by_reason_in_window[key] = (access.denied_by_reason_in_window[key] ?? 0) + a.inWindow;
    }
    if (a.authentication) {
      access.failed_authentications_in_window += a.inWindow;
      access.failed_authentications_last_30_days += a.last30Days;
    }
  }
  access.denied_by_day_in_window = byDay(deniedByDay);
  access.denied_by_reason_in_window = Object.fromEntries(Object.entries(access.denied_by_reason_in_window).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)));

  const sealView: ComplianceReport['audit']['seals'] = { access_log: null, purge_log: null };
  for (const s of seals) sealView[s.log] = { seal_no: s.sealNo, sealed_at: s.sealedAt.toISOString(), last_id: s.lastId };

  return {
    generated_at: now.toISOString(),
    window: { days: windowDays, since: windowSince.toISOString(), until: now.toISOString() },
    summary,
    by_purpose: Object.fromEntries([...byPurpose.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    purge_compliance: {
      purge_sweep_last_run: sweep ? sweep.startedAt.toISOString() : null,
      entries_purged_last_sweep: sweep ? sweep.purgedTotal : null,
      purge_proof_available: data.proofHashing && missingProof === 0,
      proof_hashing_enabled: data.proofHashing,
      purges_in_window_without_required_proof: missingProof,
      purged_by_day_in_window: byDay(purgedByDay),
      last_sweep: sweep
        ? {
            sweep_run_id: sweep.id,
            started_at: sweep.startedAt.toISOString(),
            finished_at: sweep.finishedAt?.toISOString() ?? null,
            status: sweep.status,
            trigger: sweep.trigger,
            purged: sweep.purgedTotal,
            counts: sweep.counts,
            error: sweep.error,
          }
        : null,
    },
    access_summary: access,
    key_staleness: {
      key_refs: entries.keyRefs.map((k) => ({ key_ref: k.keyRef, entries: k.entries, oldest_created_at: k.oldestCreatedAt.toISOString() })),
      key_refs_total: entries.keyRefsTotal,
      key_refs_truncated: entries.keyRefsTotal > entries.keyRefs.length,
      entries_without_key_ref: entries.withoutKeyRef.entries,
      oldest_created_at_without_key_ref: entries.withoutKeyRef.oldestCreatedAt?.toISOString() ?? null,
    },
    legal_holds: {
      holds: holds.list.map((h) => {
        const f = holds.figures.get(h.name) ?? { kept: 0, pastRetention: 0 };
        return {
          name: h.name,
          purpose: h.purpose,
          external_ids: h.externalIds,
          owner_app: h.ownerApp,
          reason: h.reason,
          case_ref: h.caseRef,
          created_at: h.createdAt.toISOString(),
          entries_kept: f.kept,
          entries_past_retention: f.pastRetention,
        };
      }),
      // Each entry once, however many holds cover it: what the sweep would purge now but for the holds.
      entries_kept_past_retention: holds.due,
      requirement: 'PCI DSS 3.1.1 (retention beyond policy is justified: each hold names its reason and case_ref)',
    },
    keys: {
      key_refs: keys.keys.map((k) => ({
        key_ref: k.keyRef,
        status: k.status,
        cryptoperiod_days: k.cryptoperiodDays,
        entries: k.entries,
        entries_past_cryptoperiod: k.pastCryptoperiod,
        oldest_ciphertext: k.oldestCiphertext?.toISOString() ?? null,
      })),
      key_refs_total: keys.total,
      key_refs_truncated: keys.total > keys.keys.length,
      entries_under_retired_keys: keys.totals.underRetired,
      entries_under_compromised_keys: keys.totals.underCompromised,
      entries_past_cryptoperiod: keys.totals.pastCryptoperiod,
      entries_without_key_ref: keys.totals.withoutKeyRef,
      rewraps_in_window: keys.totals.rewrapsInWindow,
      requirements: KEY_REQUIREMENTS,
    },
    audit: {
      // Believed only when the audit key's signature over the record checks; else reported as forged.
      last_verification: trail.last ?? null,
      last_full_verification: trail.lastFull ?? null,
      last_checkpoint_verification: trail.lastAgainstCheckpoint ?? null,
      seals: sealView,
      ...retention,
    },
  };
}
