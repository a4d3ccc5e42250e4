import type { Logger } from '../logging/logger';
import type { Db } from '../storage/database';
import type { EntryRow } from '../storage/schema/index';
import type { RequestInfo } from './audit';
import type { Clock } from './clock';
import type { Actor, Principal, SystemActor } from './principal';
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
  /** limits.batch_max_operations: items in one batch (413 beyond). */
  batchMaxOperations: number;
  sweepBatchSize: number;
  sweepConcurrency: number;
  seal: { graceSeconds: number; maxRows: number };
  /** audit.retention_days: a month of the logs may leave the database (archived first) once it is this old. */
  auditRetentionDays: number;
  /** keys.require_registered: a store or re-wrap must name a registered, active key_ref. */
  requireRegisteredKeys: boolean;
  /** Signs purge receipts when purge.signing_key_file is configured. */
  receiptSigner?: Signer;
  /** Signs audit checkpoints and verification records (audit.signing_key_file, or its defaults). */
  auditSigner?: Signer;
}

/**
 * Where one-statement reads get the caller's verdict table (features/entries/retrieve-verdicts
 * PolicySnapshots); undefined = too many policies to send. `invalidate` after a read found it stale.
 */
export interface VerdictSource {
  verdictsFor(principal: Principal, purpose: string): Promise<string | undefined>;
  invalidate(): void;
}

/** What a one-statement GET or HEAD asks of the shared reads: its decision, and its row written (status 0: undecided, nothing written). */
export interface SharedReadSource {
  read(read: {
    key: { purpose: string; externalId: string };
    operation: 'retrieve' | 'exists';
    requestId: string;
    caller: { app: string; identity: string | null; authMethod: string | null; clientAddr: string | null };
    verdicts: string;
    deadline?: number;
  }): Promise<{ status: number; reason: string | null; entry?: EntryRow }>;
}

/**
 * Everything a verb or a job needs: who acts (an app's Principal for a request, a system actor for a
 * background job), the request's id and address, the database, the clock, the logger and the settings.
 * Built per request by http/operation-context.ts, and once per job by main.ts.
 */
export interface OperationContext<A extends Actor = Principal> {
  actor: A;
  info: RequestInfo;
  db: Db;
  clock: Clock;
  logger: Logger;
  settings: VaultSettings;
  /** Access policies as last read, for reads answered in one statement (absent: always the two-step path). */
  policies?: VerdictSource;
  /** One-statement reads that share their round trips when the pool is busy (features/entries/shared-reads). */
  sharedReads?: SharedReadSource;
  /** The request's deadline (epoch ms): past it (less a margin for COMMIT) a transaction rolls back instead of committing. */
  deadline?: number;
  /** Told when an access-log row could not be written (the request then fails closed). */
  onAuditWriteFailure?: () => void;
  /** Told how a store was written: its one statement, or the transaction (for metrics). */
  onStore?: (path: 'statement' | 'transaction') => void;
  /** Told when a sweep ends (for metrics). */
  onSweep?: (status: 'succeeded' | 'failed', counts: Record<string, Record<string, number>>) => void;
  /** An Idempotency-Key on this request (http/idempotency.ts): claimed before the body, its answer kept after, in the same transaction. */
  idempotency?: IdempotencyHook;
}

/**
 * What the executor does for a request that carries an Idempotency-Key, inside the operation's own
 * transaction: `claim` before the body (refuses with 409 while another request with the key runs),
 * `keep` after it succeeded (the answer commits with the effect, or neither does).
 */
export interface IdempotencyHook {
  claim(tx: Db): Promise<void>;
  keep(tx: Db, result: unknown): Promise<void>;
}

/** A background job's context: the same shape, acting as a system actor. */
export type JobContext = OperationContext<SystemActor>;

/** The context a background job runs with: `job` as its actor, its name as the request id of what it logs. */
export function jobContext(
  job: SystemActor['job'],
  base: Pick<OperationContext, 'db' | 'clock' | 'logger' | 'settings'> & Pick<OperationContext, 'onSweep'>,
): JobContext {
  return { ...base, actor: { kind: 'system', job }, info: { requestId: job, clientAddr: null } };
}
