import type { Logger } from '../logging/logger';

export interface ShutdownOptions {
  logger: Logger;
  /** Called first: /health turns 503 so traffic stops arriving. */
  beginDrain: () => void;
  /** Stop accepting, let in-flight requests finish, close the pool; in order. */
  steps: Array<{ name: string; run: () => Promise<void> }>;
  deadlineMs: number;
  exit?: (code: number) => void;
}

/**
 * First SIGTERM/SIGINT drains and exits 0; a second signal, a failed step or the deadline exits 1.
 * Node is PID 1 in the distroless image, so nobody else will do this for us.
 */
export function installShutdown(options: ShutdownOptions): () => Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const shutdown = async () => {
    if (stopping) {
      options.logger.warn('second signal; exiting now');
      exit(1);
      return;
    }
    stopping = true;
    options.logger.info('shutting down');
    options.beginDrain();
    const deadline = setTimeout(() => {
      options.logger.error('shutdown deadline passed; exiting');
      exit(1);
    }, options.deadlineMs);
    deadline.unref();
    let code = 0;
    for (const step of options.steps) {
      try {
        await step.run();
      } catch (error) {
        code = 1;
        options.logger.error(`shutdown step failed: ${step.name}`, { error: (error as Error).name });
      }
    }
    clearTimeout(deadline);
    options.logger.info('stopped', { exit_code: code });
    exit(code);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  return shutdown;
}
