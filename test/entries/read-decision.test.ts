import { describe, expect, it } from 'vitest';
import { judgeRead, READ_ORDER } from '../../src/features/entries/read-decision';
import { AUDITED_READ_SQL } from '../../src/features/entries/audited-read.repository';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const live = { purgedAt: null, expiresAt: new Date(NOW.getTime() + DAY), createdAt: new Date(NOW.getTime() - DAY), retrievalCount: 2 };

describe('READ_ORDER: the one statement of how a GET or HEAD is judged', () => {
  it('answers with the first check that refuses, in the stated order', () => {
    const everything = {
      entry: { ...live, purgedAt: NOW, expiresAt: NOW, createdAt: new Date(NOW.getTime() - 400 * DAY) },
      decision: { allow: true as const, maxRetrievals: 1 },
      maxRetentionDays: 365,
      now: NOW,
    };
    expect(judgeRead({ maxRetentionDays: null, now: NOW })).toMatchObject({ check: 'not_found', status: 404 });
    expect(judgeRead({ ...everything, decision: { allow: false, reason: 'not_owner' } })).toMatchObject({ check: 'denied', status: 403, reason: 'not_owner' });
    expect(judgeRead(everything)).toMatchObject({ check: 'purged', status: 410 });
    expect(judgeRead({ ...everything, entry: { ...everything.entry, purgedAt: null } })).toMatchObject({ check: 'expired' });
    expect(judgeRead({ ...everything, entry: { ...everything.entry, purgedAt: null, expiresAt: live.expiresAt } })).toMatchObject({
      check: 'retention_maximum',
      reason: 'retention_maximum',
    });
    expect(judgeRead({ ...everything, entry: live })).toMatchObject({ check: 'budget', status: 403, reason: 'retrieval_budget_exhausted' });
    expect(judgeRead({ ...everything, entry: live, decision: { allow: true, maxRetrievals: 3 } })).toEqual({ allow: true });
  });

  it('the one-statement read judges in the same order (its CASE is built from READ_ORDER)', () => {
    const markers: Record<(typeof READ_ORDER)[number], string> = {
      not_found: '"not_found"',
      denied: "k.side ->> 0 = '403'",
      purged: '"purged"',
      expired: '"expired"',
      retention_maximum: '"retention_maximum"',
      budget: '"retrieval_budget_exhausted"',
    };
    const positions = READ_ORDER.map((check) => AUDITED_READ_SQL.indexOf(markers[check]));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});
