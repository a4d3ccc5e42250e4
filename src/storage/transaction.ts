import { StorageUnavailable } from './errors';
import type { Db } from './database';

/** SQLSTATE for unique_violation: a concurrent writer created the same key first. */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

/** SQLSTATE for deadlock_detected: two transactions took the same rows in different orders; one was rolled back and may run again. */
export function isDeadlock(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '40P01') return true;
  }
  return false;
}

/**
 * Runs `fn` in one transaction: the mutation, its audit row and its purge proof commit together or not at
 * all. What `passThrough` names (the caller's own errors) and unique violations (a retry signal) leave
 * as they are; any other failure (database gone, audit insert refused) has already rolled everything
 * back and leaves as StorageUnavailable, failing closed.
 */
export async function withTransaction<T>(
  db: Db,
  fn: (tx: Db) => Promise<T>,
  onStorageError?: (error: unknown) => void,
  /** Errors the caller handles itself (a retry signal): rolled back and rethrown as they are. */
  passThrough?: (error: unknown) => boolean,
): Promise<T> {
  try {
    return await db.transaction((tx) => fn(tx as unknown as Db));
  } catch (error) {
    if (isUniqueViolation(error) || passThrough?.(error)) throw error;
    onStorageError?.(error);
    throw new StorageUnavailable(error); // its cause is for logs and sweep records only; never rendered to a caller
  }
}
