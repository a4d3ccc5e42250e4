/** A log-safe description of a storage error: class, SQLSTATE and message, never the parameters. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const err = e as { name?: string; code?: string; message?: string };
    const message = (err.message ?? String(e)).split('\nparams:')[0]!.slice(0, 300);
    parts.push([err.name, err.code, message].filter(Boolean).join(' '));
  }
  return parts.join(' <- ');
}
