/**
 * Counts failed authentications per client address in fixed windows, in this process only: each replica
 * keeps its own counts (so N replicas allow up to N × limit failures per window behind a balancer).
 * Bounded: at most `maxTracked` addresses are remembered; the oldest window is dropped first.
 */
export interface FailureLimiter {
  /** Undefined when the address may try; else seconds until it may, and whether this is the first refusal of the window. */
  check(address: string, now: number): { retryAfterSeconds: number; first: boolean } | undefined;
  fail(address: string, now: number): void;
}

export function createFailureLimiter(options: { limit: number; windowSeconds: number; maxTracked?: number }): FailureLimiter {
  const windowMs = options.windowSeconds * 1000;
  const maxTracked = options.maxTracked ?? 10_000;
  const entries = new Map<string, { start: number; failures: number; refused: number }>();
  const current = (address: string, now: number) => {
    const entry = entries.get(address);
    if (entry && now - entry.start < windowMs) return entry;
    if (entry) entries.delete(address);
    return undefined;
  };
  return {
    check(address, now) {
      const entry = current(address, now);
      if (!entry || entry.failures < options.limit) return undefined;
      entry.refused++;
      return { retryAfterSeconds: Math.max(1, Math.ceil((entry.start + windowMs - now) / 1000)), first: entry.refused === 1 };
    },
    fail(address, now) {
      const entry = current(address, now);
      if (entry) {
        entry.failures++;
        return;
      }
      if (entries.size >= maxTracked) entries.delete(entries.keys().next().value as string);
      entries.set(address, { start: now, failures: 1, refused: 0 });
    },
  };
}
