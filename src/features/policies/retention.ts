import { RetentionViolationError } from '../../kernel/errors';

export type PurgeMethod = 'physical-delete' | 'crypto-shred' | 'retention-expire';
export const PURGE_METHODS: readonly PurgeMethod[] = ['physical-delete', 'crypto-shred', 'retention-expire'];
/** What a purge-log row's `method` says: a purpose's method, or `replace` / `rewrap` for the version a replace or re-wrap destroyed. */
export type PurgeLogMethod = PurgeMethod | 'replace' | 'rewrap';
export const PURGE_LOG_METHODS: readonly PurgeLogMethod[] = [...PURGE_METHODS, 'replace', 'rewrap'];

export interface RetentionPolicy {
  purpose: string;
  maxRetentionDays: number;
  defaultTtlDays: number | null;
  purgeMethod: PurgeMethod;
  requirePurgeProof: boolean;
  description: string | null;
  /** The only apps that may store in the purpose; null = any app whose scope includes it. */
  storeApps: string[] | null;
}

const DAY_MS = 86_400_000;

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

/**
 * The expiry an entry gets at store time. Guards the invariant that no entry outlives its purpose's
 * maximum, counted from `createdAt` (the first store of the live value; now for a new entry): a requested
 * expiry in the past or beyond that ceiling is refused (422); no request means now + default_ttl_days
 * (or the ceiling when the policy has no default), never later than the ceiling.
 */
export function resolveExpiry(policy: RetentionPolicy, requested: Date | undefined, now: Date, createdAt: Date = now): Date {
  const ceiling = addDays(createdAt, policy.maxRetentionDays);
  if (ceiling.getTime() <= now.getTime()) {
    throw new RetentionViolationError(
      `The entry has reached the retention maximum of ${policy.maxRetentionDays} days for purpose '${policy.purpose}'; purge it and store it anew.`,
    );
  }
  if (requested === undefined) {
    if (policy.defaultTtlDays === null) return ceiling;
    const byDefault = addDays(now, policy.defaultTtlDays);
    return byDefault.getTime() < ceiling.getTime() ? byDefault : ceiling;
  }
  if (requested.getTime() <= now.getTime()) {
    throw new RetentionViolationError('expires_at is in the past; an entry must expire in the future.');
  }
  if (requested.getTime() > ceiling.getTime()) {
    throw new RetentionViolationError(
      `expires_at is beyond the retention maximum of ${policy.maxRetentionDays} days for purpose '${policy.purpose}' (latest allowed: ${ceiling.toISOString()}).`,
    );
  }
  return requested;
}

/**
 * When an entry stops being served: its own expiry, or its purpose's *current* retention maximum counted
 * from created_at, whichever comes first — so a shortened maximum applies to reads at once, exactly as the
 * sweep, the dry run and the compliance report already count it.
 */
export function effectiveExpiry(entry: { expiresAt: Date; createdAt?: Date }, maxRetentionDays: number | null | undefined): Date {
  if (maxRetentionDays === null || maxRetentionDays === undefined || entry.createdAt === undefined) return entry.expiresAt;
  const ceiling = addDays(entry.createdAt, maxRetentionDays);
  return ceiling.getTime() < entry.expiresAt.getTime() ? ceiling : entry.expiresAt;
}

/** Why an entry is gone, or undefined while it is live. Shredded → purged; past either expiry → expired or retention maximum. */
export function goneReason(
  entry: { expiresAt: Date; createdAt?: Date; purgedAt: Date | null },
  now: Date,
  maxRetentionDays?: number | null,
): 'purged' | 'expired' | 'retention_maximum' | undefined {
  if (entry.purgedAt !== null) return 'purged';
  if (entry.expiresAt.getTime() <= now.getTime()) return 'expired';
  if (effectiveExpiry(entry, maxRetentionDays).getTime() <= now.getTime()) return 'retention_maximum';
  return undefined;
}

/** Gone = crypto-shredded, or past its expiry (or the purpose's current maximum) even if no sweep has removed it yet. */
export function isGone(entry: { expiresAt: Date; createdAt?: Date; purgedAt: Date | null }, now: Date, maxRetentionDays?: number | null): boolean {
  return goneReason(entry, now, maxRetentionDays) !== undefined;
}

/** Human summary used by reports and purge reasons, e.g. "365 days max, 90 day default TTL". */
export function describeRetention(policy: Pick<RetentionPolicy, 'maxRetentionDays' | 'defaultTtlDays'>): string {
  const max = `${policy.maxRetentionDays} days max`;
  return policy.defaultTtlDays === null ? max : `${max}, ${policy.defaultTtlDays} day default TTL`;
}
