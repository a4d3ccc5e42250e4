import { createHash } from 'node:crypto';
import type { ComplianceReport } from './compliance.service';
import { dailyBarChart, keyAgeBar } from './report-charts';
import { requirementChecks, type CheckFigure } from './report-checks';
import { Html, html } from './report-html';
import type { ReportEvidence } from './report-jws';

const DAY_MS = 86_400_000;

/**
 * The page's one stylesheet. It is a constant, so its SHA-256 is too: the page's Content-Security-Policy
 * allows exactly this stylesheet by hash (`style-src 'sha256-…'`) and nothing else — no script, no other
 * style, no image, font or frame from anywhere. Print: A4 or Letter, whatever the printer asks (no fixed
 * size); the running header and footer are the page table's thead/tfoot, which print on every page.
 */
export const REPORT_STYLE = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #5b6470; --rule: #d5dae0; --pass: #1a7f37; --pass-bg: #dafbe1; --warn: #9a6700; --warn-bg: #fff1c2; --bar: #3b6fb6; --over: #c2410c; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; padding: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
table.sheet { width: 100%; max-width: 1100px; margin: 0 auto; border-collapse: collapse; }
table.sheet > thead > tr > td, table.sheet > tfoot > tr > td { padding: 0; }
.running { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 2px 16px; font-size: 11px; color: var(--muted); border-bottom: 1px solid var(--rule); padding: 0 0 4px; margin-bottom: 12px; }
.running > span { white-space: nowrap; }
tfoot .running { border-bottom: 0; border-top: 1px solid var(--rule); padding: 4px 0 0; margin: 12px 0 0; }
h1 { font-size: 24px; margin: 4px 0 2px; }
h2 { font-size: 17px; margin: 26px 0 8px; padding-bottom: 3px; border-bottom: 2px solid var(--ink); break-after: avoid; }
h3 { font-size: 14px; margin: 14px 0 6px; break-after: avoid; }
p { margin: 6px 0; }
.sub, .note { color: var(--muted); }
.note { font-size: 12px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; overflow-wrap: anywhere; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 12px 0; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
table.data { width: 100%; border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
table.data th, table.data td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--rule); }
table.data th { font-size: 12px; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--ink); }
table.data td.n, table.data th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.data tr { break-inside: avoid; }
table.data ul { margin: 0; padding-left: 16px; }
.mark { display: inline-block; white-space: nowrap; min-width: 84px; text-align: center; font-weight: 700; font-size: 12px; padding: 2px 8px; border-radius: 10px; border: 1px solid; }
.mark.pass { color: var(--pass); background: var(--pass-bg); }
.mark.attention { color: var(--warn); background: var(--warn-bg); }
.mark.pass::before { content: "\\2713  "; }
.mark.attention::before { content: "!  "; }
.req { font-weight: 700; white-space: nowrap; }
td.figures { width: 36%; }
td.marker { width: 1%; white-space: nowrap; }
.rule { display: block; color: var(--muted); font-size: 11px; margin-top: 2px; }
.evidence { border: 1px solid var(--rule); border-left: 4px solid var(--bar); padding: 8px 12px; margin: 12px 0; }
a.download { color: var(--bar); font-weight: 600; }
figure.chart { margin: 8px 0 16px; break-inside: avoid; }
figure.chart figcaption { font-size: 13px; margin-bottom: 4px; }
figure.chart svg { width: 100%; height: auto; display: block; }
svg .bar { fill: var(--bar); }
svg .axis { stroke: var(--ink); stroke-width: 1; }
svg .grid { stroke: var(--rule); stroke-width: 1; stroke-dasharray: 3 3; }
svg .tick { font-size: 10px; fill: var(--muted); }
svg.age { vertical-align: middle; }
svg.age .track { fill: #eef1f4; }
svg.age .age-bar { fill: var(--bar); }
svg.age .age-bar.over { fill: var(--over); }
svg.age .period { fill: var(--ink); }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 0 24px; }
ol.steps li { margin: 4px 0; }
@page { margin: 12mm 11mm; }
@media print {
  body { padding: 0; font-size: 10pt; }
  table.sheet { max-width: none; }
  .new-page { break-before: page; }
  h2 { margin-top: 12px; }
  table.data { font-size: 9pt; }
  table.data th, table.data td { padding: 3px 6px; }
  .running { font-size: 7.5pt; }
  .screen-only { display: none; }
  a.download { color: var(--ink); text-decoration: none; }
}
`;

/** The stylesheet is this module's constant, never data: the one text placed in the page unescaped. */
const STYLE_MARKUP = new Html(REPORT_STYLE);

/** Base64 SHA-256 of the stylesheet, as a CSP `style-src` hash source takes it. */
export const REPORT_STYLE_SHA256 = createHash('sha256').update(REPORT_STYLE).digest('base64');

const fmt = (n: number) => n.toLocaleString('en-US');
/** RFC 6901 JSON Pointer of a report value: the `data-figure` attribute that ties a printed figure to the JSON. */
const ptr = (...segments: string[]) => segments.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/** A figure as printed, tied to its place in the report when it has one. */
function figure(value: number | string | null, path?: string): Html {
  if (value === null) return html`<span>—</span>`;
  const shown = typeof value === 'number' ? fmt(value) : value;
  return path === undefined ? html`<span>${shown}</span>` : html`<span data-figure="${path}">${shown}</span>`;
}
const num = (value: number, path: string) => html`<td class="n">${figure(value, path)}</td>`;
const ageInDays = (now: string, then: string | null) => (then === null ? null : Math.floor((Date.parse(now) - Date.parse(then)) / DAY_MS));
const yesNo = (b: boolean) => (b ? 'yes' : 'no');

function checkFigure(f: CheckFigure): Html {
  return html`<li>${f.label}: <strong>${figure(f.value, f.path)}</strong></li>`;
}

function requirementsSection(report: ComplianceReport): Html {
  const checks = requirementChecks(report);
  const attention = checks.filter((c) => c.status === 'attention').length;
  return html`<section id="requirements">
<h2>PCI DSS requirements the vault evidences</h2>
<p>${checks.length - attention} pass, ${attention} need attention. A marker is set by the rule under its figures, from this report alone; <em>attention</em> means an assessor should look at the figure, not that the control failed.</p>
<table class="data">
<thead><tr><th>Req.</th><th>What the vault evidences</th><th>Figures</th><th>Marker</th></tr></thead>
<tbody>
${checks.map(
  (c) => html`<tr data-requirement="${c.requirement}" data-status="${c.status}">
<td class="req">${c.requirement}</td>
<td>${c.title}<span class="rule">${c.rule}</span></td>
<td class="figures"><ul>${c.figures.map(checkFigure)}</ul></td>
<td class="marker"><span class="mark ${c.status}">${c.status === 'pass' ? 'Pass' : 'Attention'}</span></td>
</tr>`,
)}
</tbody>
</table>
</section>`;
}

function purposesSection(report: ComplianceReport): Html {
  const rows = Object.entries(report.by_purpose).map(([name, p]) => {
    const at = (key: string) => ptr('by_purpose', name, key);
    const policy = p.policy
      ? html`${p.retention_policy}<span class="rule">${p.policy.purge_method}, proof ${p.policy.require_purge_proof ? 'required' : 'not required'}${p.policy.description ? html` — ${p.policy.description}` : ''}</span>`
      : html`<span class="mark attention">no policy</span>`;
    return html`<tr data-purpose="${name}">
<td><code>${name}</code></td>
<td>${policy}</td>
${num(p.active, at('active'))}
${num(p.expired_pending_purge, at('expired_pending_purge'))}
${num(p.entries_expiring_next_30_days, at('entries_expiring_next_30_days'))}
${num(p.crypto_shredded, at('crypto_shredded'))}
${num(p.total_entries, at('total_entries'))}
${num(p.purged_in_window, at('purged_in_window'))}
</tr>`;
  });
  const s = report.summary;
  return html`<section id="purposes" class="new-page">
<h2>Retention per purpose</h2>
<p class="note">Live entries are <em>active</em> (not expired) or <em>expired, pending purge</em> (past their expiry or their purpose’s maximum retention: exactly what the next sweep purges). Expiring: active entries whose expiry falls in the next 30 days.</p>
<table class="data">
<thead><tr><th>Purpose</th><th>Retention policy</th><th class="n">Active</th><th class="n">Expired, pending purge</th><th class="n">Expiring in next 30 days</th><th class="n">Crypto-shredded</th><th class="n">Total rows</th><th class="n">Purged in window</th></tr></thead>
<tbody>
${rows.length > 0 ? rows : html`<tr><td colspan="8">No purpose holds entries or has a policy.</td></tr>`}
<tr class="total"><th>All purposes</th><td></td>
${num(s.active_entries, ptr('summary', 'active_entries'))}
${num(s.expired_pending_purge, ptr('summary', 'expired_pending_purge'))}
${num(s.entries_expiring_next_30_days, ptr('summary', 'entries_expiring_next_30_days'))}
${num(s.crypto_shredded_entries, ptr('summary', 'crypto_shredded_entries'))}
${num(s.total_entries, ptr('summary', 'total_entries'))}
${num(s.purged_in_window, ptr('summary', 'purged_in_window'))}
</tr>
</tbody>
</table>
</section>`;
}

function activitySection(report: ComplianceReport): Html {
  const { window: w, access_summary: a, purge_compliance: pc } = report;
  const reasons = Object.entries(a.denied_by_reason_in_window);
  const sweep = pc.last_sweep;
  return html`<section id="activity">
<h2>Purges and denials over the window</h2>
${dailyBarChart({ id: 'purges-chart', label: 'Entries purged', series: pc.purged_by_day_in_window, since: w.since, until: w.until })}
${dailyBarChart({ id: 'denials-chart', label: 'Access requests denied', series: a.denied_by_day_in_window, since: w.since, until: w.until })}
<div class="cols">
<div>
<h3>Denials by reason (window)</h3>
<table class="data">
<thead><tr><th>Reason</th><th class="n">Denied</th></tr></thead>
<tbody>${
    reasons.length > 0
      ? reasons.map(([reason, n]) => html`<tr><td><code>${reason}</code></td>${num(n, ptr('access_summary', 'denied_by_reason_in_window', reason))}</tr>`)
      : html`<tr><td colspan="2">None.</td></tr>`
  }</tbody>
</table>
</div>
<div>
<h3>Purge sweep</h3>
<table class="data"><tbody>
<tr><td>Last sweep started</td><td class="n">${figure(pc.purge_sweep_last_run, ptr('purge_compliance', 'purge_sweep_last_run'))}</td></tr>
<tr><td>Status</td><td class="n">${sweep ? sweep.status : '—'}</td></tr>
<tr><td>Purged by it</td><td class="n">${sweep ? figure(sweep.purged, ptr('purge_compliance', 'last_sweep', 'purged')) : '—'}</td></tr>
<tr><td>Proof hashing enabled</td><td class="n">${yesNo(pc.proof_hashing_enabled)}</td></tr>
<tr><td>Purges in window without a required proof</td>${num(pc.purges_in_window_without_required_proof, ptr('purge_compliance', 'purges_in_window_without_required_proof'))}</tr>
<tr><td>Access-log rows in window</td>${num(a.total_accesses_in_window, ptr('access_summary', 'total_accesses_in_window'))}</tr>
<tr><td>Failed authentications in window</td>${num(a.failed_authentications_in_window, ptr('access_summary', 'failed_authentications_in_window'))}</tr>
</tbody></table>
</div>
</div>
</section>`;
}

function keysSection(report: ComplianceReport): Html {
  const k = report.keys;
  const now = report.generated_at;
  const ages = k.key_refs.map((key) => ageInDays(now, key.oldest_ciphertext));
  const scaleDays = Math.max(1, ...ages.map((a) => a ?? 0), ...k.key_refs.map((key) => key.cryptoperiod_days ?? 0));
  const rows = k.key_refs.map((key, i) => {
    const at = (field: string) => ptr('keys', 'key_refs', String(i), field);
    return html`<tr data-key-ref="${key.key_ref}">
<td><code>${key.key_ref}</code></td>
<td>${key.status}</td>
<td class="n">${figure(key.cryptoperiod_days, key.cryptoperiod_days === null ? undefined : at('cryptoperiod_days'))}</td>
<td class="n">${ages[i] === null ? '—' : fmt(ages[i]!)}</td>
<td>${keyAgeBar({ ageDays: ages[i] ?? null, cryptoperiodDays: key.cryptoperiod_days, scaleDays })}</td>
${num(key.entries, at('entries'))}
${num(key.entries_past_cryptoperiod, at('entries_past_cryptoperiod'))}
</tr>`;
  });
  return html`<section id="keys" class="new-page">
<h2>Key ages against their cryptoperiods</h2>
<p class="note">Age: days since the oldest ciphertext still stored under the key was written (the bar); the mark is the key’s cryptoperiod. Keys are references only: the vault never holds key material.</p>
<table class="data">
<thead><tr><th>Key reference</th><th>Status</th><th class="n">Cryptoperiod (days)</th><th class="n">Oldest ciphertext (days)</th><th>Age against cryptoperiod</th><th class="n">Entries</th><th class="n">Past cryptoperiod</th></tr></thead>
<tbody>${rows.length > 0 ? rows : html`<tr><td colspan="7">No key references.</td></tr>`}</tbody>
</table>
${k.key_refs_truncated && html`<p class="note">The ${fmt(k.key_refs.length)} stalest of ${fmt(k.key_refs_total)} key references are listed.</p>`}
<p>Entries under retired keys ${figure(k.entries_under_retired_keys, ptr('keys', 'entries_under_retired_keys'))}, under compromised keys ${figure(k.entries_under_compromised_keys, ptr('keys', 'entries_under_compromised_keys'))}, past their cryptoperiod ${figure(k.entries_past_cryptoperiod, ptr('keys', 'entries_past_cryptoperiod'))}, without a key reference ${figure(k.entries_without_key_ref, ptr('keys', 'entries_without_key_ref'))}; re-wraps in the window ${figure(k.rewraps_in_window, ptr('keys', 'rewraps_in_window'))}.</p>
</section>`;
}

type Verification = ComplianceReport['audit']['last_verification'];

function verificationRow(label: string, v: Verification, key: string): Html {
  if (!v) return html`<tr><td>${label}</td><td colspan="4">none recorded</td></tr>`;
  const mark = v.signed && v.status === 'intact' ? 'pass' : 'attention';
  return html`<tr data-verification="${key}">
<td>${label}</td>
<td><span class="mark ${mark}">${v.status}</span></td>
<td>${figure(v.verified_at, ptr('audit', key, 'verified_at'))}</td>
<td class="n">${figure(v.rows_checked, ptr('audit', key, 'rows_checked'))}</td>
<td>${v.signed ? 'signed by the evidence key' : 'not signed: not believed'}${v.mode ? html`, ${v.mode}` : ''}${v.checkpoint ? html`, against the checkpoint of ${v.checkpoint.issued_at} (${v.checkpoint.status})` : ''}</td>
</tr>`;
}

function auditSection(report: ComplianceReport): Html {
  const a = report.audit;
  const cp = a.last_checkpoint_verification?.checkpoint;
  const seals = Object.entries(a.seals);
  return html`<section id="audit">
<h2>Audit trail</h2>
<table class="data">
<thead><tr><th>Verification</th><th>Result</th><th>Verified at</th><th class="n">Rows checked</th><th>Record</th></tr></thead>
<tbody>
${verificationRow('Newest', a.last_verification, 'last_verification')}
${verificationRow('Newest full', a.last_full_verification, 'last_full_verification')}
${verificationRow('Newest against a checkpoint', a.last_checkpoint_verification, 'last_checkpoint_verification')}
</tbody>
</table>
<p>Last signed checkpoint verified against: <strong>${cp ? html`${cp.issued_at} (${cp.status})` : 'none'}</strong>.</p>
<table class="data">
<thead><tr><th>Log</th><th class="n">Newest seal</th><th>Sealed at</th><th class="n">Last row sealed</th><th>Oldest row kept</th></tr></thead>
<tbody>${seals.map(([log, s]) => {
    const oldest = (a.oldest_row as Record<string, string | null>)[log] ?? null;
    return html`<tr data-log="${log}">
<td><code>${log}</code></td>
<td class="n">${s ? figure(s.seal_no, ptr('audit', 'seals', log, 'seal_no')) : 'not sealed yet'}</td>
<td>${s ? s.sealed_at : '—'}</td>
<td class="n">${s && s.last_id !== null ? fmt(s.last_id) : '—'}</td>
<td>${oldest ?? '—'}</td>
</tr>`;
  })}</tbody>
</table>
<p>Audit history kept ${figure(a.retention_days, ptr('audit', 'retention_days'))} days; ${fmt(a.archives.length)} monthly archives listed (${fmt(a.archives.filter((x) => x.signed).length)} signed), ${fmt(a.pruned.length)} months pruned.</p>
</section>`;
}

function holdsSection(report: ComplianceReport): Html {
  const h = report.legal_holds;
  return html`<section id="holds">
<h2>Legal holds</h2>
<p class="note">${h.requirement}. Entries kept past retention by holds: ${figure(h.entries_kept_past_retention, ptr('legal_holds', 'entries_kept_past_retention'))}.</p>
<table class="data">
<thead><tr><th>Hold</th><th>Purpose</th><th>Reason</th><th>Case ref</th><th>Placed</th><th class="n">Entries kept</th><th class="n">Past retention</th></tr></thead>
<tbody>${
    h.holds.length > 0
      ? h.holds.map(
          (x, i) => html`<tr data-hold="${x.name}">
<td><code>${x.name}</code></td><td><code>${x.purpose}</code></td><td>${x.reason}</td><td>${x.case_ref ?? '—'}</td><td>${x.created_at}</td>
${num(x.entries_kept, ptr('legal_holds', 'holds', String(i), 'entries_kept'))}
${num(x.entries_past_retention, ptr('legal_holds', 'holds', String(i), 'entries_past_retention'))}
</tr>`,
        )
      : html`<tr><td colspan="7">No legal holds.</td></tr>`
  }</tbody>
</table>
</section>`;
}

function fileName(report: ComplianceReport): string {
  return `compliance-report-${report.generated_at.replace(/[:.]/g, '-')}.jws`;
}

function verifySection(report: ComplianceReport, evidence: ReportEvidence): Html {
  return html`<section id="verify">
<h2>Checking this page offline</h2>
<ol class="steps">
<li>${
    evidence.jws
      ? html`Save the signed report from the link at the top of this page (<code>${fileName(report)}</code>): it is embedded in this page, so it is the very snapshot printed here.`
      : html`This vault has no evidence key: the report is not signed.`
  }</li>
<li>Fetch the vault’s public keys: <code>GET /.well-known/jwks.json</code> (key <code>${evidence.kid ?? '—'}</code>).</li>
<li>Verify the JWS against them and compare the SHA-256 of its payload with the one printed on every page: <code>${evidence.sha256}</code>.</li>
</ol>
<p class="note">A new request makes a new snapshot with a new generation time: <code>GET /compliance/report?format=jws&amp;window_days=${report.window.days}</code> signs that one. The commands are in docs/audit-and-compliance.md.</p>
</section>`;
}

/**
 * The assessor's page: one self-contained HTML document (inline stylesheet and SVG, no script, no external
 * resource) rendered from one report snapshot and its evidence (the SHA-256 of the exact JSON bytes, and
 * the JWS over them, embedded as a `data:` download so the printed page and the verifiable file are the
 * same snapshot). Pure: the same report and evidence give the same page. Every value from data goes
 * through `html`, which escapes it.
 */
export function renderReportPage(report: ComplianceReport, evidence: ReportEvidence): string {
  const identity = evidence.kid ? html`vsql-vault · evidence key <code>${evidence.kid}</code> (${evidence.alg})` : html`vsql-vault · no evidence key`;
  // Printed on every page: the header names the vault and the moment, the footer the digest of the signed report.
  const header = html`<div class="running"><span>${identity}</span><span>generated <span class="mono">${report.generated_at}</span></span></div>`;
  const footer = html`<div class="running"><span>SHA-256 of the signed report <span class="mono">${evidence.sha256}</span></span><span>window ${report.window.days} days</span></div>`;
  const download: Html = evidence.jws
    ? html`<a class="download" download="${fileName(report)}" type="application/jose" href="data:application/jose,${evidence.jws}">Download the signed report (JWS, ${fmt(evidence.jws.length)} bytes)</a>`
    : html`not signed: this vault has no evidence key`;
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>PCI DSS evidence · vsql-vault · ${report.generated_at}</title>
<style>${STYLE_MARKUP}</style>
</head>
<body>
<table class="sheet">
<thead><tr><td>${header}</td></tr></thead>
<tfoot><tr><td>${footer}</td></tr></tfoot>
<tbody><tr><td>
<header>
<h1>PCI DSS evidence report</h1>
<p class="sub">Storage governance of already-encrypted payment data. No value, key or credential appears in this report.</p>
<dl class="meta">
<dt>Generated</dt><dd>${figure(report.generated_at, '/generated_at')}</dd>
<dt>Window</dt><dd>${figure(report.window.since, '/window/since')} – ${figure(report.window.until, '/window/until')} (${figure(report.window.days, '/window/days')} days)</dd>
<dt>Vault</dt><dd>${identity}; public key at <code>/.well-known/jwks.json</code></dd>
</dl>
<div class="evidence">
<div>SHA-256 of the signed JSON report: <code id="report-sha256">${evidence.sha256}</code></div>
<div>${download}</div>
</div>
</header>
${requirementsSection(report)}
${purposesSection(report)}
${activitySection(report)}
${keysSection(report)}
${auditSection(report)}
${holdsSection(report)}
${verifySection(report, evidence)}
</td></tr></tbody>
</table>
</body>
</html>
`;
  return page.text;
}
