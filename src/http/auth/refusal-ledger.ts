/**
 * Counts requests refused before or at authentication (a failed credential, a 414, a 429) per client
 * address and in total, in fixed windows, in this process only (each replica keeps its own counts).
 *
 * It never refuses anything itself: a request with a valid credential is always judged on its merits. It
 * says two things about each refusal: whether it still gets its own access-log row (the first `limit`
 * per address and the first `totalLimit` overall in a window), and whether its address — or, past the
 * total, everyone — is over the limit, so a failing credential is answered 429 instead of 401. What is
 * not written one row each is summarised: one row per address and window, and one for everything counted
 * only in total, each with its count (`drain`).
 *
 * Bounded: at most `maxTracked` addresses are remembered per window; an address that does not fit is
 * counted in total only, so filling the table never resets an address that is already over its limit.
 */
export interface RefusalVerdict {
  /** Write this refusal's own access-log row; otherwise it is counted into a summary row. */
  ownRow: boolean;
  /** The address (or, past the total limit, every address) is over its limit: refuse failing credentials with 429. */
  overLimit: boolean;
  retryAfterSeconds: number;
}

export interface RefusalSummary {
  /** The client address (null when the request had none, as under app.request in tests). */
  address: string | null;
  /** `address`: one address over its limit; `all`: refusals counted only in the total (past it, or untracked). */
  scope: 'address' | 'all';
  windowStart: Date;
  /** Refusals in the window that got no row of their own. */
  count: number;
}

export interface RefusalLedger {
  record(address: string | null, now: number): RefusalVerdict;
  /** Summaries of windows that have closed by `now` (every open one too with `all`, at shutdown). */
  drain(now: number, all?: boolean): RefusalSummary[];
  readonly windowSeconds: number;
}

interface Window {
  start: number;
  refusals: number;
  suppressed: number;
}

export function createRefusalLedger(options: { limit: number; totalLimit: number; windowSeconds: number; maxTracked?: number }): RefusalLedger {
  const windowMs = options.windowSeconds * 1000;
  const maxTracked = options.maxTracked ?? 10_000;
  let windowStart = 0;
  let addresses = new Map<string, Window>();
  let total: Window = { start: 0, refusals: 0, suppressed: 0 };
  const closed: RefusalSummary[] = [];
  const KEY_NONE = '\u0000none';

  const close = (address: string | null, scope: RefusalSummary['scope'], w: Window) => {
    if (w.suppressed > 0) closed.push({ address, scope, windowStart: new Date(w.start), count: w.suppressed });
  };
  const closeAll = () => {
    for (const [address, w] of addresses) close(address === KEY_NONE ? null : address, 'address', w);
    close(null, 'all', total);
  };
  // Windows are aligned to multiples of their length, so every replica's windows line up.
  const roll = (now: number) => {
    const start = now - (now % windowMs);
    if (start === windowStart) return;
    closeAll();
    windowStart = start;
    addresses = new Map();
    total = { start, refusals: 0, suppressed: 0 };
  };

  return {
    windowSeconds: options.windowSeconds,
    record(address, now) {
      roll(now);
      const retryAfterSeconds = Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000));
      total.refusals++;
      const overTotal = total.refusals > options.totalLimit;
      const key = address ?? KEY_NONE;
      let w = addresses.get(key);
      if (!w && addresses.size < maxTracked) {
        w = { start: windowStart, refusals: 0, suppressed: 0 };
        addresses.set(key, w);
      }
      if (!w) {
        // Untracked: only the total judges it, and it is summarised in the total's row.
        if (overTotal) total.suppressed++;
        return { ownRow: !overTotal, overLimit: overTotal, retryAfterSeconds };
      }
      w.refusals++;
      const overAddress = w.refusals > options.limit;
      if (overAddress) w.suppressed++;
      else if (overTotal) total.suppressed++;
      return { ownRow: !overAddress && !overTotal, overLimit: overAddress || overTotal, retryAfterSeconds };
    },
    drain(now, all = false) {
      roll(now);
      if (all) {
        closeAll();
        for (const w of addresses.values()) w.suppressed = 0;
        total.suppressed = 0;
      }
      return closed.splice(0, closed.length);
    },
  };
}
