import { Cron } from 'croner';
import type { JobContext } from '../../kernel/context';
import { sealAuditTrail } from './audit.service';
import { describeError } from '../../logging/describe-error';

/**
 * Seals the audit logs every `intervalSeconds`. Replicas may all run it: sealing takes an advisory lock
 * per log, so they take turns and the chain stays linear. Errors are logged, never thrown into croner.
 */
export function startSealer(ctx: JobContext, intervalSeconds: number): { stop(): Promise<void> } {
  let inFlight: Promise<void> = Promise.resolve();
  const job = new Cron('* * * * * *', { name: 'audit-seal', protect: true, interval: intervalSeconds }, () => {
    inFlight = sealAuditTrail(ctx).then(
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
