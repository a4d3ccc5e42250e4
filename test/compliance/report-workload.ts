import type { TestVault } from '../support/test-app';

const DAY = 86_400_000;
export const T0 = new Date('2026-06-01T12:00:00.000Z').getTime();
export const day = (n: number) => new Date(T0 + n * DAY);
export const iso = (n: number) => day(n).toISOString();
export const isoDate = (n: number) => iso(n).slice(0, 10);
/** The day the report is made (window 30 days: since day 20). */
export const REPORT_DAY = 50;

/** Strings from data that must reach the page escaped, never as markup. */
export const HOSTILE = {
  reason: '<script>alert("reason")</script> & <b>bold</b>',
  caseRef: '"><img src=x onerror=alert(1)>',
  description: "</style><script>alert('description')</script>",
  keyRef: '<script>alert(1)</script>',
};
export const VALUE = (id: string) => `vault:v1:AES256-GCM:keyid=7:${Buffer.from(`secret-${id}`).toString('base64')}`;

/** The apps the workload needs: `pay` stores, `other` is refused, `qsa` is the assessor (auditor role). */
export const WORKLOAD_APPS = [{ name: 'pay' }, { name: 'other' }, { name: 'qsa', roles: ['auditor' as const] }];

async function expectStatus(res: Promise<Response>, status: number, what: string) {
  const r = await res;
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status} ${await r.text()}`);
}

/**
 * A known workload over fifty days, ending with the clock on REPORT_DAY:
 * - card (365 days, proof): c-1 and c-2 under kms:card-v1 (registered, cryptoperiod 30 days) on day 0; c-2
 *   purged by the API on day 40; c-3 stored on day 40 expiring day 41 (pending purge on day 50); c-4 on
 *   day 45 expiring day 60 (in the next 30 days); a legal hold on c-1 whose reason and case_ref are hostile.
 * - token (60 days, crypto-shred, description hostile): t-1 and t-2 under a hostile key_ref, expiring day
 *   30, shredded by a sweep on day 32.
 * - denials: day 32 a 410 (purged) and a 403 (not the owner); day 40 a 401 (wrong key).
 * Returns the stored values (which must never appear in a report).
 */
export async function seedReportWorkload(vault: TestVault): Promise<{ values: string[] }> {
  const values: string[] = [];
  const put = async (purpose: string, id: string, extra: Record<string, unknown> = {}) => {
    values.push(VALUE(id));
    await expectStatus(vault.request('PUT', `/vault/${purpose}/${id}`, { as: 'pay', body: { encrypted_value: VALUE(id), ...extra } }), 201, `store ${id}`);
  };
  vault.clock.set(day(0));
  await expectStatus(
    vault.request('PUT', '/admin/retention-policies/card', {
      as: 'admin',
      body: { max_retention_days: 365, default_ttl_days: 90, purge_method: 'physical-delete', require_purge_proof: true, description: 'Card tokens' },
    }),
    201,
    'card policy',
  );
  await expectStatus(
    vault.request('PUT', '/admin/retention-policies/token', {
      as: 'admin',
      body: { max_retention_days: 60, default_ttl_days: 30, purge_method: 'crypto-shred', description: HOSTILE.description },
    }),
    201,
    'token policy',
  );
  await expectStatus(vault.request('PUT', '/admin/keys/kms:card-v1', { as: 'admin', body: { status: 'active', cryptoperiod_days: 30 } }), 201, 'key');
  await put('card', 'c-1', { key_ref: 'kms:card-v1' });
  await put('card', 'c-2', { key_ref: 'kms:card-v1' });
  await put('token', 't-1', { key_ref: HOSTILE.keyRef });
  await put('token', 't-2', { key_ref: HOSTILE.keyRef });

  vault.clock.set(day(32));
  await expectStatus(vault.request('POST', '/admin/purge/sweep', { as: 'admin' }), 200, 'sweep');
  await expectStatus(vault.request('GET', '/vault/token/t-1', { as: 'pay' }), 410, 'read a shredded entry');
  await expectStatus(vault.request('GET', '/vault/card/c-1', { as: 'other' }), 403, 'read another app’s entry');

  vault.clock.set(day(40));
  await expectStatus(vault.request('DELETE', '/vault/card/c-2', { as: 'pay' }), 200, 'purge c-2');
  await put('card', 'c-3', { expires_at: iso(41) });
  await expectStatus(vault.request('GET', '/vault/card/c-1', { rawKey: 'not-a-real-key' }), 401, 'wrong key');

  vault.clock.set(day(45));
  await put('card', 'c-4', { expires_at: iso(60), key_ref: 'kms:card-v1' });
  await put('token', 't-3', { key_ref: HOSTILE.keyRef });
  await expectStatus(
    vault.request('PUT', '/admin/holds/chargeback-7', {
      as: 'admin',
      body: { purpose: 'card', external_ids: ['c-1'], reason: HOSTILE.reason, case_ref: HOSTILE.caseRef },
    }),
    201,
    'hold',
  );
  vault.clock.set(day(REPORT_DAY));
  return { values };
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
export const unescapeHtml = (s: string) => s.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!);

/** Every `data-figure` of a page: its JSON Pointer and the text shown (entities decoded). */
export function pageFigures(page: string): { pointer: string; shown: string }[] {
  return [...page.matchAll(/<span data-figure="([^"]*)">([^<]*)<\/span>/g)].map((m) => ({ pointer: unescapeHtml(m[1]!), shown: unescapeHtml(m[2]!) }));
}

/** The value at an RFC 6901 pointer. */
export function atPointer(doc: unknown, pointer: string): unknown {
  let at: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    at = (at as Record<string, unknown> | undefined)?.[key];
  }
  return at;
}

/** A shown figure as the value it stands for: numbers are printed with thousands separators. */
export const shownValue = (shown: string, expected: unknown) => (typeof expected === 'number' ? Number(shown.replace(/,/g, '')) : shown);
