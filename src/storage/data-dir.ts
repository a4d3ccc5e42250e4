import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Refused to open a data directory: another process holds it, or others may read it. */
export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

const LOCK_FILE = 'vsql-vault.lock';
/** The holder touches its lock this often; a lock untouched for STALE_MS belongs to nobody. */
const HEARTBEAT_MS = 5_000;
const STALE_MS = 30_000;

interface LockRecord {
  token: string;
  pid: number;
  host: string;
  command: string;
  started_at: string;
}

export interface DataDirLock {
  /** Stops the heartbeat and removes the lock if it is still ours. */
  release(): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): { record: LockRecord | undefined; mtimeMs: number } | undefined {
  try {
    const mtimeMs = statSync(path).mtimeMs;
    let record: LockRecord | undefined;
    try {
      record = JSON.parse(readFileSync(path, 'utf8')) as LockRecord;
    } catch {
      record = undefined; // half-written by a holder that died while creating it
    }
    return { record, mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** A lock nobody holds: its process is gone (same host), or it has not been touched for STALE_MS (any host). */
function isStale(lock: { record: LockRecord | undefined; mtimeMs: number }, now: number): boolean {
  if (now - lock.mtimeMs > STALE_MS) return true;
  const r = lock.record;
  return r !== undefined && r.host === hostname() && r.pid !== process.pid && !pidAlive(r.pid);
}

function describeHolder(r: LockRecord | undefined): string {
  return r ? `pid ${r.pid} on ${r.host} (vsql-vault ${r.command}, since ${r.started_at})` : 'another process';
}

/**
 * Prepares an embedded (PGlite) data directory for exactly one process. PGlite has no lock of its own:
 * two processes on one directory both start, each missing the other's writes, and acknowledged stores are
 * lost on restart. So the vault (serve, migrate, verify-audit alike) takes `vsql-vault.lock` inside the
 * directory — created exclusively, naming its holder, touched every few seconds — and refuses to start
 * while another live process holds it. A lock whose holder died (same host) or stopped touching it (any
 * host sharing the volume) is taken over; a holder that finds its lock taken exits through `onLost`.
 *
 * The directory is created 0700 and a directory that group or others can reach is refused (the WAL holds
 * every stored value); the files PGlite creates are tightened to 0600 once it has opened them.
 */
export function lockDataDir(dir: string, command: string, onLost: (message: string) => void): DataDirLock {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if (mode & 0o077) {
    throw new DataDirError(
      `the data directory ${dir} is open to other users (mode ${mode.toString(8)}); it holds every stored value. Run: chmod -R go-rwx ${dir}`,
    );
  }
  const path = join(dir, LOCK_FILE);
  const record: LockRecord = { token: randomUUID(), pid: process.pid, host: hostname(), command, started_at: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(record));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = readLock(path);
      if (held && !isStale(held, Date.now())) {
        throw new DataDirError(`the data directory ${dir} is in use by ${describeHolder(held.record)}; stop it first (one process per pglite:// directory)`);
      }
      if (attempt >= 2) throw new DataDirError(`the data directory ${dir} could not be locked; remove ${path} if no vault uses it`);
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkError;
      }
    }
  }
  const ours = () => readLock(path)?.record?.token === record.token;
  const heartbeat = setInterval(() => {
    try {
      if (!ours()) {
        clearInterval(heartbeat);
        onLost(`the lock on ${dir} was taken by another process`);
        return;
      }
      const now = new Date();
      utimesSync(path, now, now);
    } catch (error) {
      clearInterval(heartbeat);
      onLost(`the lock on ${dir} could not be kept: ${(error as Error).message}`);
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return {
    release() {
      clearInterval(heartbeat);
      try {
        if (ours()) unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

/** Files 0600 and folders 0700 below `dir`: PGlite writes its files world-readable (and most world-writable). */
export function tightenDataDir(dir: string): void {
  chmodSync(dir, 0o700);
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        chmodSync(path, 0o700);
        walk(path);
      } else if (entry.isFile()) chmodSync(path, 0o600);
    }
  };
  walk(dir);
}
