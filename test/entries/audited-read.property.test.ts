import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, type PolicyRules, type Rule } from '../../src/features/policies/access-rules';
import { judgeRead } from '../../src/features/entries/read-decision';
import { goneReason } from '../../src/features/policies/retention';
import { retrieveVerdicts } from '../../src/features/entries/retrieve-verdicts';
import { readAndAudit } from '../../src/features/entries/audited-read.repository';
import { readManyAndAudit } from '../../src/features/entries/batch-read.repository';
import { loadPolicySnapshots } from '../../src/features/policies/policy.repository';
import { APPS, kindArb, principalArb as makePrincipalArb, SCOPES } from '../support/arbitraries';
import { createTestVault, type TestVault } from '../support/test-app';
import { putRetention, store } from '../support/fixtures';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const MAX_DAYS = 365;
const MAX_MS = MAX_DAYS * 86_400_000;

const retrieveRuleArb: fc.Arbitrary<Rule> = fc.record(
  {
    allow: fc.oneof(kindArb, fc.uniqueArray(kindArb, { minLength: 1, maxLength: 3 })),
    allowed_apps: fc.uniqueArray(fc.constantFrom(...APPS), { maxLength: 3 }),
    require_identity: fc.boolean(),
    max_retrievals: fc.integer({ min: 1, max: 3 }),
  },
  { requiredKeys: ['allow'] },
);
const principalArb = makePrincipalArb(fc.option(fc.constantFrom(...SCOPES), { nil: undefined }));
const stateArb = fc.record({
  owner: fc.constantFrom(...APPS),
  // The entry's expires_at against now: the boundary itself is already expired.
  expiry: fc.constantFrom(-86_400_000, 0, 1, 86_400_000),
  // created_at against the purpose's current maximum (365 days): at the boundary it is already due.
  age: fc.constantFrom(0, MAX_MS - 1, MAX_MS, MAX_MS + 86_400_000),
  shredded: fc.boolean(),
  retrievals: fc.integer({ min: 0, max: 3 }),
  operation: fc.constantFrom<'retrieve' | 'exists'>('retrieve', 'exists'),
});

/**
 * The one-statement GET/HEAD against the two-step path's rules, for random retrieve rules, callers and
 * entry states: `decide` (404 → 403 → 410), then the budget (HEAD judges a spent one, GET leaves it to its
 * transaction). Whatever it answers, exactly one access-log row says so; when it leaves the request to
 * the other path, none does.
 */
describe('one-statement read ≡ decide() + expiry + budget', () => {
  let vault: TestVault;
  let seq = 0;

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    vault.clock.set(NOW);
    await putRetention(vault, 'card');
    await vault.db.query(
      `insert into vault.access_policies (name, description, rules, builtin, created_at, updated_at) values ('prop', 'property test', '{}'::jsonb, false, now(), now())`,
    );
    await store(vault, 'pay', 'card', 'prop-1');
  });
  afterAll(() => vault.close());

  it('answers what the two-step path would, and audits exactly that', async () => {
    await fc.assert(
      fc.asyncProperty(retrieveRuleArb, principalArb, stateArb, async (retrieve, principal, state) => {
        const rules: PolicyRules = { store: { allow: 'any' }, retrieve, purge: { allow: 'admin' } };
        const expiresAt = new Date(NOW.getTime() + state.expiry);
        const purgedAt = state.shredded ? new Date(NOW.getTime() - 1000) : null;
        const createdAt = new Date(NOW.getTime() - state.age);
        await vault.db.query(`update vault.access_policies set rules = $1::text::jsonb where name = 'prop'`, [JSON.stringify(rules)]);
        await vault.db.query(
          `update vault.entries set access_policy = 'prop', owner_app = $1, expires_at = $2, purged_at = $3, encrypted_value = $4, retrieval_count = $5, created_at = $6 where external_id = 'prop-1'`,
          [
            state.owner,
            expiresAt.toISOString(),
            purgedAt?.toISOString() ?? null,
            state.shredded ? '' : 'vault:v1:blob',
            state.retrievals,
            createdAt.toISOString(),
          ],
        );

        const requestId = `prop-${++seq}`;
        const out = await readAndAudit(vault.db.db, {
          key: { purpose: 'card', externalId: 'prop-1' },
          operation: state.operation,
          verdicts: retrieveVerdicts(await loadPolicySnapshots(vault.db.db), principal, 'card'),
          now: NOW,
          caller: { requestId, app: principal.app, identity: principal.identity ?? null, authMethod: principal.method, clientAddr: null },
        });

        const decision = decide(rules, principal, { purpose: 'card', ownerApp: state.owner }, 'retrieve');
        const expected: { status: number; reason: string | null } = !decision.allow
          ? { status: 403, reason: decision.reason }
          : goneReason({ expiresAt, createdAt, purgedAt }, NOW, MAX_DAYS)
            ? { status: 410, reason: goneReason({ expiresAt, createdAt, purgedAt }, NOW, MAX_DAYS)! }
            : decision.maxRetrievals === undefined
              ? { status: 200, reason: null }
              : state.operation === 'retrieve'
                ? { status: 0, reason: 'budget' }
                : state.retrievals >= decision.maxRetrievals
                  ? { status: 403, reason: 'retrieval_budget_exhausted' }
                  : { status: 200, reason: null };
        expect({ status: out.status, reason: out.reason }).toEqual(expected);
        // The order stated once (features/entries/read-decision READ_ORDER) gives the same answer as both.
        const verdict = judgeRead({
          entry: { purgedAt, expiresAt, createdAt, retrievalCount: state.retrievals },
          decision: state.operation === 'exists' || !decision.allow ? decision : { allow: true },
          maxRetentionDays: MAX_DAYS,
          now: NOW,
        });
        const ordered = !verdict.allow
          ? { status: verdict.status, reason: verdict.reason }
          : state.operation === 'retrieve' && decision.allow && decision.maxRetrievals !== undefined
            ? { status: 0, reason: 'budget' }
            : { status: 200, reason: null };
        expect(ordered).toEqual(expected);
        expect(out.entry?.encryptedValue).toBe(out.status === 200 && state.operation === 'retrieve' ? 'vault:v1:blob' : '');

        const rows = await vault.db.query<{ granted: boolean; status: number; reason: string | null }>(
          'select granted, status, reason from vault.access_log where request_id = $1',
          [requestId],
        );
        expect(rows).toEqual(expected.status === 0 ? [] : [{ granted: expected.status === 200, status: expected.status, reason: expected.reason }]);

        // The batch read (one statement for many items) decides each item as the single read does, and
        // writes every item's row or, when one item is left to the transaction, none.
        const batchId = `prop-batch-${seq}`;
        const caller = { app: principal.app, identity: principal.identity ?? null, authMethod: principal.method, clientAddr: null };
        const many = await readManyAndAudit(vault.db.db, {
          items: [
            { purpose: 'card', externalId: 'prop-1', operation: state.operation, requestId: `${batchId}.0`, caller, table: 0 },
            { purpose: 'card', externalId: 'prop-none', operation: 'exists', requestId: `${batchId}.1`, caller, table: 0 },
            { purpose: 'card', externalId: 'prop-1', operation: state.operation, requestId: `${batchId}.2`, caller, table: 0 },
          ],
          verdicts: [retrieveVerdicts(await loadPolicySnapshots(vault.db.db), principal, 'card')],
          now: NOW,
          whole: true,
        });
        const batchRows = await vault.db.query<{ request_id: string; status: number; reason: string | null }>(
          'select request_id, status, reason from vault.access_log where request_id like $1 order by request_id',
          [`${batchId}.%`],
        );
        const decided = many.decisions.map((d) => ({ status: d.status, reason: d.reason }));
        if (expected.status === 0) {
          // One undecided item: nothing written, no value out; the others are still decided as they would be.
          expect(many.written).toBe(false);
          expect(batchRows).toEqual([]);
          expect(decided).toEqual([expected, { status: 404, reason: 'not_found' }, expected]);
          expect(many.decisions.every((d) => !d.entry?.encryptedValue)).toBe(true);
        } else {
          expect(many.written).toBe(true);
          expect(decided).toEqual([expected, { status: 404, reason: 'not_found' }, expected]);
          expect(batchRows.map((r) => r.status)).toEqual([expected.status, 404, expected.status]);
          expect(many.decisions[0]!.entry?.encryptedValue).toBe(out.entry?.encryptedValue);
        }
      }),
      { numRuns: 150 },
    );
  });
});
