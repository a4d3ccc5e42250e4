import { Cron } from 'croner';
import type { JobContext } from '../../kernel/context';
import { sealAuditTrail } from './audit.service';
import { keepPartitionsAhead } from './audit-retention.service';
import { describeError } from '../../logging/describe-error';

/**
 * Seals the audit logs every `intervalSeconds`, and once a day keeps the logs' monthly partitions ahead of
 * the clock. Replicas may all run it: sealing takes an advisory lock per log, so they take turns and the
 * chain stays linear; making a partition that exists is a no-op. Errors are logged, never thrown into croner.
 */
export function startSealer(ctx: JobContext, intervalSeconds: number): { stop(): Promise<void> } {
  let inFlight: Promise<void> = Promise.resolve();
  let upkeepDay = ctx.clock.now().toISOString().slice(0, 10);
  const job = new Cron('* * * * * *', { name: 'audit-seal', protect: true, interval: intervalSeconds }, () => {
    const today = ctx.clock.now().toISOString().slice(0, 10);
    const upkeep =
      today === upkeepDay
        ? Promise.resolve()
        : keepPartitionsAhead(ctx.db, ctx.clock.now()).then(
            () => {
              upkeepDay = today;
            },
            (error: unknown) => ctx.logger.error("could not make the audit logs' monthly partitions", { error: describeError(error) }),
          );
    inFlight = upkeep
      .then(() => sealAuditTrail(ctx))
      .then(
        () => undefined,
        (error: unknown) => ctx.logger.error('audit sealing failed', { error: describeError(error) }),
      );
    return inFlight;
  });
  return {
    stop: async () => {
      job.stop();
      await inFlight;
    },
  };
}
