import { UnprocessableError, ConflictError } from '../../kernel/errors';

export type KeyStatus = 'active' | 'retired' | 'compromised';
export const KEY_STATUSES: readonly KeyStatus[] = ['active', 'retired', 'compromised'];

const RANK: Record<KeyStatus, number> = { active: 0, retired: 1, compromised: 2 };

/** Pure: a status may go active → retired → compromised, or active → compromised; never back. */
export function canMove(from: KeyStatus, to: KeyStatus): boolean {
  return RANK[to] >= RANK[from];
}

export function statusChangeRefusal(from: KeyStatus, to: KeyStatus): ConflictError {
  return new ConflictError(`A key's status never goes back: '${from}' cannot become '${to}'. Register a new key_ref instead.`)
    .withReason('key_status_backwards')
    .withProblemCode('key_status_backwards');
}

/**
 * Pure: whether new ciphertext may be written under a key_ref (a store or a re-wrap, PCI DSS 3.7.5):
 * never under a retired or compromised one; with `requireRegistered`, only under a registered one.
 * Undefined when it may; else the 422 to answer.
 */
export function keyRefusal(
  keyRef: string | undefined,
  registered: { status: KeyStatus } | undefined,
  requireRegistered: boolean,
): UnprocessableError | undefined {
  if (keyRef === undefined) {
    return requireRegistered
      ? new UnprocessableError('This vault requires a registered key_ref on every store (keys.require_registered).')
          .withReason('key_ref_required')
          .withProblemCode('key_ref_required')
      : undefined;
  }
  if (!registered) {
    return requireRegistered
      ? new UnprocessableError(`key_ref '${keyRef}' is not registered; an admin registers it with PUT /admin/keys/{key_ref}.`)
          .withReason('key_unregistered')
          .withProblemCode('key_unregistered')
      : undefined;
  }
  if (registered.status === 'retired')
    return new UnprocessableError(`key_ref '${keyRef}' is retired: no new data may be protected under it.`)
      .withReason('key_retired')
      .withProblemCode('key_retired');
  if (registered.status === 'compromised')
    return new UnprocessableError(`key_ref '${keyRef}' is compromised: no new data may be protected under it.`)
      .withReason('key_compromised')
      .withProblemCode('key_compromised');
  return undefined;
}
