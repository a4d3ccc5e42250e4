import type { Logger } from '../logging/logger';
import type { Db } from '../storage/database';
import type { RequestInfo } from './audit';
import type { Clock } from './clock';
import type { Principal } from './principal';
import type { Signer } from './signer';

/**
 * The settings verbs, routes and jobs need, derived from the configuration in one place
 * (config/settings.ts `settingsFrom`) and passed down; nothing re-reads the configuration.
 */
export interface VaultSettings {
  purgeProofHash: boolean;
  /** Largest `encrypted_value` and serialized `metadata`, in bytes (413 beyond). */
  maxValueBytes: number;
  maxMetadataBytes: number;
  listMaxLimit: number;
  sweepBatchSize: number;
  sweepConcurrency: number;
  seal: { graceSeconds: number; maxRows: number };
  /** Signs purge receipts when purge.signing_key_file is configured. */
  receiptSigner?: Signer;
}

/**
 * Where one-statement reads get the caller's verdict table (features/entries/retrieve-verdicts
 * PolicySnapshots); undefined = too many policies to send. `invalidate` after a read found it stale.
 */
export interface VerdictSource {
  verdictsFor(principal: Principal, purpose: string): Promise<string | undefined>;
  invalidate(): void;
}

/** Everything a verb needs, built per request by the route. */
export interface ServiceContext {
  actor: Principal;
  info: RequestInfo;
  db: Db;
  clock: Clock;
  logger: Logger;
  settings: VaultSettings;
  /** Access policies as last read, for reads answered in one statement (absent: always the two-step path). */
  policies?: VerdictSource;
  /** The request's deadline (epoch ms): past it (less a margin for COMMIT) a transaction rolls back instead of committing. */
  deadline?: number;
  /** Told when an access-log row could not be written (the request then fails closed). */
  onAuditWriteFailure?: () => void;
  /** Told when a sweep ends (for metrics). */
  onSweep?: (status: 'succeeded' | 'failed', counts: Record<string, Record<string, number>>) => void;
}
