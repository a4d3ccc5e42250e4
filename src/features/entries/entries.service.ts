import { randomBytes } from 'node:crypto';
import { decide, listGrants, type Decision, type PolicyRules } from '../policies/access-rules';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  NotFoundError,
  PolicyMissingError,
  PreconditionFailedError,
  UnprocessableError,
  ValidationError,
  VaultError,
} from '../../kernel/errors';
import { hasRole, inPurposeScope } from '../../kernel/principal';
import { isGone, type PurgeLogMethod } from '../policies/retention';
import { admittedKeyStates, heldRefusal, isLiveRow, judgeStore, notOwner, storeAppsRefusal, type StoreRequest } from './store-decision';
import { judgeRead, notModifiedBy, type ReadVerdict } from './read-decision';
import { asRead, asStatement, inTransaction, TryAgain, writeBy, type DeferredOutcome, type Outcome } from '../../kernel/executor';
import type { OperationContext } from '../../kernel/context';
import { readAndAudit } from './audited-read.repository';
import { storeInOneStatement } from './store-statement.repository';
import { PolicySnapshots } from './retrieve-verdicts';
import { storeReceipts } from '../purge/purge.service';
import {
  consumeRetrieval,
  findEntryForUpdate,
  findEntryWithRules,
  insertEntry,
  listEntries,
  overwriteEntry,
  type EntryKey,
  type EntryMeta,
} from './entry.repository';
import { findAccessPolicy, findAccessPolicyForShare, findRetentionPolicy, listAccessPolicies } from '../policies/policy.repository';
import { purgeEntrySet } from '../purge/purge.repository';
import { findKeyRef } from '../keys/key.repository';
import { keyRefusal } from '../keys/key-status';
import { isHeld } from '../holds/hold.repository';
import { isUniqueViolation } from '../../storage/transaction';
import type { EntryRow } from '../../storage/schema/index';
import type { Db } from '../../storage/database';

export interface StoreInput extends Omit<StoreRequest, 'purpose' | 'externalId'> {
  key: EntryKey;
}

export type StoredEntry = EntryMeta;

function newEtag(): string {
  return randomBytes(12).toString('base64url');
}

/** A 403 whose detail says which rule refused, worded from the reason (kernel/errors forbiddenDetail). */
const denied = (reason: string) => new ForbiddenError().withReason(reason);

/**
 * Store or replace. Checks run in the documented order — retention policy (422), the purpose's
 * `store_apps` (403), access policy (422), its store rule (403), for a replace the current policy's store
 * and purge rules and ownership (403), preconditions (412), the key_ref's status (422), expiry (422) — all
 * before any write. A replace
 * destroys the version it overwrites, so that version gets a purge-log row with its proof (method
 * `replace`) in the same transaction: no ciphertext leaves the vault without one. Two creators racing on
 * one key: the loser's insert hits the unique index, and the retry sees the winner's row (so
 * `If-None-Match: *` gives exactly one 201).
 */
export async function storeEntry({ ctx, input }: { ctx: OperationContext; input: StoreInput }): Promise<{ entry: StoredEntry; created: boolean }> {
  const once = await storeInOneRoundTrip(ctx, input);
  if (once.stored) {
    ctx.onStore?.('statement');
    return { entry: toMeta(once.stored), created: once.created };
  }
  ctx.onStore?.('transaction');
  const stored = await inTransaction(
    ctx,
    { operation: 'store', purpose: input.key.purpose, externalId: input.key.externalId },
    (tx) => storeOnce(tx, ctx, input),
    {
      retryWhen: isUniqueViolation,
      exhausted: () => new ConflictError('The entry is being written concurrently; retry.').withReason('concurrent_write'),
    },
  );
  // A store granted under a purpose or policy the snapshot lacks proves the snapshot is behind (a
  // purpose created since it was read): reload it. A made-up name is never granted, so never reloads it.
  if (once.notInSnapshot) ctx.policies?.invalidate();
  return stored;
}

/**
 * The common store — a create, or a replace the caller may make — in one statement
 * (store-statement.repository): `judgeStore` decides ahead on what the policy snapshot holds, no row under
 * the key and any key_ref registration the decision admits, and `storeGrants` on each case of a row that
 * may be under it; the statement writes the entry, its access-log row and a replaced version's purge-log
 * row only if all of that holds in its own snapshot. Nothing stored, having written nothing, when it cannot
 * be taken or did not hold — no snapshot of either policy, an Idempotency-Key (its claim needs the
 * transaction), a decision that refuses (the transaction judges and records refusals from what it reads
 * under lock), a row the verdicts do not grant, a hold changing, or facts that changed (the snapshot is
 * dropped) — and the caller runs the transaction.
 */
async function storeInOneRoundTrip(
  ctx: OperationContext,
  input: StoreInput,
): Promise<{ stored?: undefined; notInSnapshot?: boolean } | { stored: EntryRow; created: boolean }> {
  // The app's own snapshots (http/operation-context); any other verdict source has no store facts.
  if (!(ctx.policies instanceof PolicySnapshots) || ctx.idempotency) return {};
  const policies = ctx.policies;
  const now = ctx.clock.now();
  let facts: Awaited<ReturnType<PolicySnapshots['storeFacts']>>;
  let grants: string | undefined;
  try {
    facts = await policies.storeFacts(input.key.purpose, input.accessPolicy);
    if (!facts) return { notInSnapshot: true };
    grants = await policies.storeGrantsFor(ctx.actor, facts, { createOnly: input.createOnly, ifMatch: input.ifMatch !== undefined }, now);
  } catch {
    // The snapshot could not be read (the database is away): the transaction decides, and answers 503 if it cannot.
    return {};
  }
  const keyStates = admittedKeyStates(input.keyRef, ctx.settings.requireRegisteredKeys);
  if (keyStates.length === 0) return {};
  const assumed = keyStates[0]!;
  let plan: ReturnType<typeof judgeStore>;
  try {
    plan = judgeStore(
      {
        retention: facts.retention.policy,
        policy: facts.policy,
        existing: undefined,
        currentRules: undefined,
        held: false,
        key: assumed === 'absent' ? undefined : { status: assumed },
      },
      // If-Match is the statement's to check against the row it finds (no row matches it, so it then creates nothing).
      { ...input, purpose: input.key.purpose, externalId: input.key.externalId, ifMatch: undefined },
      { actor: ctx.actor, now, requireRegisteredKeys: ctx.settings.requireRegisteredKeys, etag: newEtag() },
    );
  } catch (error) {
    if (error instanceof VaultError) return {};
    throw error;
  }
  const principal = ctx.actor;
  const latest = writeBy(ctx);
  const written = await asStatement(ctx, async () => {
    const out = await storeInOneStatement(ctx.db, {
      values: plan.values,
      retentionDigest: facts.retention.digest,
      policyDigest: facts.policy.digest,
      keyStates,
      // No verdict table (more policies than one should carry): a create only; a row under the key falls back.
      ...(grants !== undefined && { grants }),
      ...(input.ifMatch !== undefined && { ifMatch: input.ifMatch }),
      ...(input.expiresAt !== undefined && { requestedExpiry: input.expiresAt }),
      now,
      ...(latest && { writeBy: latest }),
      caller: {
        requestId: ctx.info.requestId,
        app: principal.app,
        identity: principal.identity ?? null,
        authMethod: principal.method,
        clientAddr: ctx.info.clientAddr,
      },
    });
    if (out.stored) return { status: out.status, reason: null, result: { stored: out.stored, created: out.status === 201 } };
    if (!out.factsHeld) policies.invalidate();
    // Late: the transaction that follows finds the deadline passed too and answers 503, writing nothing.
    return { status: 0, reason: out.late ? 'late' : out.factsHeld ? 'not_granted' : 'facts_changed' };
  });
  return written ?? {};
}

/**
 * A store's body (the executor's transaction around it): also run by a batch item. It reads the facts
 * under lock — the policies and the key row shared, the entry's row for update — and `judgeStore`
 * (store-decision.ts) decides; every check comes before any write.
 */
export async function storeOnce(tx: Db, ctx: OperationContext, input: StoreInput): Promise<DeferredOutcome<{ entry: StoredEntry; created: boolean }>> {
  const { purpose, externalId } = input.key;
  const now = ctx.clock.now();
  // The reads go out together (postgres.js pipelines them on the transaction's connection, one round trip
  // instead of several); their answers are still judged in the documented order.
  const [retention, policy, existing, key] = await Promise.all([
    findRetentionPolicy(tx, purpose, 'share'),
    findAccessPolicyForShare(tx, input.accessPolicy),
    findEntryForUpdate(tx, input.key),
    input.keyRef === undefined ? undefined : findKeyRef(tx, input.keyRef, 'share'),
  ]);
  // What only a row under the key makes relevant: the rules it is under now, and whether a hold covers it.
  const live = isLiveRow(existing, retention, now);
  const [current, held] = await Promise.all([
    live && existing.accessPolicy !== input.accessPolicy ? findAccessPolicyForShare(tx, existing.accessPolicy) : undefined,
    existing && existing.purgedAt === null ? isHeld(tx, existing.id) : false,
  ]);
  const plan = judgeStore(
    {
      retention,
      policy,
      existing,
      currentRules: live && existing.accessPolicy === input.accessPolicy ? policy?.rules : current?.rules,
      held,
      key,
    },
    { ...input, purpose, externalId },
    { actor: ctx.actor, now, requireRegisteredKeys: ctx.settings.requireRegisteredKeys, etag: newEtag() },
  );
  if (plan.replaces) {
    // The ciphertext about to be overwritten (live, or expired and not yet swept) gets its proof first,
    // read from the locked row as it is; a shredded tombstone has none left to prove.
    await purgeEntrySet(tx, {
      target: { kind: 'replace', id: plan.replaces.id, reason: `${plan.replaces.why} by ${ctx.actor.app}` },
      now,
      actor: purgeActor(ctx),
      proofs: ctx.settings.purgeProofHash,
      sweepRunId: null,
      auditEach: false,
    });
  }
  const overwrites = plan.overwrites;
  // The write is handed to the executor, which sends it together with the access-log row.
  return {
    status: plan.status,
    write: async () => ({
      entry: toMeta(await (overwrites === undefined ? insertEntry(tx, plan.values) : overwriteEntry(tx, overwrites, plan.values))),
      created: plan.status === 201,
    }),
  };
}

export interface RewrapInput {
  encryptedValue: string;
  keyRef: string;
  algorithmHint?: string;
  /** The versions this re-wrap may replace (If-Match, required). */
  ifMatch: string[];
}

/**
 * POST /vault/{purpose}/{external_id}/rewrap: the same ciphertext re-encrypted under another key (the KMS
 * did that; the vault never sees a key). Only the ciphertext and its key fields change — owner, policy,
 * metadata, created_at, expires_at and the retrieval budget spent stay — so a re-wrap never grants more
 * reads. Checks: unknown (404), the current policy's store and purge rules and ownership (403), expired or
 * shredded (410), If-Match (412), the new key_ref's status (422). The destroyed ciphertext gets its
 * purge-log row and proof (method `rewrap`, the reason naming both key_refs) in the same transaction.
 */
export async function rewrapEntry({ ctx, key, input }: { ctx: OperationContext; key: EntryKey; input: RewrapInput }): Promise<StoredEntry> {
  return inTransaction(ctx, { operation: 'rewrap', purpose: key.purpose, externalId: key.externalId }, (tx) => rewrapOnce(tx, ctx, key, input));
}

/** A re-wrap's body: also run by a batch item. */
export async function rewrapOnce(tx: Db, ctx: OperationContext, key: EntryKey, input: RewrapInput): Promise<DeferredOutcome<StoredEntry>> {
  const now = ctx.clock.now();
  const [retention, existing, newKey] = await Promise.all([
    findRetentionPolicy(tx, key.purpose, 'share'),
    findEntryForUpdate(tx, key),
    findKeyRef(tx, input.keyRef, 'share'),
  ]);
  if (!existing) throw new NotFoundError().withReason('not_found');
  // Writing ciphertext is a store's business: the purpose must still have its policy and, when it reserves
  // stores to named apps, name the caller.
  if (!retention) throw new PolicyMissingError(`No retention policy exists for purpose '${key.purpose}'.`).withReason('no_retention_policy');
  if (retention.storeApps && !retention.storeApps.includes(ctx.actor.app)) {
    throw storeAppsRefusal(key.purpose);
  }
  const policy = await findAccessPolicyForShare(tx, existing.accessPolicy);
  for (const operation of ['store', 'purge'] as const) {
    const verdict = decide(policy?.rules, ctx.actor, { purpose: key.purpose, ownerApp: existing.ownerApp }, operation);
    if (!verdict.allow) throw denied(`rewrap needs the current policy's ${operation} rule: ${verdict.reason}`);
  }
  if (existing.ownerApp !== ctx.actor.app && !hasRole(ctx.actor, 'admin')) throw notOwner('re-wrap');
  if (isGone(existing, now, retention?.maxRetentionDays ?? null)) {
    throw new GoneError('The entry has expired or was purged; there is no ciphertext left to re-wrap.').withReason(existing.purgedAt ? 'purged' : 'expired');
  }
  if (!input.ifMatch.includes(existing.etag)) {
    throw new PreconditionFailedError('The entry does not match If-Match; it was changed since you read it.');
  }
  const keyProblem = keyRefusal(input.keyRef, newKey, ctx.settings.requireRegisteredKeys);
  if (keyProblem) throw keyProblem;
  // A re-wrap that re-encrypts nothing would only make the evidence say it did.
  if (input.encryptedValue === existing.encryptedValue)
    throw new UnprocessableError('The new ciphertext is the old one: nothing was re-wrapped.')
      .withReason('rewrap_unchanged')
      .withProblemCode('rewrap_unchanged');
  if (input.keyRef === existing.keyRef)
    throw new UnprocessableError(`The entry is under key_ref '${input.keyRef}' already: a re-wrap moves it to another key.`)
      .withReason('rewrap_same_key')
      .withProblemCode('rewrap_same_key');
  await purgeEntrySet(tx, {
    target: {
      kind: 'replace',
      method: 'rewrap',
      id: existing.id,
      reason: `re-wrapped from key_ref ${existing.keyRef ?? '(none)'} to ${input.keyRef} by ${ctx.actor.app}`,
    },
    now,
    actor: purgeActor(ctx),
    proofs: ctx.settings.purgeProofHash,
    sweepRunId: null,
    auditEach: false,
  });
  const { id: _id, ...kept } = existing;
  const values = {
    ...kept,
    encryptedValue: input.encryptedValue,
    keyRef: input.keyRef,
    algorithmHint: input.algorithmHint ?? existing.algorithmHint,
    etag: newEtag(),
    updatedAt: now,
    valueWrittenAt: now,
  };
  return {
    status: 200,
    reason: `key_ref ${existing.keyRef ?? '(none)'} -> ${input.keyRef}`,
    write: async () => toMeta(await overwriteEntry(tx, existing.id, values)),
  };
}

function purgeActor(ctx: OperationContext) {
  return {
    app: ctx.actor.app,
    identity: ctx.actor.identity ?? null,
    authMethod: ctx.actor.method,
    clientAddr: ctx.info.clientAddr,
    requestId: ctx.info.requestId,
  };
}

export function toMeta(row: EntryRow): EntryMeta {
  const { encryptedValue: _v, ownerIdentity: _i, retrievalCount: _r, ...meta } = row;
  return meta;
}

/** Shared by GET and HEAD: 404 unknown → 403 by the retrieve rule → 410 expired or shredded. */
async function loadReadable(tx: Db, ctx: OperationContext, key: EntryKey, operation: 'retrieve' | 'exists', ifNoneMatch?: readonly string[]) {
  const found = await findEntryWithRules(tx, key);
  const decision =
    found && decide((found.rules as PolicyRules | null) ?? undefined, ctx.actor, { purpose: key.purpose, ownerApp: found.entry.ownerApp }, 'retrieve');
  // A conditional read whose ETag matches discloses nothing new: judged as HEAD is (a spent budget is
  // still 403), and it spends nothing.
  const notModified = found !== undefined && notModifiedBy(ifNoneMatch, found.entry.etag);
  // A GET spends its budget in its transaction instead of judging the count read here.
  const budget = operation === 'exists' || notModified ? decision : decision?.allow ? { allow: true as const } : decision;
  const verdict = judgeRead({
    ...(found && { entry: found.entry }),
    ...(budget && { decision: budget }),
    maxRetentionDays: found?.maxRetentionDays ?? null,
    now: ctx.clock.now(),
  });
  if (!verdict.allow) throw refusalOf(verdict);
  return { entry: found!.entry, decision: decision!, notModified };
}

function refusalOf(verdict: Extract<ReadVerdict, { allow: false }>) {
  const error = verdict.status === 404 ? new NotFoundError() : verdict.status === 410 ? new GoneError() : denied(verdict.reason);
  return error.withReason(verdict.reason);
}

/**
 * GET and HEAD in one round trip: the verdicts `decide` gives this caller under every known policy go
 * with the read, and the statement applies the one for the entry's policy and writes the access-log row
 * (features/entries/audited-read.repository). Returns undefined, having written nothing, when the statement
 * could not decide — a policy it does not know or that changed (the snapshot is then reloaded), a GET
 * on a retrieval budget that is not a matching conditional GET, or more policies than a table should
 * carry — and the caller takes the two-step path. A granted read whose ETag `ifNoneMatch` lists is
 * recorded as 304 `not_modified` and comes back with `notModified`.
 */
async function readInOneStatement(
  ctx: OperationContext,
  key: EntryKey,
  operation: 'retrieve' | 'exists',
  ifNoneMatch: readonly string[] | undefined,
): Promise<ReadAnswer<EntryRow> | undefined> {
  if (!ctx.policies) return undefined;
  const policies = ctx.policies;
  const principal = ctx.actor;
  const latest = writeBy(ctx);
  return asStatement(ctx, async () => {
    const verdicts = await policies.verdictsFor(principal, key.purpose);
    if (verdicts === undefined) return { status: 0, reason: 'too_many_policies' };
    const caller = { app: principal.app, identity: principal.identity ?? null, authMethod: principal.method, clientAddr: ctx.info.clientAddr };
    // An unconditional read may share its round trip with others queued behind a busy pool (features/entries/shared-reads).
    const out =
      ctx.sharedReads && ifNoneMatch === undefined
        ? await ctx.sharedReads.read({
            key,
            operation,
            requestId: ctx.info.requestId,
            caller,
            verdicts,
            ...(ctx.deadline !== undefined && { deadline: ctx.deadline }),
          })
        : await readAndAudit(ctx.db, {
            key,
            operation,
            verdicts,
            now: ctx.clock.now(),
            caller: { requestId: ctx.info.requestId, ...caller },
            ...(ifNoneMatch !== undefined && { ifNoneMatch }),
            ...(latest && { writeBy: latest }),
          });
    if (out.status === 0 && out.reason === 'policy_changed') policies.invalidate();
    // The row says 304 not_modified; to the executor, which only returns a grant or throws a refusal, it is a grant.
    const notModified = out.status === 304;
    return { status: notModified ? 200 : out.status, reason: out.reason, ...(out.entry && { result: { entry: out.entry, notModified } }) };
  });
}

/**
 * GET: the blob and its metadata, by the one-statement strategy when it can decide, else in a
 * transaction: read, decide, and spend a retrieval budget atomically on the version that was read (the
 * one past the budget is denied). A version replaced, purged or expired between the read and the spend
 * is read again (TryAgain), and after three collisions the answer is 409 changed_during_retrieval.
 * With `ifNoneMatch` (If-None-Match) listing the entry's ETag, a read every check grants is a 304: no
 * blob, no retrieval spent (a spent budget is still a 403, as on HEAD).
 */
export async function retrieveEntry({
  ctx,
  key,
  ifNoneMatch,
}: {
  ctx: OperationContext;
  key: EntryKey;
  ifNoneMatch?: readonly string[];
}): Promise<ReadAnswer<EntryRow>> {
  const answered = await readInOneStatement(ctx, key, 'retrieve', ifNoneMatch);
  if (answered) return answered;
  const target = { operation: 'retrieve' as const, purpose: key.purpose, externalId: key.externalId };
  if (ifNoneMatch === undefined) {
    return { entry: await inTransaction(ctx, target, (tx) => retrieveOnce(tx, ctx, key), { exhausted: retrieveExhausted }), notModified: false };
  }
  return inTransaction(ctx, target, (tx) => retrieveUnlessNotModified(tx, ctx, key, ifNoneMatch), { exhausted: retrieveExhausted });
}

/**
 * What a GET or HEAD answers: the entry, or (`notModified`) that the caller's If-None-Match lists its
 * current ETag — a 304 that was judged like the read itself (404, 403 and 410 first), is audited as a
 * granted read with status 304, sends no blob and spends no retrieval budget.
 */
export interface ReadAnswer<T> {
  entry: T;
  notModified: boolean;
}

/** A conditional GET's two-step body: 304 when the ETag matches (nothing spent), else the GET's own. */
async function retrieveUnlessNotModified(tx: Db, ctx: OperationContext, key: EntryKey, ifNoneMatch: readonly string[]): Promise<Outcome<ReadAnswer<EntryRow>>> {
  const { entry, decision, notModified } = await loadReadable(tx, ctx, key, 'retrieve', ifNoneMatch);
  if (notModified) return { result: { entry, notModified: true }, status: 304, reason: 'not_modified' };
  await spendRetrieval(tx, ctx, entry, decision);
  return { result: { entry, notModified: false }, status: 200 };
}

/** Spends one retrieval of a budgeted rule on the version read: denied past the budget, read again if it changed. */
async function spendRetrieval(tx: Db, ctx: OperationContext, entry: EntryRow, decision: Decision): Promise<void> {
  const max = decision.allow ? decision.maxRetrievals : undefined;
  if (max === undefined) return;
  const spent = await consumeRetrieval(tx, { id: entry.id, etag: entry.etag, max, now: ctx.clock.now() });
  if (spent === 'exhausted') throw denied('retrieval_budget_exhausted');
  if (spent === 'changed') throw new TryAgain('changed_during_retrieval');
}

export const retrieveExhausted = (why: string) => new ConflictError('The entry is being changed concurrently; retry.').withReason(why);

/** A GET's two-step body: read, decide, spend a budget on the version read (TryAgain if it changed). Also a batch item's. */
export async function retrieveOnce(tx: Db, ctx: OperationContext, key: EntryKey): Promise<Outcome<EntryRow>> {
  const { entry, decision } = await loadReadable(tx, ctx, key, 'retrieve');
  await spendRetrieval(tx, ctx, entry, decision);
  return { result: entry, status: 200 };
}

/** A HEAD's two-step body: the answer GET would give, no blob, nothing spent. Also a batch item's. */
export async function existsOnce(db: Db, ctx: OperationContext, key: EntryKey): Promise<Outcome<StoredEntry>> {
  // The same answer GET would give, without spending: a spent budget is a 403 here too (READ_ORDER).
  const { entry } = await loadReadable(db, ctx, key, 'exists');
  return { result: toMeta(entry), status: 200 };
}

/** HEAD: the same answer GET would give (a 304 included), but no blob leaves and no retrieval is counted. */
export async function checkEntry({
  ctx,
  key,
  ifNoneMatch,
}: {
  ctx: OperationContext;
  key: EntryKey;
  ifNoneMatch?: readonly string[];
}): Promise<ReadAnswer<StoredEntry>> {
  const answered = await readInOneStatement(ctx, key, 'exists', ifNoneMatch);
  if (answered) return { entry: toMeta(answered.entry), notModified: answered.notModified };
  const target = { operation: 'exists' as const, purpose: key.purpose, externalId: key.externalId };
  if (ifNoneMatch === undefined) return { entry: await asRead(ctx, target, (db) => existsOnce(db, ctx, key)), notModified: false };
  return asRead(ctx, target, async (db) => {
    const { entry, notModified } = await loadReadable(db, ctx, key, 'exists', ifNoneMatch);
    return { result: { entry: toMeta(entry), notModified }, status: notModified ? 304 : 200, ...(notModified && { reason: 'not_modified' }) };
  });
}

export interface PurgeReceipt {
  purgeLogId: number;
  purpose: string;
  externalId: string;
  method: PurgeLogMethod;
  reason: string;
  purgedAt: Date;
  record: string;
  proof: string | null;
  /** Compact JWS over the proof record, when a signing key is configured. */
  receipt: string | null;
}

/**
 * DELETE: purge now by the purpose's method. The row change, the purge-log row (with its proof) and the
 * access-log row commit together. A shredded entry is already gone (410); an expired one may be purged.
 */
export async function purgeEntry({ ctx, key }: { ctx: OperationContext; key: EntryKey }): Promise<PurgeReceipt> {
  return inTransaction(ctx, { operation: 'purge', purpose: key.purpose, externalId: key.externalId }, (tx) => purgeOnce(tx, ctx, key));
}

/** A DELETE's body: also run by a batch item. */
export async function purgeOnce(tx: Db, ctx: OperationContext, key: EntryKey): Promise<Outcome<PurgeReceipt>> {
  const entry = await findEntryForUpdate(tx, key);
  if (!entry) throw new NotFoundError().withReason('not_found');
  const policy = await findAccessPolicy(tx, entry.accessPolicy);
  const decision = decide(policy?.rules, ctx.actor, { purpose: key.purpose, ownerApp: entry.ownerApp }, 'purge');
  if (!decision.allow) throw denied(decision.reason);
  if (entry.purgedAt) throw new GoneError('The entry was already purged.').withReason('purged');
  if (await isHeld(tx, entry.id)) throw heldRefusal('purged');

  const now = ctx.clock.now();
  const [purged] = await purgeEntrySet(tx, {
    target: { kind: 'one', id: entry.id, reason: `manual purge by ${ctx.actor.app}` },
    now,
    actor: purgeActor(ctx),
    proofs: ctx.settings.purgeProofHash,
    sweepRunId: null,
    auditEach: false,
  });
  if (!purged) throw new GoneError('The entry was already purged.').withReason('purged');
  const receipts = await storeReceipts(tx, ctx.settings.receiptSigner, [purged], now);
  return {
    result: {
      purgeLogId: Number(purged.purge_log_id),
      purpose: key.purpose,
      externalId: key.externalId,
      method: purged.method,
      reason: purged.reason,
      purgedAt: now,
      record: purged.record,
      proof: purged.proof,
      receipt: receipts.get(Number(purged.purge_log_id)) ?? null,
    },
    status: 200,
  };
}

export interface ListInput {
  purpose: string;
  limit: number;
  cursor?: string;
  expiringBefore?: Date;
  fingerprint?: string;
  ownerApp?: string;
  /** Only the live entries under this key_ref (finding the work of a re-keying). */
  keyRef?: string;
}

export function encodeCursor(externalId: string): string {
  return Buffer.from(externalId, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(decoded) || encodeCursor(decoded) !== cursor) {
    throw new ValidationError('The cursor is not one this vault issued.', [{ location: 'query.cursor', message: 'invalid cursor' }]);
  }
  return decoded;
}

/** GET /vault/{purpose}: live entries the caller may retrieve, metadata only, one page. */
export async function listPurposeEntries({
  ctx,
  input,
}: {
  ctx: OperationContext;
  input: ListInput;
}): Promise<{ items: EntryMeta[]; nextCursor: string | null }> {
  const after = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
  return asRead(ctx, { operation: 'list', purpose: input.purpose }, async (tx) => {
    if (!inPurposeScope(ctx.actor, input.purpose)) throw denied('purpose_out_of_scope');
    const policies = new Map((await listAccessPolicies(tx)).map((p) => [p.name, p.rules] as const));
    const rows = await listEntries(tx, {
      purpose: input.purpose,
      app: ctx.actor.app,
      grants: listGrants(policies, ctx.actor, input.purpose),
      now: ctx.clock.now(),
      limit: input.limit,
      ...(after !== undefined && { after }),
      ...(input.expiringBefore && { expiringBefore: input.expiringBefore }),
      ...(input.fingerprint !== undefined && { fingerprint: input.fingerprint }),
      ...(input.ownerApp !== undefined && { ownerApp: input.ownerApp }),
      ...(input.keyRef !== undefined && { keyRef: input.keyRef }),
    });
    const items = rows.slice(0, input.limit);
    const nextCursor = rows.length > input.limit ? encodeCursor(items[items.length - 1]!.externalId) : null;
    return { result: { items, nextCursor }, status: 200, reason: `returned ${items.length}` };
  });
}
