import { NotFoundError } from '../../kernel/errors';
import { isUniqueViolation } from '../../storage/transaction';
import type { Db } from '../../storage/database';
import { inTransaction } from '../../kernel/executor';
import type { OperationContext } from '../../kernel/context';
import { canMove, statusChangeRefusal, type KeyStatus } from './key-status';
import { findKeyRef, keyUsage, listKeyRefs, upsertKeyRef, type KeyRef } from './key.repository';

export interface KeyInput {
  keyRef: string;
  status: KeyStatus;
  cryptoperiodDays?: number;
  description?: string | null;
}

/** What a key's change record says of it: status, cryptoperiod, description. */
const terms = (k: Pick<KeyRef, 'status' | 'cryptoperiodDays' | 'description'>) =>
  JSON.stringify({ status: k.status, cryptoperiod_days: k.cryptoperiodDays, description: k.description });

/**
 * PUT /admin/keys/{key_ref} (admin): register a key reference or move it forward. The row is locked for
 * update, so stores naming the key (which share-lock it) wait and then see the new status. The access-log
 * row carries the old and the new terms. A status going back is a 409 (and a trigger refuses it too).
 */
export async function putKey({ ctx, input }: { ctx: OperationContext; input: KeyInput }): Promise<{ key: KeyRef; created: boolean }> {
  return inTransaction(ctx, { operation: 'key.put' }, async (tx) => putKeyOnce(tx, ctx, input), {
    // Two first registrations of one key_ref: the loser's insert hits the primary key, and its retry sees the row.
    retryWhen: isUniqueViolation,
  });
}

async function putKeyOnce(tx: Db, ctx: OperationContext, input: KeyInput) {
  const before = await findKeyRef(tx, input.keyRef, 'update');
  if (before && !canMove(before.status, input.status)) throw statusChangeRefusal(before.status, input.status);
  const next = {
    keyRef: input.keyRef,
    status: input.status,
    cryptoperiodDays: input.cryptoperiodDays ?? before?.cryptoperiodDays ?? null,
    description: input.description === undefined ? (before?.description ?? null) : input.description,
    now: ctx.clock.now(),
  };
  const key = await upsertKeyRef(tx, next, before !== undefined);
  return {
    result: { key, created: before === undefined },
    status: before ? 200 : 201,
    reason: `key ${input.keyRef}: old ${before ? terms(before) : 'none'} new ${terms(key)}`,
  };
}

export interface KeyView {
  key: KeyRef;
  liveEntries: number;
  oldestCiphertext: Date | null;
  pastCryptoperiod: number;
}

/** GET /admin/keys/{key_ref} (admin, auditor): the key and what still sits under it. */
export async function getKey({ ctx, keyRef }: { ctx: OperationContext; keyRef: string }): Promise<KeyView> {
  return inTransaction(ctx, { operation: 'key.get' }, async (tx) => {
    const key = await findKeyRef(tx, keyRef);
    if (!key) throw new NotFoundError(`key_ref '${keyRef}' is not registered.`).withReason('not_found');
    const usage = await keyUsage(tx, keyRef, ctx.clock.now(), key.cryptoperiodDays);
    return { result: { key, ...usage }, status: 200, reason: keyRef };
  });
}

/** GET /admin/keys (admin, auditor): registered keys by key_ref, a page at a time. */
export async function listKeys({ ctx, after, limit }: { ctx: OperationContext; after?: string; limit: number }) {
  return inTransaction(ctx, { operation: 'key.list' }, async (tx) => {
    const rows = await listKeyRefs(tx, after, limit);
    const items = rows.slice(0, limit);
    return { result: { items, nextCursor: rows.length > limit ? (items[items.length - 1]?.keyRef ?? null) : null }, status: 200 };
  });
}
