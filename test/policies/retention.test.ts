import { describe, expect, it } from 'vitest';
import { RetentionViolationError } from '../../src/kernel/errors';
import { addDays, describeRetention, effectiveExpiry, goneReason, isGone, resolveExpiry, type RetentionPolicy } from '../../src/features/policies/retention';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const policy = (overrides: Partial<RetentionPolicy> = {}): RetentionPolicy => ({
  purpose: 'card',
  maxRetentionDays: 365,
  defaultTtlDays: 90,
  purgeMethod: 'physical-delete',
  requirePurgeProof: true,
  description: null,
  storeApps: null,
  ...overrides,
});

describe('resolveExpiry()', () => {
  it('no request → now + default_ttl_days', () => {
    expect(resolveExpiry(policy(), undefined, NOW)).toEqual(new Date('2026-08-30T12:00:00.000Z'));
  });

  it('no request and no default → now + max_retention_days', () => {
    expect(resolveExpiry(policy({ defaultTtlDays: null }), undefined, NOW)).toEqual(addDays(NOW, 365));
  });

  it('a requested expiry inside the window is kept exactly', () => {
    const requested = new Date('2027-02-16T00:00:00Z');
    expect(resolveExpiry(policy(), requested, NOW)).toEqual(requested);
  });

  it('exactly the ceiling is allowed; one millisecond past is a retention violation', () => {
    const ceiling = addDays(NOW, 365);
    expect(resolveExpiry(policy(), ceiling, NOW)).toEqual(ceiling);
    expect(() => resolveExpiry(policy(), new Date(ceiling.getTime() + 1), NOW)).toThrow(RetentionViolationError);
  });

  it('a requested expiry in the past or equal to now is refused', () => {
    expect(() => resolveExpiry(policy(), new Date(NOW.getTime() - 1), NOW)).toThrow(RetentionViolationError);
    expect(() => resolveExpiry(policy(), NOW, NOW)).toThrow(/past/);
  });

  it('the violation names the maximum and the purpose', () => {
    try {
      resolveExpiry(policy(), addDays(NOW, 400), NOW);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RetentionViolationError);
      expect((error as RetentionViolationError).code).toBe('retention_violation');
      expect((error as Error).message).toContain('365');
      expect((error as Error).message).toContain("'card'");
    }
  });

  describe('a replace counts the ceiling from the original created_at', () => {
    const createdAt = addDays(NOW, -300);

    it('the default TTL is capped at created_at + max', () => {
      expect(resolveExpiry(policy(), undefined, NOW, createdAt)).toEqual(addDays(createdAt, 365));
    });

    it('a request past created_at + max is refused even though now + max would allow it', () => {
      expect(() => resolveExpiry(policy(), addDays(NOW, 100), NOW, createdAt)).toThrow(RetentionViolationError);
      expect(resolveExpiry(policy(), addDays(NOW, 60), NOW, createdAt)).toEqual(addDays(NOW, 60));
    });

    it('an entry already at its maximum cannot be extended at all', () => {
      const old = addDays(NOW, -365);
      expect(() => resolveExpiry(policy(), undefined, NOW, old)).toThrow(/retention maximum/);
      expect(() => resolveExpiry(policy({ defaultTtlDays: null }), undefined, NOW, addDays(NOW, -400))).toThrow(RetentionViolationError);
    });
  });

  it('never returns a date beyond now + max for any default', () => {
    for (const max of [1, 30, 365, 36500]) {
      for (const ttl of [null, 1, max]) {
        const expiry = resolveExpiry(policy({ maxRetentionDays: max, defaultTtlDays: ttl }), undefined, NOW);
        expect(expiry.getTime()).toBeLessThanOrEqual(addDays(NOW, max).getTime());
        expect(expiry.getTime()).toBeGreaterThan(NOW.getTime());
      }
    }
  });
});

describe('isGone()', () => {
  it('a live entry before its expiry is not gone', () => {
    expect(isGone({ expiresAt: new Date(NOW.getTime() + 1), purgedAt: null }, NOW)).toBe(false);
  });
  it('an entry at or past expires_at is gone, even before a sweep', () => {
    expect(isGone({ expiresAt: NOW, purgedAt: null }, NOW)).toBe(true);
    expect(isGone({ expiresAt: new Date(NOW.getTime() - 1), purgedAt: null }, NOW)).toBe(true);
  });
  it('a shredded entry is gone even if not yet expired', () => {
    expect(isGone({ expiresAt: addDays(NOW, 10), purgedAt: NOW }, NOW)).toBe(true);
  });
  it("an entry older than its purpose's current maximum is gone, whatever its own expires_at says", () => {
    const entry = { expiresAt: addDays(NOW, 10), createdAt: addDays(NOW, -30), purgedAt: null };
    expect(goneReason(entry, NOW, 31)).toBeUndefined();
    expect(goneReason(entry, NOW, 30)).toBe('retention_maximum');
    expect(goneReason({ ...entry, expiresAt: NOW }, NOW, 30)).toBe('expired');
    expect(effectiveExpiry(entry, 20).toISOString()).toBe(addDays(NOW, -10).toISOString());
    expect(effectiveExpiry(entry, null).toISOString()).toBe(entry.expiresAt.toISOString());
  });
});

describe('describeRetention()', () => {
  it('matches the README compliance report wording', () => {
    expect(describeRetention({ maxRetentionDays: 365, defaultTtlDays: 90 })).toBe('365 days max, 90 day default TTL');
    expect(describeRetention({ maxRetentionDays: 30, defaultTtlDays: null })).toBe('30 days max');
  });
});
