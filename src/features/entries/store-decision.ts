import { decide, type PolicyRules } from '../policies/access-rules';
import { isGone, resolveExpiry, type RetentionPolicy } from '../policies/retention';
import { keyRefusal, KEY_STATUSES, type KeyStatus } from '../keys/key-status';
import { ConflictError, ForbiddenError, PolicyMissingError, PreconditionFailedError, VaultError } from '../../kernel/errors';
import { hasRole, type Principal } from '../../kernel/principal';

/** What a store asks: the request's own part (entries.service `StoreInput` is this plus its key). */
export interface StoreRequest {
  purpose: string;
  externalId: string;
  encryptedValue: string;
  algorithmHint?: string;
  keyRef?: string;
  metadata?: Record<string, unknown>;
  expiresAt?: Date;
  accessPolicy: string;
  fingerprint?: string;
  /** `If-None-Match: *`: create only. */
  createOnly: boolean;
  /** `If-Match` entity tags (unquoted); replace only that version. */
  ifMatch?: string[];
}

/**
 * Everything a store is judged on, as the database holds it: the purpose's retention policy, the access
 * policy the body names, the row under the key (live, expired, or a shredded tombstone), the rules of the
 * policy that row is under now, whether a legal hold covers it, and the key_ref's registration.
 */
export interface StoreFacts {
  retention: RetentionPolicy | undefined;
  policy: { name: string; rules: PolicyRules } | undefined;
  existing: ExistingEntry | undefined;
  /** The rules of `existing.accessPolicy` (undefined: that policy no longer exists). */
  currentRules: PolicyRules | undefined;
  held: boolean;
  key: { status: KeyStatus } | undefined;
}

/** An entry's stored columns, as a store writes them (the schema's row without its id; storage holds them equal). */
export interface EntryValues {
  purpose: string;
  externalId: string;
  encryptedValue: string;
  algorithmHint: string | null;
  keyRef: string | null;
  metadata: Record<string, unknown> | null;
  fingerprint: string | null;
  accessPolicy: string;
  ownerApp: string;
  ownerIdentity: string | null;
  etag: string;
  retrievalCount: number;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
  purgedAt: Date | null;
  valueWrittenAt: Date | null;
}

/** The row under the key, as a store judges it. */
export type ExistingEntry = EntryValues & { id: number };

/** What a granted store does: write `values` (over `existing`, when there is one), and first destroy the version it replaces. */
export interface StorePlan {
  status: 200 | 201;
  values: EntryValues;
  /** The version this write destroys (live, or expired and not yet swept), which gets its purge-log row and proof first. */
  replaces?: { id: number; why: 'replaced' | 'expired, replaced' };
  /** A row is overwritten (a replace, or a shredded tombstone re-used); else inserted. */
  overwrites?: number;
}

/** A 403 whose detail says which rule refused, worded from the reason (kernel/errors forbiddenDetail). */
const denied = (reason: string) => new ForbiddenError().withReason(reason);

const storeAppsDetail = (purpose: string) =>
  `Denied by store_apps: purpose '${purpose}' is reserved to the apps its retention policy names, and this app is not one of them.`;

/** 403 by ownership: only the app that stored an entry, or an admin, may overwrite its ciphertext. */
export const notOwner = (what: 'replace' | 're-wrap') =>
  new ForbiddenError(`Denied by ownership: only the app that stored the entry, or an admin, may ${what} it.`).withReason('not_owner');

/** 409 legal_hold: the entry is kept by a legal hold; nothing may destroy it until the hold is released. */
export const heldRefusal = (what: 'purged' | 'replaced') =>
  new ConflictError(`The entry is under a legal hold and cannot be ${what} until the hold is released.`).withReason('legal_hold').withProblemCode('legal_hold');

export const storeAppsRefusal = (purpose: string) => new ForbiddenError(storeAppsDetail(purpose)).withReason('purpose_reserved');

/** Whether the row under the key is a live entry (neither shredded nor past its expiry or its purpose's maximum). */
export function isLiveRow<E extends ExistingEntry>(existing: E | undefined, retention: RetentionPolicy | undefined, now: Date): existing is E {
  return existing !== undefined && !isGone(existing, now, retention?.maxRetentionDays ?? null);
}

/**
 * The store decision, pure and total: the first check that refuses throws its domain error, in this
 * order (the documented one) —
 *
 * 1. no retention policy for the purpose → 422 `no_retention_policy`
 * 2. the purpose's `store_apps` does not name the caller → 403 `purpose_reserved` (admin included)
 * 3. the body's access policy does not exist → 422 `unknown_access_policy`
 * 4. its store rule refuses the caller (owner: the live entry's, else the caller) → 403
 * 5. a row exists that another app stored and the caller is not admin → 403 `not_owner`
 * 6. replacing a live entry: the store and purge rules of the policy it is under now → 403
 * 7. `If-None-Match: *` and a live entry → 412; `If-Match` that does not list the live entry's ETag → 412
 * 8. the version it would destroy is under a legal hold → 409 `legal_hold`
 * 9. the key_ref may not take new data (3.7.5) → 422
 * 10. the expiry is outside the purpose's bounds → 422 `retention_violation`
 *
 * — else the plan: 201 and an insert (or the re-use of a tombstone), or 200 and a replace that destroys
 * the version it overwrites. The transaction (entries.service `storeOnce`) judges the facts it read under
 * lock; the one-statement store (store-statement.repository) judges facts it assumes and has the
 * statement verify them in the same snapshot as its write.
 */
export function judgeStore(
  facts: StoreFacts,
  input: StoreRequest,
  ctx: { actor: Principal; now: Date; requireRegisteredKeys: boolean; etag: string },
): StorePlan {
  const { purpose } = input;
  const { retention, policy, existing } = facts;
  const { actor, now } = ctx;
  if (!retention) {
    throw new PolicyMissingError(
      `No retention policy exists for purpose '${purpose}'. An admin creates one with PUT /admin/retention-policies/${purpose}.`,
    ).withReason('no_retention_policy');
  }
  if (retention.storeApps && !retention.storeApps.includes(actor.app)) throw storeAppsRefusal(purpose);
  if (!policy) {
    throw new PolicyMissingError(
      `Access policy '${input.accessPolicy}' does not exist. Use a built-in policy or create it with PUT /admin/access-policies/${input.accessPolicy}.`,
    ).withReason('unknown_access_policy');
  }
  const live = isLiveRow(existing, retention, now);
  const owner = live ? existing.ownerApp : undefined;
  const decision = decide(policy.rules, actor, { purpose, ...(owner !== undefined && { ownerApp: owner }) }, 'store');
  if (!decision.allow) throw denied(decision.reason);

  if (existing && existing.ownerApp !== actor.app && !hasRole(actor, 'admin')) throw notOwner('replace');
  if (live) {
    // A replace is a purge of the current version plus a store: the rules of the policy the entry is under
    // now must allow both, whatever policy the new body names.
    const current = existing.accessPolicy === policy.name ? policy.rules : facts.currentRules;
    for (const operation of ['store', 'purge'] as const) {
      const verdict = decide(current, actor, { purpose, ownerApp: existing.ownerApp }, operation);
      if (!verdict.allow) throw denied(`replace needs the current policy's ${operation} rule: ${verdict.reason}`);
    }
  }
  if (input.createOnly && live) throw new PreconditionFailedError('An entry already exists under this key (If-None-Match: *).');
  if (input.ifMatch && !(live && (input.ifMatch.includes('*') || input.ifMatch.includes(existing.etag)))) {
    throw new PreconditionFailedError('The entry does not match If-Match; it was changed, purged or never existed.');
  }
  // A replace destroys the ciphertext it overwrites (live, or expired and not yet swept): not under a legal hold.
  const destroys = existing !== undefined && existing.purgedAt === null;
  if (destroys && facts.held) throw heldRefusal('replaced');
  // No new data under a retired or compromised key (PCI DSS 3.7.5).
  const keyProblem = keyRefusal(input.keyRef, facts.key, ctx.requireRegisteredKeys);
  if (keyProblem) throw keyProblem;

  const createdAt = live ? existing.createdAt : now;
  const expiresAt = resolveExpiry(retention, input.expiresAt, now, createdAt);
  const values: EntryValues = {
    purpose,
    externalId: input.externalId,
    encryptedValue: input.encryptedValue,
    algorithmHint: input.algorithmHint ?? null,
    keyRef: input.keyRef ?? null,
    metadata: input.metadata ?? null,
    fingerprint: input.fingerprint ?? null,
    accessPolicy: policy.name,
    ownerApp: live ? existing.ownerApp : actor.app,
    ownerIdentity: live ? existing.ownerIdentity : (actor.identity ?? null),
    etag: ctx.etag,
    retrievalCount: 0,
    createdAt,
    updatedAt: now,
    expiresAt,
    purgedAt: null,
    // The ciphertext's age is what a cryptoperiod is measured against: writing the same bytes again does not renew it.
    valueWrittenAt: live && existing.encryptedValue === input.encryptedValue ? (existing.valueWrittenAt ?? existing.updatedAt) : now,
  };
  return {
    status: live ? 200 : 201,
    values,
    ...(destroys && { replaces: { id: existing.id, why: live ? 'replaced' : 'expired, replaced' } }),
    ...(existing && { overwrites: existing.id }),
  };
}

/** A key_ref's registration as the store statement sees it: one of the statuses, or not registered. */
export type KeyState = KeyStatus | 'absent';
const KEY_STATES: readonly KeyState[] = ['absent', ...KEY_STATUSES];
const admittedByCase = new Map<string, readonly KeyState[]>();

/**
 * The registrations of a key_ref under which `keyRefusal` lets a store through — what the one-statement
 * store checks the key's row against. It depends only on whether the body names a key_ref and on
 * keys.require_registered, so it is worked out once per case.
 */
export function admittedKeyStates(keyRef: string | undefined, requireRegistered: boolean): readonly KeyState[] {
  const named = keyRef !== undefined;
  const cacheKey = `${named}:${requireRegistered}`;
  let states = admittedByCase.get(cacheKey);
  if (!states) {
    states = KEY_STATES.filter((s) => keyRefusal(named ? 'k' : undefined, s === 'absent' ? undefined : { status: s }, requireRegistered) === undefined);
    admittedByCase.set(cacheKey, states);
  }
  return states;
}

/**
 * Whether `judgeStore` grants this store over a row under the key, in each case the one-statement store
 * tells apart — the row live and under policy P (one of the snapshot's), owned by the caller or not, or
 * gone (expired, or a shredded tombstone), owned by the caller or not — as the JSON that statement takes:
 * `{"live": {"<P>": {"digest": …, "owner": bool, "other": bool}}, "gone": {"owner": bool, "other": bool}}`.
 * Each verdict is `judgeStore` itself on a row made for that case, with every fact the statement checks
 * on its own set so that it passes: an ETag the request's If-Match lists (the statement compares the real
 * one), no hold (it looks for one), a created_at of now (it bounds the expiry by the real one), no key_ref
 * (it checks the registration). The retention policy, the named access policy, the caller and the
 * request's preconditions are the ones the plan was judged on, so a verdict is true only when the store
 * would be granted over a row of that case.
 */
export function storeGrants(
  policies: ReadonlyMap<string, { rules: PolicyRules; digest: string }>,
  retention: RetentionPolicy,
  policy: { name: string; rules: PolicyRules },
  request: { createOnly: boolean; ifMatch: boolean },
  actor: Principal,
  now: Date,
): string {
  const etag = 'the-etag';
  const input: StoreRequest = {
    purpose: retention.purpose,
    externalId: 'x',
    encryptedValue: 'new',
    accessPolicy: policy.name,
    createOnly: request.createOnly,
    ...(request.ifMatch && { ifMatch: [etag] }),
  };
  const grants = (existing: ExistingEntry, currentRules: PolicyRules | undefined, status: 200 | 201): boolean => {
    try {
      return (
        judgeStore({ retention, policy, existing, currentRules, held: false, key: undefined }, input, { actor, now, requireRegisteredKeys: false, etag })
          .status === status
      );
    } catch (error) {
      if (error instanceof VaultError) return false;
      throw error;
    }
  };
  const row = (ownerApp: string, accessPolicy: string, gone: boolean): ExistingEntry => ({
    id: 1,
    purpose: retention.purpose,
    externalId: 'x',
    encryptedValue: 'old',
    algorithmHint: null,
    keyRef: null,
    metadata: null,
    fingerprint: null,
    accessPolicy,
    ownerApp,
    ownerIdentity: null,
    etag,
    retrievalCount: 0,
    createdAt: now,
    updatedAt: now,
    expiresAt: gone ? now : new Date(now.getTime() + 1),
    purgedAt: null,
    valueWrittenAt: now,
  });
  // An owner that cannot be the caller (app names never contain NUL).
  const other = `\u0000${actor.app}`;
  const live: Record<string, { digest: string; owner: boolean; other: boolean }> = {};
  for (const [name, { rules, digest }] of policies) {
    live[name] = { digest, owner: grants(row(actor.app, name, false), rules, 200), other: grants(row(other, name, false), rules, 200) };
  }
  return JSON.stringify({
    live,
    gone: { owner: grants(row(actor.app, policy.name, true), undefined, 201), other: grants(row(other, policy.name, true), undefined, 201) },
  });
}
