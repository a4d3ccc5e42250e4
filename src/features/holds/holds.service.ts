import { NotFoundError } from '../../kernel/errors';
import { inTransaction } from '../../kernel/executor';
import type { OperationContext } from '../../kernel/context';
import { policyDigest } from '../policies/policy.service';
import { deleteHold, findHold, holdFigures, listHolds, upsertHold, type LegalHold } from './hold.repository';

export interface HoldInput {
  name: string;
  purpose: string;
  externalIds?: string[];
  ownerApp?: string;
  reason: string;
  caseRef?: string;
}

/** What a hold covers and why, as its change's audit row digests it. */
const terms = (h: Pick<LegalHold, 'purpose' | 'externalIds' | 'ownerApp' | 'reason' | 'caseRef'>) => ({
  purpose: h.purpose,
  external_ids: h.externalIds,
  owner_app: h.ownerApp,
  reason: h.reason,
  case_ref: h.caseRef,
});
/** The terms in words (what a QSA reads after the hold is gone), with a digest that covers the id list too. */
const described = (h: LegalHold) =>
  `{purpose ${h.purpose}${h.ownerApp ? `, owner_app ${h.ownerApp}` : ''}, ${h.externalIds ? `${h.externalIds.length} named entries` : 'every entry'}, ` +
  `reason ${JSON.stringify(h.reason)}${h.caseRef ? `, case_ref ${JSON.stringify(h.caseRef)}` : ''}, ${policyDigest(terms(h))}}`;
const change = (name: string, before: LegalHold | undefined, after: LegalHold | undefined) =>
  `hold ${name}: old ${before ? described(before) : 'none'} new ${after ? described(after) : 'none'}`;

/**
 * PUT /admin/holds/{name} (admin): place or change a legal hold. It takes the holds lock exclusive, so a
 * purge, replace or sweep batch in flight finishes first and every later one sees the hold.
 */
export async function putHold({ ctx, input }: { ctx: OperationContext; input: HoldInput }) {
  const placed = await inTransaction(ctx, { operation: 'hold.put', purpose: input.purpose }, async (tx) => {
    const before = await findHold(tx, input.name, true);
    const hold = await upsertHold(
      tx,
      {
        name: input.name,
        purpose: input.purpose,
        externalIds: input.externalIds ? [...new Set(input.externalIds)].sort() : null,
        ownerApp: input.ownerApp ?? null,
        reason: input.reason,
        caseRef: input.caseRef ?? null,
        createdBy: before?.createdBy ?? ctx.actor.app,
        now: ctx.clock.now(),
      },
      before !== undefined,
    );
    return { result: { hold, created: before === undefined }, status: before ? 200 : 201, reason: change(input.name, before, hold) };
  });
  // Counted after the hold stands and its lock is released: counting a large purpose must not stall purges elsewhere.
  const figures = (await holdFigures(ctx.db, ctx.clock.now(), input.name)).get(input.name) ?? { kept: 0, pastRetention: 0 };
  return { ...placed, figures };
}

/** GET /admin/holds/{name} (admin, auditor): the hold, how many entries it keeps, how many of them are past their retention. */
export async function getHold({ ctx, name }: { ctx: OperationContext; name: string }) {
  return inTransaction(ctx, { operation: 'hold.get' }, async (tx) => {
    const hold = await findHold(tx, name);
    if (!hold) throw new NotFoundError(`No legal hold named '${name}'.`).withReason('not_found');
    const figures = (await holdFigures(tx, ctx.clock.now(), name)).get(name) ?? { kept: 0, pastRetention: 0 };
    return { result: { hold, figures }, status: 200, reason: name };
  });
}

export async function listAllHolds({ ctx }: { ctx: OperationContext }) {
  return inTransaction(ctx, { operation: 'hold.list' }, async (tx) => {
    const figures = await holdFigures(tx, ctx.clock.now());
    const holds = await listHolds(tx);
    return { result: holds.map((hold) => ({ hold, figures: figures.get(hold.name) ?? { kept: 0, pastRetention: 0 } })), status: 200 };
  });
}

/** DELETE /admin/holds/{name} (admin): release. The next sweep purges what is due, with proofs as usual. */
export async function releaseHold({ ctx, name }: { ctx: OperationContext; name: string }) {
  return inTransaction(ctx, { operation: 'hold.delete' }, async (tx) => {
    const before = await findHold(tx, name, true);
    if (!before) throw new NotFoundError(`No legal hold named '${name}'.`).withReason('not_found');
    await deleteHold(tx, name);
    return { result: undefined, status: 204, reason: change(name, before, undefined) };
  });
}
