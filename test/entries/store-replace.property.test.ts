import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rule } from '../../src/features/policies/access-rules';
import { storeEntry, type StoreInput } from '../../src/features/entries/entries.service';
import { insertEntry } from '../../src/features/entries/entry.repository';
import { admittedKeyStates, judgeStore, storeGrants, type EntryValues, type KeyState } from '../../src/features/entries/store-decision';
import { storeInOneStatement } from '../../src/features/entries/store-statement.repository';
import { loadPolicySnapshots, loadRetentionSnapshots } from '../../src/features/policies/policy.repository';
import type { OperationContext } from '../../src/kernel/context';
import { STATUS_BY_CODE, VaultError } from '../../src/kernel/errors';
import { RecordedRefusal } from '../../src/kernel/executor';
import { APPS, principalArb as makePrincipalArb, ruleArb, SCOPES } from '../support/arbitraries';
import { createTestVault, testJobContext, type TestVault } from '../support/test-app';
import { putRetention } from '../support/fixtures';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const keyRefIn = (state: KeyState) => `kms/${state}`;

// Mostly rules a store passes, so that a replace (which needs three of them) is granted often enough to be compared.
const storeOrPurgeArb: fc.Arbitrary<Rule> = fc.oneof({ weight: 6, arbitrary: fc.constant<Rule>({ allow: 'any' }) }, { weight: 2, arbitrary: ruleArb });
const principalArb = makePrincipalArb(fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...SCOPES) }));

/** What a snapshot caches and another replica may change: the retention policy, and the store and purge rules of both policies. */
const factsArb = fc.record({
  maxDays: fc.constantFrom(30, 365),
  ttlDays: fc.constantFrom(null, 7, 30),
  storeApps: fc.oneof({ weight: 10, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(['pay'], ['other', 'admin']) }),
  named: fc.record({ store: storeOrPurgeArb, purge: storeOrPurgeArb }),
  current: fc.record({ store: storeOrPurgeArb, purge: storeOrPurgeArb }),
});
type Facts = typeof factsArb extends fc.Arbitrary<infer F> ? F : never;

/** The row under the key: whose, under which policy, in which state, how old. */
const rowArb = fc.record({
  // the caller itself (most often), or one of the apps (maybe the caller too)
  owner: fc.oneof({ weight: 3, arbitrary: fc.constant('self') }, { weight: 2, arbitrary: fc.constantFrom(...APPS) }),
  policy: fc.constantFrom('prop', 'prop-cur'),
  // live, past its own expiry (not yet swept), a crypto-shredded tombstone
  state: fc.constantFrom('live', 'live', 'live', 'expired', 'shredded'),
  // created this long ago: inside either maximum, past 30 days, past 365 days
  ageDays: fc.constantFrom(1, 1, 20, 20, 100, 400),
  sameBytes: fc.boolean(),
  held: fc.constantFrom(false, false, false, false, false, true),
});

const requestArb = fc.record({
  key: fc.constantFrom<KeyState | undefined>(undefined, undefined, undefined, undefined, 'absent', 'active', 'retired'),
  // the requested expiry against now: none, in the past, 10 days, 25 days (past a 20-day-old entry's 30-day ceiling), 100 days
  expires: fc.constantFrom(undefined, undefined, undefined, undefined, -DAY, 10 * DAY, 25 * DAY, 25 * DAY, 100 * DAY),
  createOnly: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  ifMatch: fc.constantFrom<'none' | 'match' | 'star' | 'stale'>('none', 'none', 'none', 'none', 'match', 'match', 'match', 'star', 'stale'),
  requireRegistered: fc.constantFrom(false, false, true),
});

/**
 * The one-statement replace against the transaction: a row under the key (random owner, policy, state,
 * age, hold), random rules and callers and preconditions, and a snapshot that may be stale (the plan and
 * the verdict table judged on one state of the policies, the statement run against another). Two copies
 * of the row, one for each path. The statement must never write what the transaction, judging the state
 * it ran against, would not write — and when it writes, write exactly that: the same entry, the same
 * purge-log record and proof for the version it destroyed, the same access-log row. When the snapshot is
 * current it must write whenever the transaction does. When it does not write it leaves nothing behind.
 */
describe('one-statement replace ≡ the transaction (judgeStore on what it reads under lock)', () => {
  let vault: TestVault;
  let seq = 0;
  const seen = { replaced: 0, overwroteGone: 0, staleRefused: 0, refused: 0 };

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    vault.clock.set(NOW);
    await putRetention(vault, 'card');
    for (const name of ['prop', 'prop-cur']) {
      await vault.db.query(
        `insert into vault.access_policies (name, description, rules, builtin, created_at, updated_at) values ($1, 'property test', '{}'::jsonb, false, now(), now())`,
        [name],
      );
    }
    for (const state of ['active', 'retired'] as const) {
      await vault.db.query(`insert into vault.key_refs (key_ref, status, created_at, updated_at) values ($1, $2, $3, $3)`, [
        keyRefIn(state),
        state,
        NOW.toISOString(),
      ]);
    }
  });
  afterAll(() => vault.close());

  async function apply(facts: Facts) {
    await vault.db.query(
      `update vault.retention_policies set max_retention_days = $1, default_ttl_days = $2, store_apps = $3::text::jsonb, updated_at = $4 where purpose = 'card'`,
      [facts.maxDays, facts.ttlDays, facts.storeApps === null ? null : JSON.stringify(facts.storeApps), NOW.toISOString()],
    );
    for (const [name, rules] of [
      ['prop', facts.named],
      ['prop-cur', facts.current],
    ] as const) {
      await vault.db.query(`update vault.access_policies set rules = $1::text::jsonb where name = $2`, [
        JSON.stringify({ ...rules, retrieve: { allow: 'any' } }),
        name,
      ]);
    }
  }
  const sameFacts = (a: Facts, b: Facts) => JSON.stringify(a) === JSON.stringify(b);

  it('replaces only as the transaction does, exactly as it does, whenever it does on a current snapshot, and else writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        principalArb,
        factsArb,
        // Mostly a current snapshot; else what another replica made of the policies since: of all of them,
        // or of only the policy the entry is under now (the named one's digest still holds then).
        fc.oneof(
          { weight: 6, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: factsArb },
          { weight: 2, arbitrary: fc.record({ store: storeOrPurgeArb, purge: storeOrPurgeArb }).map((current) => ({ current })) },
        ),
        rowArb,
        requestArb,
        async (principal, snapshotFacts, changedFacts, row, request) => {
          const dbFacts: Facts = changedFacts === undefined ? snapshotFacts : { ...snapshotFacts, ...changedFacts };
          const n = seq++;
          const [sId, tId] = [`s-${n}`, `t-${n}`];
          const etag = `etag-${n}`;
          const createdAt = new Date(NOW.getTime() - row.ageDays * DAY);
          const owner = row.owner === 'self' ? principal.app : row.owner;
          const existing = (externalId: string): EntryValues => ({
            purpose: 'card',
            externalId,
            encryptedValue: row.state === 'shredded' ? '' : 'vault:v1:old',
            algorithmHint: 'aes-256-gcm',
            keyRef: null,
            metadata: { n },
            fingerprint: null,
            accessPolicy: row.policy,
            ownerApp: owner,
            ownerIdentity: null,
            etag,
            retrievalCount: 1,
            createdAt,
            updatedAt: new Date(createdAt.getTime() + 1000),
            expiresAt: row.state === 'expired' ? new Date(NOW.getTime() - 1000) : new Date(NOW.getTime() + 5 * DAY),
            purgedAt: row.state === 'shredded' ? new Date(NOW.getTime() - 2000) : null,
            valueWrittenAt: null,
          });
          await insertEntry(vault.db.db, existing(sId));
          await insertEntry(vault.db.db, existing(tId));
          if (row.held) {
            await vault.db.query(
              `insert into vault.legal_holds (name, purpose, external_ids, reason, created_by, created_at, updated_at) values ($1, 'card', $2::text[], 'property', 'admin', now(), now())`,
              [`h-${n}`, `{${sId},${tId}}`],
            );
          }
          const ifMatch = { none: undefined, match: [etag], star: ['*'], stale: ['not-it'] }[request.ifMatch];
          const body = (externalId: string) => ({
            purpose: 'card',
            externalId,
            encryptedValue: row.sameBytes && row.state !== 'shredded' ? 'vault:v1:old' : `vault:v1:new-${n}`,
            accessPolicy: 'prop',
            createOnly: request.createOnly,
            ...(request.key !== undefined && { keyRef: keyRefIn(request.key) }),
            ...(request.expires !== undefined && { expiresAt: new Date(NOW.getTime() + request.expires) }),
            ...(ifMatch && { ifMatch }),
          });

          // The plan and the verdict table, as the service makes them, on what the snapshot read.
          await apply(snapshotFacts);
          const retention = (await loadRetentionSnapshots(vault.db.db)).get('card')!;
          const policies = await loadPolicySnapshots(vault.db.db);
          const named = { name: 'prop', ...policies.get('prop')! };
          const keyStates = admittedKeyStates(request.key === undefined ? undefined : keyRefIn(request.key), request.requireRegistered);
          const assumed = keyStates[0];
          let plan: ReturnType<typeof judgeStore> | undefined;
          try {
            if (assumed !== undefined) {
              plan = judgeStore(
                {
                  retention: retention.policy,
                  policy: named,
                  existing: undefined,
                  currentRules: undefined,
                  held: false,
                  key: assumed === 'absent' ? undefined : { status: assumed },
                },
                // As the service plans it: If-Match is the statement's to check.
                { ...body(sId), ifMatch: undefined },
                { actor: principal, now: NOW, requireRegisteredKeys: request.requireRegistered, etag: `new-${n}` },
              );
            }
          } catch (error) {
            if (!(error instanceof VaultError)) throw error;
          }
          const grants = storeGrants(policies, retention.policy, named, { createOnly: request.createOnly, ifMatch: ifMatch !== undefined }, principal, NOW);

          // The statement against what is there now.
          await apply(dbFacts);
          const caller = { app: principal.app, identity: principal.identity ?? null, authMethod: principal.method, clientAddr: '127.0.0.1' };
          const statement = plan
            ? await storeInOneStatement(vault.db.db, {
                values: plan.values,
                retentionDigest: retention.digest,
                policyDigest: named.digest,
                keyStates,
                grants,
                ...(ifMatch && { ifMatch }),
                ...(request.expires !== undefined && { requestedExpiry: new Date(NOW.getTime() + request.expires) }),
                now: NOW,
                caller: { requestId: sId, ...caller },
              })
            : undefined;

          // The transaction, judging what is there now.
          const ctx = {
            ...testJobContext(vault, 'sweeper', { requireRegisteredKeys: request.requireRegistered }),
            actor: principal,
            info: { requestId: tId, clientAddr: '127.0.0.1' },
          } as OperationContext;
          const { purpose: _p, externalId: _x, ...rest } = body(tId);
          let transaction: { status: number; reason?: string | null };
          try {
            const input: StoreInput = { key: { purpose: 'card', externalId: tId }, ...rest };
            const { created } = await storeEntry({ ctx, input });
            transaction = { status: created ? 201 : 200 };
          } catch (error) {
            if (!(error instanceof RecordedRefusal)) throw error;
            transaction = { status: STATUS_BY_CODE[error.error.code], reason: error.error.reason ?? null };
          }

          const entryOf = async (id: string) => {
            const [e] = await vault.db.query<Record<string, unknown>>(
              `select encrypted_value, algorithm_hint, key_ref, metadata, fingerprint, access_policy, owner_app, owner_identity, retrieval_count,
                      created_at, updated_at, expires_at, purged_at, value_written_at, etag
                 from vault.entries where external_id = $1`,
              [id],
            );
            const { etag: _e, ...kept } = e!;
            return { kept, etag: e!.etag };
          };
          const purgesOf = (id: string) =>
            vault.db.query<{ method: string; reason: string; record: string; proof: string | null; request_id: string }>(
              'select method, reason, replace(record, $1, $2) as record, proof is not null as proof, request_id from vault.purge_log where external_id = $1',
              [id, 'X'],
            );
          const logOf = (rid: string) => vault.db.query('select granted, status, reason, app, identity from vault.access_log where request_id = $1', [rid]);
          const [sEntry, tEntry] = [await entryOf(sId), await entryOf(tId)];
          const [sPurges, tPurges] = [await purgesOf(sId), await purgesOf(tId)];

          if (statement?.stored) {
            if (statement.status === 200) seen.replaced++;
            else seen.overwroteGone++;
            // Never more than the transaction would do, and exactly what it does.
            expect(transaction.status).toBe(statement.status);
            expect(sEntry.kept).toEqual(tEntry.kept);
            expect(sPurges.map(({ request_id: _r, ...p }) => p)).toEqual(tPurges.map(({ request_id: _r, ...p }) => p));
            expect(sPurges.map((p) => p.request_id)).toEqual(row.state === 'shredded' ? [] : [sId]);
            expect(await logOf(sId)).toEqual(await logOf(tId));
          } else {
            if (plan && !sameFacts(snapshotFacts, dbFacts)) seen.staleRefused++;
            else seen.refused++;
            // Nothing written: the row as it was, no purge-log row, no access-log row.
            const { externalId: _x2, etag: _t, metadata, ...was } = existing(sId);
            expect(sEntry.etag).toBe(etag);
            expect(sEntry.kept.metadata).toEqual(metadata);
            expect(sEntry.kept.encrypted_value).toBe(was.encryptedValue);
            expect(sPurges).toEqual([]);
            expect(await logOf(sId)).toEqual([]);
            // Not written although the snapshot was current: only when the transaction does not write
            // either, or the key's registration is one the plan does not admit. (A create the rules refuse
            // is never planned, and never needs to be: no rule grants a replace it refuses a create — a
            // replace is judged with the entry's owner, a create with none, which `owner` admits.)
            if (sameFacts(snapshotFacts, dbFacts) && keyStates.includes(request.key ?? 'absent')) {
              expect([200, 201]).not.toContain(transaction.status);
            }
          }
          if (row.held) await vault.db.query('delete from vault.legal_holds where name = $1', [`h-${n}`]);
        },
      ),
      { numRuns: 400, seed: 11 },
    );
    console.log(
      `replace property: ${seen.replaced} replaced, ${seen.overwroteGone} gone rows overwritten, ${seen.staleRefused} not written over a changed snapshot, ${seen.refused} not written on a current one`,
    );
    expect(seen.replaced).toBeGreaterThan(10);
    expect(seen.overwroteGone).toBeGreaterThan(3);
    expect(seen.staleRefused).toBeGreaterThan(5);
  });
});
