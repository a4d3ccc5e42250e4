import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceReport } from '../../src/features/compliance/compliance.service';
import { startListener, type Listening } from '../../src/server';
import { createTestVault, type TestVault } from '../support/test-app';
import { atPointer, HOSTILE, iso, REPORT_DAY, seedReportWorkload, shownValue, WORKLOAD_APPS } from '../compliance/report-workload';

const OUTPUT = new URL('./output/', import.meta.url).pathname;
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The page's sections: a forced page break before "Retention per purpose" and before "Key ages", so three printed pages for this workload. */
const EXPECTED_PAGES = 3;

/** Pages of a PDF as Chromium writes it: every `/Type /Page` object that is not the `/Pages` tree. */
const countPdfPages = (pdf: Buffer) => (pdf.toString('latin1').match(/\/Type\s*\/Page(?!s)\b/g) ?? []).length;
/** One page's text (poppler's pdftotext: Chromium compresses its content streams). */
const pdfPageText = (file: string, page: number) =>
  execFileSync('pdftotext', ['-layout', '-f', String(page), '-l', String(page), file, '-'], { encoding: 'utf8' });

describe('the assessor’s page in a real browser', () => {
  let vault: TestVault;
  let listening: Listening;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let jwks: JSONWebKeySet;
  /** The JSON report fetched just before the page: the page's snapshot is this plus that request's own row. */
  let before: ComplianceReport;
  const requestId = `browser-${randomUUID()}`;
  /** Every request the browser made, and everything it complained about. */
  const requests: string[] = [];
  const complaints: string[] = [];

  beforeAll(async () => {
    rmSync(OUTPUT, { recursive: true, force: true });
    mkdirSync(OUTPUT, { recursive: true });
    vault = await createTestVault({ apps: WORKLOAD_APPS, config: { server: { listen_addr: '127.0.0.1:0' } } });
    await seedReportWorkload(vault);
    listening = await startListener(vault.app.fetch, vault.config);
    base = `http://127.0.0.1:${listening.port}`;
    jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    before = (await (await fetch(`${base}/compliance/report`, { headers: { 'X-Vault-Key': vault.keys.qsa! } })).json()) as ComplianceReport;

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    // Every request of this context carries the auditor's key and one request id: the access log then shows what the browser fetched.
    context = await browser.newContext({
      viewport: { width: 1200, height: 900 },
      acceptDownloads: true,
      extraHTTPHeaders: { 'X-Vault-Key': vault.keys.qsa!, 'X-Request-Id': requestId },
    });
    context.on('request', (r) => {
      requests.push(r.url());
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') complaints.push(m.text());
    });
    page.on('pageerror', (e) => complaints.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => listening?.server.close(resolve));
    await vault?.close();
  });

  it('loads from the listener as a browser asks for it (Accept: text/html), under the listener’s headers and the page’s own CSP', async () => {
    const res = await page.goto(`${base}/compliance/report`, { waitUntil: 'load' });
    expect(res!.status()).toBe(200);
    const headers = res!.headers();
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    expect(headers['content-security-policy']).toMatch(
      /^default-src 'none'; frame-ancestors 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; base-uri 'none'; form-action 'none'$/,
    );
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('DENY');
    await page.waitForTimeout(500); // anything the page might fetch late (a favicon, a font) has time to show up
    // The stylesheet applied (its hash matched the CSP): the pass marker has its background.
    const passBackground = await page.$eval(
      '.mark.pass',
      (e) => (globalThis as unknown as { getComputedStyle(el: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor,
    );
    expect(passBackground).toBe('rgb(218, 251, 225)');
    expect(complaints).toEqual([]);
    // Hostile strings from data are text in the DOM, never elements.
    expect(await page.$$('script, img, iframe, object, embed, link')).toEqual([]);
    expect(await page.textContent('#holds')).toContain(HOSTILE.reason);
  });

  it('shows the JSON report’s figures', async () => {
    const figures = await page.$$eval('[data-figure]', (els) => els.map((e) => ({ pointer: e.getAttribute('data-figure')!, shown: e.textContent ?? '' })));
    expect(figures.length).toBeGreaterThan(50);
    const expected = structuredClone(before);
    expected.access_summary.total_accesses_in_window += 1;
    expected.access_summary.total_accesses_last_30_days += 1;
    for (const { pointer, shown } of figures) {
      const value = atPointer(expected, pointer);
      expect(value, pointer).not.toBeUndefined();
      expect(shownValue(shown, value), pointer).toEqual(value);
    }
    expect(await page.textContent('[data-figure="/generated_at"]')).toBe(iso(REPORT_DAY));
    // The charts' bars are the per-day series.
    const purgeBars = await page.$$eval('#purges-chart rect.bar', (els) => els.map((e) => Number(e.getAttribute('data-count'))));
    expect(purgeBars).toHaveLength(31);
    expect(purgeBars.reduce((a, b) => a + b, 0)).toBe(expected.summary.purged_in_window);
    const markers = await page.$$eval('[data-requirement]', (els) => els.map((e) => `${e.getAttribute('data-requirement')} ${e.getAttribute('data-status')}`));
    expect(markers).toContain('3.1.2 attention');
    expect(markers).toContain('10.5.1 pass');
  });

  it('downloads the very snapshot it shows as a JWS that verifies against the served JWKS', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.download')]);
    // Kept beside the PDFs with the JWKS, so the offline check in docs/audit-and-compliance.md can be run on them.
    await download.saveAs(join(OUTPUT, 'compliance-report.jws'));
    writeFileSync(join(OUTPUT, 'jwks.json'), JSON.stringify(jwks));
    const jws = readFileSync(join(OUTPUT, 'compliance-report.jws'), 'utf8');
    expect(download.suggestedFilename()).toBe(`compliance-report-${iso(REPORT_DAY).replace(/[:.]/g, '-')}.jws`);
    const { payload } = await compactVerify(jws, createLocalJWKSet(jwks));
    expect(createHash('sha256').update(payload).digest('hex')).toBe(await page.textContent('#report-sha256'));
  });

  it('made no request but the page itself', async () => {
    expect(requests.filter((u) => !u.startsWith('data:'))).toEqual([`${base}/compliance/report`]);
    // The vault saw the same: one access-log row under the browser's request id.
    expect(await vault.db.query('select operation, granted, reason from vault.access_log where request_id = $1', [requestId])).toEqual([
      { operation: 'compliance.report', granted: true, reason: 'window 30 days, as html' },
    ]);
  });

  it('saves a screenshot, and prints to A4 and Letter with the generation time, the vault’s identity and the digest on every page', async () => {
    await page.screenshot({ path: join(OUTPUT, 'compliance-report.png'), clip: { x: 0, y: 0, width: 1200, height: 1500 } });
    await page.screenshot({ path: join(OUTPUT, 'compliance-report-full.png'), fullPage: true });
    const png = readFileSync(join(OUTPUT, 'compliance-report.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1200); // IHDR width

    const digest = (await page.textContent('#report-sha256'))!;
    const kid = vault.auditSigner!.kid;
    for (const format of ['A4', 'Letter'] as const) {
      const file = join(OUTPUT, `compliance-report-${format}.pdf`);
      const pdf = await page.pdf({ path: file, format, printBackground: true });
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      expect(countPdfPages(pdf), format).toBe(EXPECTED_PAGES);
      const pages = Array.from({ length: EXPECTED_PAGES }, (_, i) => pdfPageText(file, i + 1));
      for (const [i, text] of pages.entries()) {
        const flat = text.replace(/\s+/g, '');
        expect(flat, `${format} page ${i + 1}`).toContain(iso(REPORT_DAY));
        expect(flat, `${format} page ${i + 1}`).toContain(kid);
        expect(flat, `${format} page ${i + 1}`).toContain(digest);
      }
      expect(pages[0]).toContain('PCI DSS evidence report');
      expect(pages[0]).toContain('3.5.1.2');
      expect(pages[1]).toContain('Retention per purpose');
      expect(pages[1]).toContain('Purges and denials over the window');
      expect(pages[2]).toContain('Key ages against their cryptoperiods');
      expect(pages[2]).toContain('Audit trail');
      // Hostile data is printed as the text it is (the page escaped it; the browser never parsed it as markup).
      expect(pages[1]!.replace(/\s+/g, '')).toContain(HOSTILE.description.replace(/\s+/g, ''));
    }
  });
});
