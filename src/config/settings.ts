import type { VaultSettings } from '../kernel/context';
import type { Signer } from '../kernel/signer';
import type { VaultConfig } from './config-schema';

/** The one place configuration values become the settings everything else receives. */
export function settingsFrom(config: Readonly<VaultConfig>, receiptSigner?: Signer, auditSigner?: Signer): VaultSettings {
  return {
    purgeProofHash: config.purge.purge_proof_hash,
    maxValueBytes: config.limits.max_value_bytes,
    maxMetadataBytes: config.limits.max_metadata_bytes,
    listMaxLimit: config.limits.list_max_limit,
    batchMaxOperations: config.limits.batch_max_operations,
    sweepBatchSize: config.purge.batch_size,
    sweepConcurrency: config.purge.sweep_concurrency,
    seal: { graceSeconds: config.audit.seal_grace_seconds, maxRows: config.audit.seal_max_rows },
    auditRetentionDays: config.audit.retention_days,
    requireRegisteredKeys: config.keys.require_registered,
    ...(receiptSigner && { receiptSigner }),
    ...(auditSigner && { auditSigner }),
  };
}
