import { COMMIT_MARGIN_MS } from '../../kernel/executor';
import type { Db } from '../../storage/database';
import { readAndAudit } from './audited-read.repository';
import { readManyAndAudit, type ManyReadDecision, type ReadCaller } from './batch-read.repository';
import type { EntryKey } from './entry.repository';

export interface SharedRead {
  key: EntryKey;
  operation: 'retrieve' | 'exists';
  requestId: string;
  caller: ReadCaller;
  /** The caller's verdict table for the key's purpose (features/entries/retrieve-verdicts). */
  verdicts: string;
  /** The request's deadline (epoch ms): past it (less the margin), the read is not sent and fails. */
  deadline?: number;
}

interface Waiting {
  read: SharedRead;
  resolve: (d: ManyReadDecision) => void;
  reject: (e: unknown) => void;
}

/** A read whose request deadline passed while it waited for a statement: it fails (503), having written nothing. */
export class ReadDeadlinePassed extends Error {
  constructor() {
    super('the request deadline passed before its read was sent');
    this.name = 'ReadDeadlinePassed';
  }
}

/** Items in one shared statement at most (its parameters grow with it). */
const MAX_GROUP = 64;

/**
 * One-statement GETs and HEADs that share their round trips under load. While fewer statements than
 * `lanes` (the pool's connections) are in flight, a read goes out at once, alone — nothing ever waits for
 * company, there is no timer. Reads that arrive while every lane is busy queue, and when a statement
 * returns, everything queued goes out together as one statement (features/entries/batch-read.repository,
 * `whole: false`): each read with its own verdict and its own access-log row, all committed before any of
 * their answers is handed back. If that statement fails, every read in it fails (503) and none is served.
 */
export class SharedReads {
  private inFlight = 0;
  private queue: Waiting[] = [];
  /** Statements sent, and reads they carried (for tests and metrics). */
  statements = 0;
  reads = 0;

  constructor(
    private readonly db: Db,
    private readonly lanes: number,
    private readonly now: () => Date,
    /** Told of each statement sent and how many reads it carried (metrics). */
    private readonly onStatement?: (reads: number) => void,
  ) {}

  read(read: SharedRead): Promise<ManyReadDecision> {
    return new Promise((resolve, reject) => {
      this.queue.push({ read, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.lanes && this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_GROUP);
      this.inFlight++;
      void this.send(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async send(waiting: Waiting[]): Promise<void> {
    const now = this.now();
    // Deadlines are wall-clock epoch ms (set by the envelope), whatever clock stamps the rows.
    const wall = Date.now();
    const live = waiting.filter((w) => {
      if (w.read.deadline === undefined || wall <= w.read.deadline - COMMIT_MARGIN_MS) return true;
      w.reject(new ReadDeadlinePassed());
      return false;
    });
    if (live.length === 0) return;
    const tables = new Map<string, number>();
    const items = live.map(({ read }) => {
      let table = tables.get(read.verdicts);
      if (table === undefined) {
        table = tables.size;
        tables.set(read.verdicts, table);
      }
      return { ...read.key, operation: read.operation, requestId: read.requestId, caller: read.caller, table };
    });
    // A read sent within the executor's commit margin of its deadline could be answered after it; the
    // earliest deadline (less that margin) bounds the statement: past it, on the database's clock, it writes nothing.
    let earliest = Number.POSITIVE_INFINITY;
    for (const w of live) if (w.read.deadline !== undefined && w.read.deadline < earliest) earliest = w.read.deadline;
    const writeBy = Number.isFinite(earliest) ? { writeBy: new Date(earliest - COMMIT_MARGIN_MS) } : {};
    this.statements++;
    this.reads += live.length;
    this.onStatement?.(live.length);
    try {
      if (live.length === 1) {
        // Alone: the single read's own statement, which is lighter than the list form.
        const { read } = live[0]!;
        const out = await readAndAudit(this.db, { ...read, now, caller: { ...read.caller, requestId: read.requestId }, ...writeBy });
        live[0]!.resolve(out);
        return;
      }
      const { decisions } = await readManyAndAudit(this.db, { items, verdicts: [...tables.keys()], now, whole: false, ...writeBy });
      for (const [i, w] of live.entries()) w.resolve(decisions[i]!);
    } catch (error) {
      for (const w of live) w.reject(error);
    }
  }
}
