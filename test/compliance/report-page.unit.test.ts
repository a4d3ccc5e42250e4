import { describe, expect, it } from 'vitest';
import { dailyBars, MAX_BARS } from '../../src/features/compliance/report-charts';
import { requirementChecks } from '../../src/features/compliance/report-checks';
import { negotiateReportFormat } from '../../src/features/compliance/report-format';
import { escapeHtml, html } from '../../src/features/compliance/report-html';
import { renderReportPage } from '../../src/features/compliance/report-page';
import type { ComplianceReport } from '../../src/features/compliance/compliance.service';

describe('the page’s pure parts', () => {
  it('escapes & < > " \' in text and attributes, and only markup the tag made passes unescaped', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
    const hostile = '"><script>alert(1)</script>';
    expect(html`<td title="${hostile}">${hostile}</td>`.text).toBe(
      '<td title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>',
    );
    expect(html`<ul>${['<a>', html`<li>${'<b>'}</li>`, null, false, 3]}</ul>`.text).toBe('<ul>&lt;a&gt;<li>&lt;b&gt;</li>3</ul>');
    // A string that looks like markup is still text: only Html instances are trusted.
    expect(html`${{ text: '<script>' } as unknown as string}`.text).toBe('[object Object]');
  });

  it.each([
    [undefined, undefined, 'json'],
    ['*/*', undefined, 'json'],
    ['application/json', undefined, 'json'],
    ['text/plain', undefined, 'json'],
    ['text/html', undefined, 'html'],
    ['text/html;q=0', undefined, 'json'],
    ['TEXT/HTML; charset=utf-8', undefined, 'html'],
    ['application/jose', undefined, 'jws'],
    ['application/json;q=0.9, application/jose', undefined, 'jws'],
    ['application/jose;q=0.2, text/html;q=0.4', undefined, 'html'],
    ['text/html, application/json', undefined, 'html'],
    ['application/json, text/html', undefined, 'json'],
    ['text/html;q=2', undefined, 'json'],
    ['text/html', 'jws', 'jws'],
    ['application/jose', 'json', 'json'],
  ] as const)('Accept %s with ?format=%s → %s', (accept, format, expected) => {
    expect(negotiateReportFormat(accept, format)).toBe(expected);
  });

  it('charts every UTC day of the window, zero-filled, and buckets long windows so the bars always sum to the series', () => {
    const short = dailyBars({ '2026-06-02': 3, '2026-06-04': 1, '2026-05-01': 9 }, '2026-06-01T12:00:00.000Z', '2026-06-05T12:00:00.000Z');
    expect(short.bucketDays).toBe(1);
    expect(short.bars.map((b) => [b.from, b.count])).toEqual([
      ['2026-06-01', 0],
      ['2026-06-02', 3],
      ['2026-06-03', 0],
      ['2026-06-04', 1],
      ['2026-06-05', 0],
    ]);
    const series: Record<string, number> = {};
    for (let d = 0; d < 3651; d += 7) series[new Date(Date.UTC(2016, 5, 1) + d * 86_400_000).toISOString().slice(0, 10)] = 2;
    const long = dailyBars(series, '2016-06-01T00:00:00.000Z', '2026-05-29T00:00:00.000Z');
    expect(long.bars.length).toBeLessThanOrEqual(MAX_BARS);
    expect(long.bucketDays).toBe(Math.ceil(3650 / MAX_BARS));
    expect(long.bars.reduce((a, b) => a + b.count, 0)).toBe(Object.values(series).reduce((a, b) => a + b, 0));
    expect(long.bars.at(-1)!.to).toBe('2026-05-29');
  });

  it('sets each marker from its rule alone', () => {
    const report = minimalReport();
    const status = (r: ComplianceReport) => Object.fromEntries(requirementChecks(r).map((c) => [c.requirement, c.status]));
    expect(status(report)).toEqual({
      '3.1.1': 'pass',
      '3.1.2': 'pass',
      '3.3.2': 'pass',
      '3.5.1.2': 'pass',
      '3.6.1': 'pass',
      '3.7.4': 'pass',
      '3.7.5': 'pass',
      '10.2.1': 'pass',
      '10.3.4': 'pass',
      '10.5.1': 'pass',
    });
    const changed = structuredClone(report);
    changed.by_purpose.legacy = { ...changed.by_purpose.card!, policy: null, retention_policy: null };
    changed.keys.entries_under_retired_keys = 1;
    changed.audit.last_verification = { verified_at: report.generated_at, rows_checked: 1, status: 'forged', signed: false };
    changed.audit.retention_days = 300;
    expect(status(changed)).toMatchObject({ '3.1.1': 'attention', '3.7.5': 'attention', '10.3.4': 'attention', '10.5.1': 'attention', '3.3.2': 'pass' });
  });

  it('renders the same page for the same report and evidence, with the digest in the footer', () => {
    const evidence = { sha256: 'ab'.repeat(32), jws: 'eyJh.eyJi.c2ln', kid: 'kid-<1>', alg: 'EdDSA' };
    const page = renderReportPage(minimalReport(), evidence);
    expect(renderReportPage(minimalReport(), evidence)).toBe(page);
    expect(page).toContain('href="data:application/jose,eyJh.eyJi.c2ln"');
    expect(page).toContain('kid-&lt;1&gt;');
    expect(/<tfoot>[\s\S]*<\/tfoot>/.exec(page)![0]).toContain(evidence.sha256);
  });
});

/** A report of a healthy vault: one purpose with a policy, keys in order, a signed intact verification. */
function minimalReport(): ComplianceReport {
  const at = '2026-06-01T12:00:00.000Z';
  return {
    generated_at: at,
    window: { days: 30, since: '2026-05-02T12:00:00.000Z', until: at },
    summary: {
      total_entries: 1,
      active_entries: 1,
      expired_pending_purge: 0,
      expired_pending_purge_by_cause: { expired: 0, max_retention: 0 },
      crypto_shredded_entries: 0,
      entries_expiring_next_30_days: 0,
      purged_last_30_days: 0,
      purged_in_window: 0,
    },
    by_purpose: {
      card: {
        total_entries: 1,
        active: 1,
        expired_pending_purge: 0,
        crypto_shredded: 0,
        retention_policy: '365 days max',
        policy: { max_retention_days: 365, default_ttl_days: null, purge_method: 'physical-delete', require_purge_proof: true, description: null },
        entries_expiring_next_30_days: 0,
        purged_last_30_days: 0,
        purged_in_window: 0,
      },
    },
    purge_compliance: {
      purge_sweep_last_run: null,
      entries_purged_last_sweep: null,
      purge_proof_available: true,
      proof_hashing_enabled: true,
      purges_in_window_without_required_proof: 0,
      purged_by_day_in_window: {},
      last_sweep: null,
    },
    access_summary: {
      total_accesses_last_30_days: 5,
      denied_accesses_last_30_days: 0,
      total_accesses_in_window: 5,
      denied_accesses_in_window: 0,
      denied_by_reason_in_window: {},
      failed_authentications_in_window: 0,
      failed_authentications_last_30_days: 0,
      denied_by_day_in_window: {},
    },
    key_staleness: { key_refs: [], key_refs_total: 0, key_refs_truncated: false, entries_without_key_ref: 0, oldest_created_at_without_key_ref: null },
    legal_holds: { holds: [], entries_kept_past_retention: 0, requirement: 'PCI DSS 3.1.1' },
    keys: {
      key_refs: [{ key_ref: 'kms:a', status: 'active', cryptoperiod_days: 365, entries: 1, entries_past_cryptoperiod: 0, oldest_ciphertext: at }],
      key_refs_total: 1,
      key_refs_truncated: false,
      entries_under_retired_keys: 0,
      entries_under_compromised_keys: 0,
      entries_past_cryptoperiod: 0,
      entries_without_key_ref: 0,
      rewraps_in_window: 0,
      requirements: {},
    },
    audit: {
      last_verification: { verified_at: at, rows_checked: 5, status: 'intact', signed: true, mode: 'full', checkpoint: null },
      last_full_verification: null,
      last_checkpoint_verification: null,
      seals: { access_log: null, purge_log: null },
      retention_days: 400,
      oldest_row: { access_log: at, purge_log: null },
      archives: [],
      pruned: [],
    },
  };
}
