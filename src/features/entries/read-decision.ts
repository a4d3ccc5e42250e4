import type { Decision } from '../policies/access-rules';
import { addDays } from '../policies/retention';

/**
 * The order in which a GET or HEAD is judged, stated once. The two-step path (`judgeRead`, below) and the
 * one-statement read (features/entries/audited-read.repository, whose CASE is built from this list) both follow
 * it, and the property test holds them equal. The first check that applies answers:
 *
 * - `not_found`: no such entry → 404
 * - `denied`: the retrieve rule of the entry's policy refuses the caller → 403 with decide()'s reason
 * - `purged`: crypto-shredded → 410
 * - `expired`: past its own expires_at → 410
 * - `retention_maximum`: older than its purpose's current max_retention_days → 410
 * - `budget`: a spent max_retrievals → 403 (HEAD judges it; a GET spends it in its transaction)
 *
 * A read all of them grant is a 200, or a 304 when its If-None-Match lists the entry's ETag
 * (`notModifiedBy`): only after every refusal above, so a 304 tells nobody more than a 200 would.
 */
export const READ_ORDER = ['not_found', 'denied', 'purged', 'expired', 'retention_maximum', 'budget'] as const;
export type ReadCheck = (typeof READ_ORDER)[number];

export interface ReadFacts {
  entry?: { purgedAt: Date | null; expiresAt: Date; createdAt: Date; retrievalCount: number };
  decision?: Decision;
  maxRetentionDays: number | null;
  now: Date;
}

export type ReadVerdict = { allow: true } | { allow: false; check: ReadCheck; status: 403 | 404 | 410; reason: string };

const CHECKS: Record<ReadCheck, (f: ReadFacts) => string | undefined> = {
  not_found: (f) => (f.entry ? undefined : 'not_found'),
  denied: (f) => (f.decision && !f.decision.allow ? f.decision.reason : undefined),
  purged: (f) => (f.entry!.purgedAt !== null ? 'purged' : undefined),
  expired: (f) => (f.entry!.expiresAt.getTime() <= f.now.getTime() ? 'expired' : undefined),
  retention_maximum: (f) =>
    f.maxRetentionDays !== null && addDays(f.entry!.createdAt, f.maxRetentionDays).getTime() <= f.now.getTime() ? 'retention_maximum' : undefined,
  budget: (f) => {
    const max = f.decision?.allow ? f.decision.maxRetrievals : undefined;
    return max !== undefined && f.entry!.retrievalCount >= max ? 'retrieval_budget_exhausted' : undefined;
  },
};

const STATUS: Record<ReadCheck, 403 | 404 | 410> = { not_found: 404, denied: 403, purged: 410, expired: 410, retention_maximum: 410, budget: 403 };

/**
 * A conditional GET or HEAD (If-None-Match, RFC 9110 13.1.2) whose tags list the entry's ETag, or `*`:
 * weak comparison, so the caller passes the tags with any `W/` removed. It is asked only of a read that
 * every check of READ_ORDER granted, so a 304 never answers for an entry the caller may not read, and a
 * budgeted GET that matches is judged as HEAD is (a spent budget is 403) and spends nothing.
 */
export function notModifiedBy(ifNoneMatch: readonly string[] | undefined, etag: string): boolean {
  return ifNoneMatch !== undefined && (ifNoneMatch.includes('*') || ifNoneMatch.includes(etag));
}

/** The first check of READ_ORDER that refuses, or a grant. Pure and total. */
export function judgeRead(facts: ReadFacts): ReadVerdict {
  for (const check of READ_ORDER) {
    const reason = CHECKS[check](facts);
    if (reason !== undefined) return { allow: false, check, status: STATUS[check], reason };
  }
  return { allow: true };
}
