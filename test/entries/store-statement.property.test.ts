import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rule } from '../../src/features/policies/access-rules';
import { storeEntry, type StoreInput } from '../../src/features/entries/entries.service';
import { admittedKeyStates, judgeStore, type KeyState } from '../../src/features/entries/store-decision';
import { storeInOneStatement } from '../../src/features/entries/store-statement.repository';
import { loadPolicySnapshots, loadRetentionSnapshots } from '../../src/features/policies/policy.repository';
import type { OperationContext } from '../../src/kernel/context';
import { STATUS_BY_CODE, VaultError } from '../../src/kernel/errors';
import { RecordedRefusal } from '../../src/kernel/executor';
import { principalArb as makePrincipalArb, ruleArb, SCOPES } from '../support/arbitraries';
import { createTestVault, testJobContext, type TestVault } from '../support/test-app';
import { putRetention } from '../support/fixtures';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;
/** One key_ref per registration (a key's status never goes back, and a key row is never deleted). */
const keyRefIn = (state: KeyState) => `kms/${state}`;

const principalArb = makePrincipalArb(fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...SCOPES) }));
/** What the database holds that a store is judged on and a snapshot caches: the purpose's retention policy, the access policy's store rule. */
const factsArb = fc.record({
  maxDays: fc.constantFrom(30, 365),
  ttlDays: fc.constantFrom(null, 7, 30),
  storeApps: fc.constantFrom(null, null, null, ['pay'], ['other', 'admin']),
  // Mostly rules a store can pass, so that the statement writes often enough to be compared.
  store: fc.oneof({ weight: 2, arbitrary: fc.constant<Rule>({ allow: 'any' }) }, { weight: 3, arbitrary: ruleArb }),
});
type Facts = typeof factsArb extends fc.Arbitrary<infer F> ? F : never;
const requestArb = fc.record({
  // No key_ref, or one in this registration.
  key: fc.constantFrom<KeyState | undefined>(undefined, undefined, 'absent', 'active', 'active', 'retired', 'compromised'),
  // The requested expiry against now: none, in the past, within 30 days, between 30 and 365, beyond 365.
  expires: fc.constantFrom(undefined, -DAY, 10 * DAY, 100 * DAY, 400 * DAY),
  createOnly: fc.boolean(),
  ifMatch: fc.constantFrom<string[] | undefined>(undefined, undefined, undefined, undefined, undefined, ['*'], ['some-etag']),
  requireRegistered: fc.boolean(),
});

/**
 * The one-statement create against the transaction, for random policies, callers, key registrations and
 * requests — and for a snapshot that may be stale: the plan is judged on one state of the database (what
 * the snapshot read) and the statement runs against another (what another replica made of it since). The
 * statement must never write what the transaction, judging the state the statement ran against, would
 * not write itself; it must write when the snapshot is current and the decision grants; and when it does
 * not write, it leaves no entry and no access-log row behind.
 */
describe('one-statement store ≡ the transaction (judgeStore on what it reads under lock)', () => {
  let vault: TestVault;
  let seq = 0;
  /** How often the statement wrote, and how often it refused to over a changed snapshot: the run must see both. */
  const seen = { stored: 0, staleRefused: 0 };

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    vault.clock.set(NOW);
    await putRetention(vault, 'card');
    await vault.db.query(
      `insert into vault.access_policies (name, description, rules, builtin, created_at, updated_at) values ('prop', 'property test', '{}'::jsonb, false, now(), now())`,
    );
    for (const state of ['active', 'retired', 'compromised'] as const) {
      await vault.db.query(`insert into vault.key_refs (key_ref, status, created_at, updated_at) values ($1, $2, $3, $3)`, [
        keyRefIn(state),
        state,
        NOW.toISOString(),
      ]);
    }
  });
  afterAll(() => vault.close());

  /** Puts `facts` in the database, with fixed timestamps: equal facts give equal digests. */
  async function apply(facts: Facts) {
    await vault.db.query(
      `update vault.retention_policies set max_retention_days = $1, default_ttl_days = $2, store_apps = $3::text::jsonb, updated_at = $4 where purpose = 'card'`,
      [facts.maxDays, facts.ttlDays, facts.storeApps === null ? null : JSON.stringify(facts.storeApps), NOW.toISOString()],
    );
    const rules = { store: facts.store, retrieve: { allow: 'any' }, purge: { allow: 'admin' } };
    await vault.db.query(`update vault.access_policies set rules = $1::text::jsonb where name = 'prop'`, [JSON.stringify(rules)]);
  }

  const sameFacts = (a: Facts, b: Facts) => JSON.stringify(a) === JSON.stringify(b);

  it('writes only what the transaction writes, writes it when the snapshot is current, and else nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        principalArb,
        factsArb,
        fc.option(factsArb, { nil: undefined, freq: 2 }),
        requestArb,
        async (principal, snapshotFacts, changedFacts, request) => {
          const dbFacts = changedFacts ?? snapshotFacts;
          const n = seq++;
          const body = (externalId: string) => ({
            purpose: 'card',
            externalId,
            encryptedValue: `vault:v1:${n}`,
            accessPolicy: 'prop',
            createOnly: request.createOnly,
            ...(request.key !== undefined && { keyRef: keyRefIn(request.key) }),
            ...(request.expires !== undefined && { expiresAt: new Date(NOW.getTime() + request.expires) }),
            ...(request.ifMatch && { ifMatch: request.ifMatch }),
          });

          // The plan, as the service makes it, on what the snapshot read.
          await apply(snapshotFacts);
          const retention = (await loadRetentionSnapshots(vault.db.db)).get('card')!;
          const policy = (await loadPolicySnapshots(vault.db.db)).get('prop')!;
          const keyStates = admittedKeyStates(request.key === undefined ? undefined : keyRefIn(request.key), request.requireRegistered);
          const assumed = keyStates[0];
          let plan: ReturnType<typeof judgeStore> | undefined;
          try {
            if (assumed !== undefined) {
              plan = judgeStore(
                {
                  retention: retention.policy,
                  policy: { name: 'prop', rules: policy.rules },
                  existing: undefined,
                  currentRules: undefined,
                  held: false,
                  key: assumed === 'absent' ? undefined : { status: assumed },
                },
                body(`s-${n}`),
                { actor: principal, now: NOW, requireRegisteredKeys: request.requireRegistered, etag: `s-etag-${n}` },
              );
            }
          } catch (error) {
            if (!(error instanceof VaultError)) throw error;
          }

          // Another replica may have changed the facts since; the statement runs against what is there now.
          await apply(dbFacts);
          const caller = { app: principal.app, identity: principal.identity ?? null, authMethod: principal.method, clientAddr: '127.0.0.1' };
          const statement = plan
            ? await storeInOneStatement(vault.db.db, {
                values: plan.values,
                retentionDigest: retention.digest,
                policyDigest: policy.digest,
                keyStates,
                now: NOW,
                caller: { requestId: `s-${n}`, ...caller },
              })
            : undefined;

          // The transaction, judging what is there now.
          const ctx = {
            ...testJobContext(vault, 'sweeper', { requireRegisteredKeys: request.requireRegistered }),
            actor: principal,
            info: { requestId: `t-${n}`, clientAddr: '127.0.0.1' },
          } as OperationContext;
          const { purpose: _p, externalId, ...rest } = body(`t-${n}`);
          let transaction: { status: number; reason?: string | null; entry?: Record<string, unknown> };
          try {
            const input: StoreInput = { key: { purpose: 'card', externalId }, ...rest };
            const { entry } = await storeEntry({ ctx, input });
            transaction = { status: 201, entry: entry as unknown as Record<string, unknown> };
          } catch (error) {
            if (!(error instanceof RecordedRefusal)) throw error;
            transaction = { status: STATUS_BY_CODE[error.error.code], reason: error.error.reason ?? null };
          }

          const rowsOf = (rid: string) =>
            vault.db.query<{ granted: boolean; status: number; reason: string | null }>(
              'select granted, status, reason from vault.access_log where request_id = $1',
              [rid],
            );
          const sRows = await rowsOf(`s-${n}`);
          const sEntry = await vault.db.query(`select 1 from vault.entries where external_id = $1`, [`s-${n}`]);
          if (statement?.stored) {
            seen.stored++;
            // Never more than the transaction would do, and exactly what it does.
            expect(transaction.status).toBe(201);
            const comparable = (e: Record<string, unknown>) => {
              const { id: _i, externalId: _e, etag: _t, encryptedValue: _v, ownerIdentity: _o, retrievalCount: _r, ...kept } = e;
              return kept;
            };
            expect(comparable(statement.stored as unknown as Record<string, unknown>)).toEqual(comparable(transaction.entry!));
            expect(sRows).toEqual(await rowsOf(`t-${n}`));
            expect(sRows).toEqual([{ granted: true, status: 201, reason: null }]);
          } else {
            if (plan && !sameFacts(snapshotFacts, dbFacts)) seen.staleRefused++;
            expect(sRows).toEqual([]);
            expect(sEntry).toEqual([]);
            // Not written although the snapshot was current and the decision granted: only if the key's
            // registration is one the decision does not admit.
            if (plan && sameFacts(snapshotFacts, dbFacts)) expect(keyStates).not.toContain(request.key ?? 'absent');
          }
          // When the snapshot was current and the decision refused, the transaction refuses too.
          if (!plan && assumed !== undefined && sameFacts(snapshotFacts, dbFacts) && keyStates.includes(request.key ?? 'absent')) {
            expect(transaction.status).not.toBe(201);
          }
        },
      ),
      // A fixed seed: the same 300 cases each run, so the coverage counted below is the same on every run.
      { numRuns: 300, seed: 7 },
    );
    console.log(`store property: ${seen.stored} written, ${seen.staleRefused} refused over a changed snapshot`);
    expect(seen.stored).toBeGreaterThan(5);
    expect(seen.staleRefused).toBeGreaterThan(5);
  });
});
