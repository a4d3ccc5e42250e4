import type { Db } from '../../src/storage/database';

/**
 * Runs `work` in a transaction that stays open until `release` is called (its locks held meanwhile);
 * `ready` resolves once `work` has run, `done` once the transaction has committed or rolled back.
 */
export function holdOpen(db: Db, work: (tx: Db) => Promise<unknown>, outcome: 'commit' | 'rollback') {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const done = db
    .transaction(async (tx) => {
      await work(tx as unknown as Db);
      readyResolve();
      await released;
      if (outcome === 'rollback') throw new Error('rolled back on purpose');
    })
    .catch((error: unknown) => {
      if (!(error instanceof Error && error.message === 'rolled back on purpose')) throw error;
    });
  return { ready, release, done };
}
