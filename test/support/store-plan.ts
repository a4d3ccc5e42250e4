import { admittedKeyStates, judgeStore, type KeyState } from '../../src/features/entries/store-decision';
import type { StatementStoreInput } from '../../src/features/entries/store-statement.repository';
import { loadPolicySnapshots, loadRetentionSnapshots } from '../../src/features/policies/policy.repository';
import type { Principal } from '../../src/kernel/principal';
import type { VaultMetrics } from '../../src/metrics/vault-metrics';
import type { TestVault } from './test-app';

/**
 * A create planned as the service plans it (`judgeStore` on the policies as the database holds them now,
 * no row under the key, the first admitted key registration), ready for `storeInOneStatement`.
 */
export async function plannedCreate(
  vault: TestVault,
  o: { purpose?: string; externalId: string; accessPolicy?: string; keyRef?: string; requireRegistered?: boolean; actor?: Principal },
): Promise<StatementStoreInput> {
  const purpose = o.purpose ?? 'card';
  const accessPolicy = o.accessPolicy ?? 'owner-only';
  const actor: Principal = o.actor ?? { kind: 'principal', app: 'pay', roles: [], method: 'api_key' };
  const requireRegistered = o.requireRegistered ?? false;
  const retention = (await loadRetentionSnapshots(vault.db.db)).get(purpose)!;
  const policy = (await loadPolicySnapshots(vault.db.db)).get(accessPolicy)!;
  const keyStates = admittedKeyStates(o.keyRef, requireRegistered);
  const assumed: KeyState | undefined = keyStates[0];
  const now = vault.clock.now();
  const plan = judgeStore(
    {
      retention: retention.policy,
      policy: { name: accessPolicy, rules: policy.rules },
      existing: undefined,
      currentRules: undefined,
      held: false,
      key: assumed === undefined || assumed === 'absent' ? undefined : { status: assumed },
    },
    { purpose, externalId: o.externalId, encryptedValue: 'vault:v1:abc', accessPolicy, createOnly: false, ...(o.keyRef !== undefined && { keyRef: o.keyRef }) },
    { actor, now, requireRegisteredKeys: requireRegistered, etag: `etag-${o.externalId}` },
  );
  return {
    values: plan.values,
    retentionDigest: retention.digest,
    policyDigest: policy.digest,
    keyStates,
    now,
    caller: { requestId: `rid-${o.externalId}`, app: actor.app, identity: actor.identity ?? null, authMethod: actor.method, clientAddr: '127.0.0.1' },
  };
}

/** The PUTs a vault has written so far on each path (`vault_stores_total{path}`). */
export function storePaths(metrics: VaultMetrics): { statement: number; transaction: number } {
  const lines = metrics.expose().split('\n');
  const n = (path: string) =>
    Number(
      lines
        .find((l) => l.startsWith(`vault_stores_total{path="${path}"}`))
        ?.split(' ')
        .pop() ?? 0,
    );
  return { statement: n('statement'), transaction: n('transaction') };
}
