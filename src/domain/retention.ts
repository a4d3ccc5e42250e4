import { RetentionViolationError } from './errors';

export type PurgeMethod = 'physical-delete' | 'crypto-shred' | 'retention-expire';
export const PURGE_METHODS: readonly PurgeMethod[] = ['physical-delete', 'crypto-shred', 'retention-expire'];

export interface RetentionPolicy {
  purpose: string;
  maxRetentionDays: number;
  defaultTtlDays: number | null;
  purgeMethod: PurgeMethod;
  requirePurgeProof: boolean;
  description: string | null;
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

/** Gone = crypto-shredded, or past its expiry even if no sweep has removed it yet. */
export function isGone(entry: { expiresAt: Date; purgedAt: Date | null }, now: Date): boolean {
  return entry.purgedAt !== null || entry.expiresAt.getTime() <= now.getTime();
}

/** Human summary used by reports and purge reasons, e.g. "365 days max, 90 day default TTL". */
export function describeRetention(policy: Pick<RetentionPolicy, 'maxRetentionDays' | 'defaultTtlDays'>): string {
  const max = `${policy.maxRetentionDays} days max`;
  return policy.defaultTtlDays === null ? max : `${max}, ${policy.defaultTtlDays} day default TTL`;
}
