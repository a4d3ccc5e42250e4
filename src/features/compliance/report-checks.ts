import type { ComplianceReport } from './compliance.service';

/** One figure behind a marker: a value of the report (`path` is its JSON Pointer, RFC 6901) or one computed from it (no path). */
export interface CheckFigure {
  label: string;
  value: number | string;
  path?: string;
}

/** One PCI DSS requirement the vault evidences, with a plain marker, the rule that sets it and the figures behind it. */
export interface RequirementCheck {
  requirement: string;
  title: string;
  status: 'pass' | 'attention';
  /** When the marker says attention, in one sentence (printed under the figures). */
  rule: string;
  figures: CheckFigure[];
}

const f = (label: string, value: number | string, path?: string): CheckFigure => ({ label, value, ...(path !== undefined && { path }) });

/** Purposes that still hold entries (not purged) but have no retention policy: nothing bounds how long they stay. */
export function purposesWithoutPolicy(report: ComplianceReport): string[] {
  return Object.entries(report.by_purpose)
    .filter(([, p]) => p.policy === null && p.total_entries - p.crypto_shredded > 0)
    .map(([name]) => name);
}

/**
 * The requirement summary of the assessor's page, a pure function of one report: each marker is `attention`
 * exactly when its rule says so, from figures the report itself contains (so the page and the JSON can
 * never disagree). The mapping of requirements to vault controls is the product's (README: PCI DSS v4.0
 * Req 3), with the key-lifecycle (3.6, 3.7) and audit-trail (10.x) sections where the report has figures.
 */
export function requirementChecks(report: ComplianceReport): RequirementCheck[] {
  const { summary, purge_compliance: purge, access_summary: access, keys, audit, legal_holds: holds } = report;
  const withoutPolicy = purposesWithoutPolicy(report);
  const withPolicy = Object.values(report.by_purpose).filter((p) => p.policy !== null).length;
  const last = audit.last_verification;
  const accessSeal = audit.seals.access_log;
  return [
    {
      requirement: '3.1.1',
      title: 'Data retention policies defined and in use',
      status: withoutPolicy.length > 0 ? 'attention' : 'pass',
      rule: 'Attention when a purpose holds entries without a retention policy. Retention beyond policy is justified only by a legal hold (reason and case ref below).',
      figures: [
        f('purposes with a retention policy', withPolicy),
        f('purposes holding entries without one', withoutPolicy.length),
        f('entries kept past retention by legal holds', holds.entries_kept_past_retention, '/legal_holds/entries_kept_past_retention'),
      ],
    },
    {
      requirement: '3.1.2',
      title: 'Data limited to what is needed: expiry enforced by the purge sweep',
      status: summary.expired_pending_purge > 0 || !purge.purge_proof_available || purge.last_sweep?.status === 'failed' ? 'attention' : 'pass',
      rule: 'Attention when entries past expiry or maximum retention await a sweep, when a purge in the window lacks a proof its policy requires (or proof hashing is off), or when the last sweep failed.',
      figures: [
        f('entries past expiry or retention, pending purge', summary.expired_pending_purge, '/summary/expired_pending_purge'),
        f('entries purged in the window', summary.purged_in_window, '/summary/purged_in_window'),
        f(
          'purges in the window without a required proof',
          purge.purges_in_window_without_required_proof,
          '/purge_compliance/purges_in_window_without_required_proof',
        ),
        f('last sweep started', purge.purge_sweep_last_run ?? 'never'),
      ],
    },
    {
      requirement: '3.3.2',
      title: 'Stored data unreadable: the vault holds only client-side ciphertext',
      status: keys.entries_under_compromised_keys > 0 ? 'attention' : 'pass',
      rule: 'The vault never receives plaintext. Attention when ciphertexts remain under a key marked compromised.',
      figures: [
        f('active entries (ciphertext only)', summary.active_entries, '/summary/active_entries'),
        f('crypto-shredded entries', summary.crypto_shredded_entries, '/summary/crypto_shredded_entries'),
        f('entries under compromised keys', keys.entries_under_compromised_keys, '/keys/entries_under_compromised_keys'),
      ],
    },
    {
      requirement: '3.5.1.2',
      title: 'Access to stored data restricted and every decision logged',
      status: access.failed_authentications_in_window > 0 ? 'attention' : 'pass',
      rule: 'Each request is decided by role and per-entry access policy and recorded, granted or denied. Attention when authentications failed in the window (to review).',
      figures: [
        f('access-log rows in the window', access.total_accesses_in_window, '/access_summary/total_accesses_in_window'),
        f('denied in the window', access.denied_accesses_in_window, '/access_summary/denied_accesses_in_window'),
        f('failed authentications in the window', access.failed_authentications_in_window, '/access_summary/failed_authentications_in_window'),
      ],
    },
    {
      requirement: '3.6.1',
      title: 'Key management: the key of every ciphertext is recorded',
      status: keys.entries_without_key_ref > 0 ? 'attention' : 'pass',
      rule: 'Attention when live entries carry no key_ref.',
      figures: [
        f('key references', keys.key_refs_total, '/keys/key_refs_total'),
        f('live entries without a key_ref', keys.entries_without_key_ref, '/keys/entries_without_key_ref'),
      ],
    },
    {
      requirement: '3.7.4',
      title: 'Keys changed at the end of their cryptoperiod',
      status: keys.entries_past_cryptoperiod > 0 ? 'attention' : 'pass',
      rule: 'Attention when ciphertexts are older than their key’s cryptoperiod (re-wrap them).',
      figures: [
        f('entries past their cryptoperiod', keys.entries_past_cryptoperiod, '/keys/entries_past_cryptoperiod'),
        f('re-wraps in the window', keys.rewraps_in_window, '/keys/rewraps_in_window'),
      ],
    },
    {
      requirement: '3.7.5',
      title: 'Retired and compromised keys no longer protect data',
      status: keys.entries_under_retired_keys + keys.entries_under_compromised_keys > 0 ? 'attention' : 'pass',
      rule: 'Attention when any entry is still under a retired or compromised key.',
      figures: [
        f('entries under retired keys', keys.entries_under_retired_keys, '/keys/entries_under_retired_keys'),
        f('entries under compromised keys', keys.entries_under_compromised_keys, '/keys/entries_under_compromised_keys'),
      ],
    },
    {
      requirement: '10.2.1',
      title: 'Audit logs capture every access',
      status: access.total_accesses_in_window > 0 ? 'pass' : 'attention',
      rule: 'Attention when the access log has no row in the window.',
      figures: [f('access-log rows in the window', access.total_accesses_in_window, '/access_summary/total_accesses_in_window')],
    },
    {
      requirement: '10.3.4',
      title: 'Audit log integrity: sealed, verified and signed',
      status: last?.signed === true && last.status === 'intact' ? 'pass' : 'attention',
      rule: 'Pass only when the newest verification record is signed by the evidence key and found both logs intact.',
      figures: [
        f('last verification', last ? `${last.status}${last.signed ? ', signed' : ', not signed'}` : 'none'),
        f('verified at', last?.verified_at ?? '—'),
        f('newest access-log seal', accessSeal ? `#${accessSeal.seal_no} at ${accessSeal.sealed_at}` : 'none'),
      ],
    },
    {
      requirement: '10.5.1',
      title: 'Audit history retained at least twelve months',
      status: audit.retention_days >= 365 ? 'pass' : 'attention',
      rule: 'Attention when audit.retention_days is under 365.',
      figures: [f('retention (days)', audit.retention_days, '/audit/retention_days'), f('oldest access-log row', audit.oldest_row.access_log ?? 'none')],
    },
  ];
}
