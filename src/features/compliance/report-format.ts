/** The representations of one compliance report: the JSON document, the assessor's page, the signed JSON. */
export type ReportFormat = 'json' | 'html' | 'jws';

const MEDIA_TYPES: Record<string, ReportFormat> = {
  'application/json': 'json',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'application/jose': 'jws',
};

/**
 * Which representation a request asks for: `?format=` first, then the Accept header's most preferred
 * media type that this report has (highest q; on a tie the earlier one), and JSON for anything else — no
 * Accept, `*\/*`, an unknown or malformed type — exactly as before the other two existed. A browser's
 * navigation (`text/html,…,*\/*;q=0.8`) gets the page; `curl` (`*\/*`) still gets JSON.
 */
export function negotiateReportFormat(accept: string | undefined, format: ReportFormat | undefined): ReportFormat {
  if (format) return format;
  if (!accept) return 'json';
  let best: { format: ReportFormat; q: number } | undefined;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const chosen = MEDIA_TYPES[type];
    if (!chosen) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0 || q > 1) continue;
    if (!best || q > best.q) best = { format: chosen, q };
  }
  return best?.format ?? 'json';
}
