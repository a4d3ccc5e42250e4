import { Cron } from 'croner';
import type { JobContext } from '../../kernel/context';
import { runSweep } from './purge.service';

export interface SweeperOptions {
  /** A cron expression (`purge.schedule`) wins over the interval. */
  schedule?: string;
  intervalHours: number;
}

/**
 * The scheduled sweep. `protect` keeps runs from overlapping within this process; other replicas may
 * sweep at the same time, which the SKIP LOCKED batches make safe. Errors are logged (and recorded on
 * the sweep run), never thrown into the scheduler.
 */
export function startSweeper(ctx: JobContext, options: SweeperOptions): { stop(): Promise<void>; nextRun(): Date | null } {
  let inFlight: Promise<void> = Promise.resolve();
  const run = () => {
    inFlight = runSweep(ctx, 'schedule').then(
      () => undefined,
      () => undefined, // already logged and recorded on the sweep run
    );
    return inFlight;
  };
  const job = options.schedule
    ? new Cron(options.schedule, { name: 'purge-sweep', protect: true }, run)
    : new Cron('* * * * * *', { name: 'purge-sweep', protect: true, interval: Math.round(options.intervalHours * 3600) }, run);
  return {
    /** Stops scheduling and waits for a sweep in flight, so shutdown never cuts a batch it could finish. */
    stop: async () => {
      job.stop();
      await inFlight;
    },
    nextRun: () => job.nextRun(),
  };
}

/** Validates a cron expression at start-up, so a typo stops the process instead of silently never sweeping. */
export function checkSchedule(schedule: string): string | undefined {
  try {
    new Cron(schedule, { paused: true }).stop();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
