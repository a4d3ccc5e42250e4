import { createHash, randomUUID } from 'node:crypto';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceReport } from '../../src/features/compliance/compliance.service';
import { REPORT_TYP } from '../../src/features/compliance/report-jws';
import { createTestVault, type TestVault } from '../support/test-app';
import { atPointer, HOSTILE, isoDate, iso, pageFigures, REPORT_DAY, seedReportWorkload, shownValue, unescapeHtml, WORKLOAD_APPS } from './report-workload';

const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const JOSE = { Accept: 'application/jose' };
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** The JWS a page embeds as its download link (data:application/jose,<compact JWS>). */
function embeddedJws(page: string): string {
  const links = [...page.matchAll(/href="data:application\/jose,([A-Za-z0-9_\-.]+)"/g)];
  expect(links).toHaveLength(1);
  return links[0]![1]!;
}
const payloadOf = (jws: string) => Buffer.from(jws.split('.')[1]!, 'base64url');
const shownSha256 = (page: string) => /<code id="report-sha256">([0-9a-f]{64})<\/code>/.exec(page)?.[1];

describe('the assessor’s view of GET /compliance/report', () => {
  let vault: TestVault;
  let values: string[];
  let jwks: JSONWebKeySet;

  async function get(path: string, headers: Record<string, string>, as = 'qsa') {
    const requestId = `page-${randomUUID()}`;
    const res = await vault.request('GET', path, { as, headers: { ...headers, 'X-Request-Id': requestId } });
    return { res, requestId, text: await res.text() };
  }
  const rowsOf = (requestId: string) =>
    vault.db.query<{ operation: string; app: string; granted: boolean; status: number; reason: string | null }>(
      'select operation, app, granted, status, reason from vault.access_log where request_id = $1',
      [requestId],
    );

  beforeAll(async () => {
    vault = await createTestVault({ apps: WORKLOAD_APPS });
    ({ values } = await seedReportWorkload(vault));
    jwks = (await (await vault.request('GET', '/.well-known/jwks.json')).json()) as JSONWebKeySet;
  });
  afterAll(() => vault.close());

  it('shows the JSON report’s figures for the known workload, each tied to its place in the JSON', async () => {
    const json = await get('/compliance/report', {});
    const report = JSON.parse(json.text) as ComplianceReport;
    const page = await get('/compliance/report', HTML);
    expect(page.res.status).toBe(200);
    expect(page.res.headers.get('content-type')).toBe('text/html; charset=utf-8');

    // The page's snapshot is a moment later: it counts the JSON request's granted row, and nothing else moved.
    const expected = structuredClone(report);
    expected.access_summary.total_accesses_in_window += 1;
    expected.access_summary.total_accesses_last_30_days += 1;
    const figures = pageFigures(page.text);
    expect(figures.length).toBeGreaterThan(50);
    for (const { pointer, shown } of figures) {
      const value = atPointer(expected, pointer);
      expect(value, pointer).not.toBeUndefined();
      expect(shownValue(shown, value), pointer).toEqual(value);
    }
    // And exactly the report it embeds (the same snapshot, signed).
    const embedded = JSON.parse(payloadOf(embeddedJws(page.text)).toString('utf8')) as ComplianceReport;
    expect({ ...embedded, generated_at: expected.generated_at }).toEqual(expected);
    for (const { pointer, shown } of figures) expect(shownValue(shown, atPointer(embedded, pointer)), pointer).toEqual(atPointer(embedded, pointer));

    // The known workload, figure by figure where the page shows it.
    const shown = Object.fromEntries(figures.map((f) => [f.pointer, f.shown]));
    expect(shown).toMatchObject({
      '/generated_at': iso(REPORT_DAY),
      '/window/since': iso(REPORT_DAY - 30),
      '/window/days': '30',
      '/by_purpose/card/active': '2', // c-1 (held), c-4
      '/by_purpose/card/expired_pending_purge': '1', // c-3
      '/by_purpose/card/entries_expiring_next_30_days': '1', // c-4
      '/by_purpose/card/purged_in_window': '1', // c-2
      '/by_purpose/token/crypto_shredded': '2',
      '/by_purpose/token/active': '1', // t-3
      '/by_purpose/token/entries_expiring_next_30_days': '1', // t-3 expires on day 75
      '/summary/purged_in_window': '3',
      '/keys/entries_past_cryptoperiod': '1', // c-1: 50 days old under a 30-day cryptoperiod
      '/legal_holds/holds/0/entries_kept': '1',
      '/access_summary/failed_authentications_in_window': '1',
    });
    const markers = Object.fromEntries([...page.text.matchAll(/data-requirement="([^"]+)" data-status="([^"]+)"/g)].map((m) => [m[1], m[2]]));
    expect(markers).toEqual({
      '3.1.1': 'pass',
      '3.1.2': 'attention', // c-3 awaits the sweep
      '3.3.2': 'pass',
      '3.5.1.2': 'attention', // a failed authentication on day 40
      '3.6.1': 'attention', // c-3 has no key_ref
      '3.7.4': 'attention',
      '3.7.5': 'pass',
      '10.2.1': 'pass',
      '10.3.4': 'attention', // never verified
      '10.5.1': 'pass',
    });
  });

  it('adds purges and denials per day to the JSON (additively), and charts exactly those', async () => {
    const report = JSON.parse((await get('/compliance/report', {})).text) as ComplianceReport;
    expect(report.purge_compliance.purged_by_day_in_window).toEqual({ [isoDate(32)]: 2, [isoDate(40)]: 1 });
    const denied = report.access_summary.denied_by_day_in_window;
    expect(Object.keys(denied)).toEqual([isoDate(32), isoDate(40), ...Object.keys(denied).slice(2)]);
    expect(denied[isoDate(32)]).toBe(2); // the 410 and the 403
    expect(denied[isoDate(40)]).toBe(1); // the 401
    expect(Object.values(denied).reduce((a, b) => a + b, 0)).toBe(report.access_summary.denied_accesses_in_window);

    const page = (await get('/compliance/report?format=html', {})).text;
    for (const [id, series] of [
      ['purges-chart', report.purge_compliance.purged_by_day_in_window],
      ['denials-chart', denied],
    ] as const) {
      const chart = new RegExp(`<figure class="chart" id="${id}"[\\s\\S]*?</figure>`).exec(page)![0];
      const bars = [...chart.matchAll(/data-from="([\d-]+)" data-to="([\d-]+)" data-count="(\d+)"/g)].map((m) => ({ from: m[1]!, count: Number(m[3]) }));
      expect(bars).toHaveLength(31); // every UTC day from day 20 to day 50
      expect(bars[0]!.from).toBe(isoDate(REPORT_DAY - 30));
      for (const bar of bars) expect(bar.count, `${id} ${bar.from}`).toBe(series[bar.from] ?? 0);
    }
  });

  it('is self-contained: no script, no external resource, no inline handler or style attribute; its CSP allows only its stylesheet', async () => {
    const { res, text } = await get('/compliance/report?format=html', {});
    expect(text).toMatch(/^<!doctype html>/);
    expect(text).not.toMatch(/<script/i);
    expect(text).not.toMatch(/https?:\/\//i);
    expect(text).not.toMatch(/@import|url\(/i);
    // Data never opens a tag (it is escaped), so every `<` starts one of the page's own tags: check their attributes.
    const tags = [...text.matchAll(/<[a-zA-Z][^>]*>/g)].map((m) => m[0]);
    expect(tags.length).toBeGreaterThan(100);
    expect(tags.filter((t) => /^<(link|img|iframe|object|embed|base|form|script|audio|video|source)\b/i.test(t))).toEqual([]);
    expect(tags.filter((t) => /\s(src|srcset|action|style|on[a-z]+)\s*=/i.test(t))).toEqual([]);
    expect(tags.filter((t) => /http-equiv/i.test(t))).toEqual([]);
    const hrefs = tags.flatMap((t) => [...t.matchAll(/\shref\s*=\s*"([^"]*)"/gi)].map((m) => m[1]!));
    expect(hrefs).toHaveLength(1);
    expect(hrefs[0]).toMatch(/^data:application\/jose,/);

    const styles = [...text.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]!).digest('base64');
    const csp = res.headers.get('content-security-policy');
    expect(csp).toBe(`default-src 'none'; frame-ancestors 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`);
    expect(csp).not.toMatch(/unsafe|script-src/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('vary')).toBe('Accept');
  });

  it('escapes every string that comes from data: a hold’s reason and case_ref, a key_ref, a policy description', async () => {
    const { text } = await get('/compliance/report', HTML);
    expect(text).not.toContain('<script');
    expect(text).not.toContain('<img');
    expect(text).not.toContain('<b>bold');
    expect(text.match(/<\/style>/g)).toHaveLength(1); // the page's own; the description's is escaped
    expect(text).toContain('&lt;script&gt;alert(&quot;reason&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;');
    expect(text).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(text).toContain('&lt;/style&gt;&lt;script&gt;alert(&#39;description&#39;)&lt;/script&gt;');
    // Decoded, the page says exactly what was stored.
    const plain = unescapeHtml(text);
    for (const hostile of Object.values(HOSTILE)) expect(plain).toContain(hostile);
  });

  it('never contains a value, a key or a credential', async () => {
    const page = (await get('/compliance/report?window_days=3650', HTML)).text;
    const jws = (await get('/compliance/report?window_days=3650', JOSE)).text;
    const decoded = `${page}\n${payloadOf(embeddedJws(page)).toString('utf8')}\n${payloadOf(jws).toString('utf8')}`;
    expect(decoded).not.toContain('vault:v1');
    expect(decoded).not.toContain('encrypted_value');
    for (const value of values) expect(decoded).not.toContain(value);
    for (const key of Object.values(vault.keys)) expect(decoded).not.toContain(key);
    expect(decoded).not.toMatch(/PRIVATE KEY|"d":/);
  });

  it('signs the JSON report as a compact JWS that verifies against /.well-known/jwks.json, and fails after one changed byte', async () => {
    for (const [path, headers] of [
      ['/compliance/report?window_days=60', JOSE],
      ['/compliance/report?window_days=60&format=jws', {}],
    ] as const) {
      const { res, text } = await get(path, headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/jose');
      const { payload, protectedHeader } = await compactVerify(text, createLocalJWKSet(jwks));
      expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: vault.auditSigner!.kid, typ: REPORT_TYP });
      const report = JSON.parse(new TextDecoder().decode(payload)) as ComplianceReport;
      expect(report.window).toEqual({ days: 60, since: iso(REPORT_DAY - 60), until: iso(REPORT_DAY) });
      expect(Object.keys(report)).toEqual(Object.keys(JSON.parse((await get('/compliance/report?window_days=60', {})).text) as object));

      // One changed byte of the payload, then of the signature: neither verifies.
      const [h, p, s] = text.split('.') as [string, string, string];
      const bytes = Buffer.from(p, 'base64url');
      bytes[10] = bytes[10]! ^ 0x01;
      await expect(compactVerify(`${h}.${bytes.toString('base64url')}.${s}`, createLocalJWKSet(jwks))).rejects.toThrow();
      const sig = Buffer.from(s, 'base64url');
      sig[0] = sig[0]! ^ 0x01;
      await expect(compactVerify(`${h}.${p}.${sig.toString('base64url')}`, createLocalJWKSet(jwks))).rejects.toThrow();
    }
  });

  it('prints the SHA-256 of the exact payload bytes its embedded JWS signs, on the page and in every page footer', async () => {
    const { text } = await get('/compliance/report', HTML);
    const jws = embeddedJws(text);
    expect(decodeProtectedHeader(jws).typ).toBe(REPORT_TYP);
    const { payload } = await compactVerify(jws, createLocalJWKSet(jwks));
    const digest = sha256(Buffer.from(payload));
    expect(shownSha256(text)).toBe(digest);
    expect(digest).toBe(sha256(payloadOf(jws)));
    expect(text).toContain(`<tfoot><tr><td><div class="running">`);
    expect(/<tfoot>[\s\S]*?<\/tfoot>/.exec(text)![0]).toContain(digest);
    // The same bytes GET /compliance/report would serve as JSON for that snapshot.
    const report = JSON.parse(Buffer.from(payload).toString('utf8')) as ComplianceReport;
    expect(JSON.stringify(report)).toBe(Buffer.from(payload).toString('utf8'));
    expect(/download="([^"]+)"/.exec(text)?.[1]).toBe(`compliance-report-${report.generated_at.replace(/[:.]/g, '-')}.jws`);
  });

  it.each([
    ['no Accept', {}, 'application/json'],
    ['*/*', { Accept: '*/*' }, 'application/json'],
    ['an unknown type', { Accept: 'application/xml' }, 'application/json'],
    ['a malformed header', { Accept: ';;,q=,text/html;q=abc' }, 'application/json'],
    ['JSON preferred over HTML', { Accept: 'text/html;q=0.5, application/json' }, 'application/json'],
    ['a browser', HTML, 'text/html; charset=utf-8'],
    ['application/jose', JOSE, 'application/jose'],
    ['?format=json over Accept', { Accept: 'text/html', 'X-Format': '?format=json' }, 'application/json'],
  ])('negotiates %s', async (_, headers: Record<string, string>, type) => {
    const { 'X-Format': query = '', ...rest } = headers;
    const { res } = await get(`/compliance/report${query}`, rest);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(new RegExp(`^${type.replace(/[+.]/g, '\\$&')}`));
  });

  it('is the one compliance.report operation: auditors get every variant, other apps a 403, each request one access-log row', async () => {
    for (const [headers, query, as] of [
      [HTML, '', 'html'],
      [{}, '?format=html', 'html'],
      [JOSE, '', 'jws'],
      [{}, '?format=jws&window_days=7', 'jws'],
      // The page's own path: the page whatever the Accept header.
      [JOSE, '.html?window_days=7', 'html'],
    ] as const) {
      const ok = await get(`/compliance/report${query}`, headers);
      if (as === 'html') expect(ok.res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(ok.res.status).toBe(200);
      const window = query.includes('window_days=7') ? 7 : 30;
      expect(await rowsOf(ok.requestId)).toEqual([
        { operation: 'compliance.report', app: 'qsa', granted: true, status: 200, reason: `window ${window} days, as ${as}` },
      ]);

      const denied = await get(`/compliance/report${query}`, headers, 'pay');
      expect(denied.res.status).toBe(403);
      expect(denied.res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((JSON.parse(denied.text) as { code: string }).code).toBe('forbidden');
      expect(denied.text).not.toContain('<');
      expect(await rowsOf(denied.requestId)).toEqual([{ operation: 'compliance.report', app: 'pay', granted: false, status: 403, reason: 'role_required' }]);
    }
    const admin = await get('/compliance/report', HTML, 'admin');
    expect(admin.res.status).toBe(200);
    expect(await rowsOf(admin.requestId)).toHaveLength(1);

    const bad = await get('/compliance/report?format=pdf', HTML);
    expect(bad.res.status).toBe(400);
    expect(bad.res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await rowsOf(bad.requestId)).toEqual([{ operation: 'compliance.report', app: 'qsa', granted: false, status: 400, reason: 'validation_failed' }]);

    const anonymous = await vault.request('GET', '/compliance/report', { headers: HTML });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

describe('the assessor’s view of a vault without an evidence key', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: WORKLOAD_APPS, auditSigner: false });
  });
  afterAll(() => vault.close());

  it('still prints the page with the SHA-256 of the JSON, says it is not signed, and refuses the JWS (422, audited)', async () => {
    await vault.request('GET', '/compliance/report', { as: 'qsa' }); // so the access log's oldest row is the same for both snapshots
    const before = JSON.parse(await (await vault.request('GET', '/compliance/report', { as: 'qsa' })).text()) as ComplianceReport;
    const page = await vault.request('GET', '/compliance/report', { as: 'qsa', headers: HTML });
    const text = await page.text();
    expect(page.status).toBe(200);
    expect(text).not.toContain('data:application/jose');
    expect(text).toContain('not signed: this vault has no evidence key');
    // The page's snapshot is the JSON just fetched plus that request's own row: its bytes hash to what the page shows.
    before.access_summary.total_accesses_in_window += 1;
    before.access_summary.total_accesses_last_30_days += 1;
    expect(shownSha256(text)).toBe(sha256(JSON.stringify(before)));

    const requestId = `page-${randomUUID()}`;
    const jws = await vault.request('GET', '/compliance/report', { as: 'qsa', headers: { ...JOSE, 'X-Request-Id': requestId } });
    expect(jws.status).toBe(422);
    expect(jws.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await vault.db.query('select operation, granted, status, reason from vault.access_log where request_id = $1', [requestId])).toEqual([
      { operation: 'compliance.report', granted: false, status: 422, reason: 'no_evidence_key' },
    ]);
  });
});
