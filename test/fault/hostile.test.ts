import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestVault, type TestVault } from '../support/test-app';
import { CARD_POLICY, putRetention } from '../support/fixtures';

/**
 * Hostile input, generated: paths (odd unicode, control characters, traversal, encodings, very long ids),
 * headers (very long, odd preconditions and media types, forged identities) and bodies (huge and deeply
 * nested JSON, wrong types, duplicate keys, prototype keys, bytes that are not JSON) against the app in
 * process (createTestVault: PGlite, or PostgreSQL with VAULT_TEST_DATABASE_URL). Whatever comes in:
 * never a 5xx, an error is always a problem+json that does not echo the submitted value, and a row is
 * stored only by a store the vault acknowledged with a valid key — never by refused input.
 *
 * Runs are bounded so the file takes well under a minute; FAULT_HOSTILE_RUNS scales them, and a failure
 * prints fast-check's seed and path to replay it.
 */
const RUNS = Number(process.env.FAULT_HOSTILE_RUNS ?? 250);
const PURPOSE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const EXTERNAL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const MARKER = 'SECRET-CIPHERTEXT-7f3a9c';

describe.skipIf(!inject('faultDist'))('hostile input never breaks the vault', () => {
  let vault: TestVault;
  let seq = 0;
  let sentCount = 0;
  const statuses = new Map<number, number>();
  /** Prints how many generated requests reached the app and what it answered (skipped ones never left). */
  const tally = (label: string) => {
    console.log(
      `hostile ${label}: ${sentCount} requests reached the app; statuses ${[...statuses]
        .sort((a, b) => a[0] - b[0])
        .map(([k, v]) => `${k}×${v}`)
        .join(' ')}`,
    );
    sentCount = 0;
    statuses.clear();
  };
  const next = () => `h${++seq}`;

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
    await putRetention(vault, 'card', CARD_POLICY);
  });
  afterAll(() => vault.close());

  const entryCount = async () => (await vault.db.query<{ n: number }>('select count(*)::int as n from vault.entries'))[0]!.n;
  const grantedStores = async () =>
    (await vault.db.query<{ n: number }>(`select count(*)::int as n from vault.access_log where operation = 'store' and granted`))[0]!.n;

  /**
   * Sends one request through the app's own fetch. Input the platform refuses to even build (an invalid
   * URL, a header value with control characters) never reaches a server, so it is skipped (undefined).
   */
  async function send(method: string, path: string, init: { headers?: Record<string, string>; body?: string | Uint8Array; as?: string } = {}) {
    let request: Request;
    try {
      const headers = new Headers(init.headers);
      if (init.as && !headers.has('x-vault-key')) headers.set('X-Vault-Key', vault.keys[init.as]!);
      request = new Request(`http://localhost${path}`, { method, headers, ...(init.body !== undefined && { body: init.body as RequestInit['body'] }) });
    } catch {
      return undefined;
    }
    const res = await vault.app.fetch(request);
    sentCount++;
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const text = method === 'HEAD' ? '' : await res.text();
    return { res, text, url: new URL(request.url) };
  }

  /** The answer-level invariants every request must keep. */
  function checkAnswer(answer: { res: Response; text: string }, what: string) {
    const { res, text } = answer;
    expect(res.status, `${what} → ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);
    if (res.status >= 400 && text !== '') {
      expect(res.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
      const body = JSON.parse(text) as { status: number; code: string };
      expect(body.status, what).toBe(res.status);
      expect(text, `${what}: the error echoes the submitted value`).not.toContain(MARKER);
    }
  }

  /** Row-level invariant: the entry count moved only by an acknowledged create, and never otherwise. */
  async function checkRows(before: { entries: number; stores: number }, answer: { res: Response }, what: string, entryStore = true, purge = false) {
    const after = { entries: await entryCount(), stores: await grantedStores() };
    // An acknowledged create adds one entry; an acknowledged purge (a generated DELETE that hit an entry
    // an earlier run created) removes one; nothing else moves the count.
    const expected = entryStore && answer.res.status === 201 ? 1 : purge && answer.res.status === 200 ? -1 : 0;
    expect(after.entries - before.entries, `${what}: entries ${before.entries} → ${after.entries} on a ${answer.res.status}`).toBe(expected);
    const stored = entryStore && (answer.res.status === 201 || answer.res.status === 200) ? 1 : 0;
    expect(after.stores - before.stores, `${what}: granted store rows on a ${answer.res.status}`).toBeLessThanOrEqual(stored);
  }

  const snapshot = async () => ({ entries: await entryCount(), stores: await grantedStores() });

  const traversal = fc.constantFrom(
    '..',
    '.',
    '../',
    '..%2f',
    '..%2F',
    '%2e%2e',
    '%2e%2e%2f',
    '%2E%2E/',
    '.%2e',
    '%2f',
    '%5c',
    '..\\',
    '..;',
    '..;/',
    '%00',
    '%0a',
    '%0d%0a',
    '%ff',
    '%',
    '%%',
    '%zz',
    '%252e%252e',
    '%c0%ae%c0%ae',
    '....//',
    '//',
    '/./',
    '~',
    '*',
    '?',
    '#',
    ' ',
    '%20',
    '\u0000',
    '\u202e',
    '\ufeff',
    'card/../../admin/purge/sweep',
    '..%2f..%2fadmin',
    'CON',
    'a'.repeat(201),
    'a'.repeat(2100),
  );
  const segment = fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
    { weight: 2, arbitrary: traversal },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', '9', '.', '-', ':', '_', '%', '/'), minLength: 150, maxLength: 2500 }) },
  );
  const maybeEncoded = fc.tuple(segment, fc.boolean()).map(([s, enc]) => {
    if (!enc) return s;
    try {
      return encodeURIComponent(s);
    } catch {
      return s; // a lone surrogate cannot be encoded: send it raw
    }
  });

  it('paths: odd unicode, control characters, traversal, encodings and very long ids', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('PUT', 'GET', 'HEAD', 'DELETE', 'POST', 'PATCH'),
        fc.oneof(
          fc.tuple(fc.constant('/vault/'), maybeEncoded, fc.constant('/'), maybeEncoded).map((p) => p.join('')),
          fc.tuple(fc.constant('/vault/card/'), maybeEncoded).map((p) => p.join('')),
          fc
            .tuple(fc.constantFrom('/', '/admin/', '/vault/', '/compliance/', '/.well-known/'), maybeEncoded, fc.constantFrom('', '/', '/x', '?limit=1'))
            .map((p) => p.join('')),
        ),
        fc.constantFrom('pay', 'admin'),
        async (method, path, as) => {
          const before = await snapshot();
          const body = method === 'PUT' ? JSON.stringify({ encrypted_value: MARKER, access_policy: 'owner-only' }) : undefined;
          const answer = await send(method, path, { as, headers: { 'Content-Type': 'application/json' }, ...(body !== undefined && { body }) });
          if (!answer) return;
          const what = `${method} ${JSON.stringify(path).slice(0, 200)} as ${as}`;
          checkAnswer(answer, what);
          const entryStore = method === 'PUT' && answer.url.pathname.startsWith('/vault/');
          await checkRows(before, answer, what, entryStore, method === 'DELETE' && answer.url.pathname.startsWith('/vault/'));
          if (entryStore && (answer.res.status === 201 || answer.res.status === 200)) {
            // Whatever was stored lives under a key the API allows, the one the URL named after decoding.
            const [, root, purpose, id, ...rest] = answer.url.pathname.split('/');
            expect(root, what).toBe('vault');
            expect(rest, what).toEqual([]);
            const p = decodeURIComponent(purpose!);
            const e = decodeURIComponent(id!);
            expect(PURPOSE.test(p) && EXTERNAL_ID.test(e), what).toBe(true);
            const rows = await vault.db.query('select 1 from vault.entries where purpose = $1 and external_id = $2', [p, e]);
            expect(rows, what).toHaveLength(1);
          }
        },
      ),
      { numRuns: RUNS * 3 },
    );
    tally('paths');
  });

  it('headers: very long values, odd preconditions and media types, forged identities', async () => {
    // Header values the platform can carry: tab, printable ASCII and Latin-1 (control characters are
    // refused by fetch before anything is sent, so generating them would only skip runs).
    const octet = fc
      .oneof({ weight: 20, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, fc.constant(0x09), fc.integer({ min: 0x80, max: 0xff }))
      .map((c) => String.fromCharCode(c));
    const text = (min: number, max: number) => fc.string({ unit: octet, minLength: min, maxLength: max });
    const headerValue = fc.oneof({ weight: 4, arbitrary: text(0, 40) }, { weight: 1, arbitrary: text(1000, 20_000) });
    const header = fc.oneof(
      fc.tuple(fc.constant('If-Match'), fc.oneof(headerValue, fc.constantFrom('*', 'W/"x"', '"', '""', '"a", "b"', ',', '*, "x"'))),
      fc.tuple(fc.constant('If-None-Match'), fc.oneof(headerValue, fc.constantFrom('*', ' * ', 'W/*'))),
      fc.tuple(
        fc.constant('Content-Type'),
        fc.oneof(
          headerValue,
          fc.constantFrom(
            'application/json; charset=utf-16',
            'APPLICATION/JSON',
            'application/jsonx',
            'application/json;',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
          ),
        ),
      ),
      fc.tuple(fc.constant('X-Request-Id'), fc.oneof(headerValue, fc.stringMatching(/^[\w-]{60,70}$/))),
      fc.tuple(fc.constant('X-Forwarded-For'), headerValue),
      fc.tuple(fc.constant('X-App'), fc.constantFrom('admin', 'pay', 'system:sweeper')),
      fc.tuple(fc.constant('Accept'), headerValue),
      fc.tuple(fc.constant('X-Custom-Long'), text(5000, 20_000)),
      fc.tuple(
        fc.constant('Authorization'),
        fc.oneof(
          headerValue.map((v) => `Bearer ${v}`),
          fc.constantFrom('Bearer', 'Bearer a.b.c', 'Basic YWRtaW46YWRtaW4='),
        ),
      ),
      fc.tuple(fc.constant('X-Vault-Key'), headerValue),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(header, { maxLength: 4 }).map((pairs) => Object.fromEntries(pairs) as Record<string, string>),
        fc.integer({ min: 0, max: 4 }).map((n) => n > 0), // mostly with the real key, so the other headers get past authentication
        async (headers, keyed) => {
          const id = next();
          const before = await snapshot();
          const all: Record<string, string> = { 'Content-Type': 'application/json', ...headers };
          if (keyed && !('X-Vault-Key' in headers)) all['X-Vault-Key'] = vault.keys.pay!;
          const answer = await send('PUT', `/vault/card/${id}`, { headers: all, body: JSON.stringify({ encrypted_value: MARKER }) });
          if (!answer) return;
          const what = `PUT with ${JSON.stringify(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v])))}`;
          checkAnswer(answer, what);
          await checkRows(before, answer, what);
          // A forged identity header never authenticates: without the real key, never a store.
          if (all['X-Vault-Key'] !== vault.keys.pay) expect(answer.res.status, what).not.toBe(201);
          const echoed = answer.res.headers.get('x-request-id')!;
          expect(echoed, what).toMatch(/^[\w-]{1,64}$/);
        },
      ),
      { numRuns: RUNS * 2 },
    );
    tally('headers');
  });

  const wrongType = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.object({ maxDepth: 2 }),
    fc.string({ maxLength: 20 }),
  );
  const storeFields = fc.record(
    {
      encrypted_value: fc.oneof(
        fc.constant(MARKER),
        fc.string({ unit: 'binary', maxLength: 50 }).map((s) => `${MARKER}${s}`),
        wrongType,
      ),
      algorithm_hint: fc.oneof(fc.constant('AES-256-GCM'), wrongType, fc.string({ unit: 'binary', maxLength: 80 })),
      key_ref: fc.oneof(fc.constant('kms:k-1'), wrongType, fc.string({ maxLength: 300 })),
      metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }), wrongType),
      expires_at: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.constantFrom('2026-13-45T99:99:99Z', 'tomorrow', '2026-06-02T00:00:00', '2026-06-02T00:00:00+25:00'),
        wrongType,
      ),
      access_policy: fc.oneof(fc.constantFrom('owner-only', 'open-retrieve', 'admin-only', 'no-such-policy', '__proto__', 'Owner-Only'), wrongType),
      fingerprint: fc.oneof(fc.constant('fp-1'), wrongType),
      __proto__: fc.constant({ admin: true }),
      constructor: fc.constant({ prototype: { polluted: true } }),
      unknown_field: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  );
  const nestedArray = fc.integer({ min: 1, max: 120_000 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`);
  // Nesting inside metadata is capped at 1 000 levels here: deeper is the known bug pinned at the end.
  const nestedMetadata = fc
    .tuple(fc.integer({ min: 1, max: 1000 }), fc.boolean())
    .map(([d, arrays]) =>
      arrays
        ? `{"encrypted_value":"${MARKER}","metadata":{"a":${'['.repeat(d)}1${']'.repeat(d)}}}`
        : `{"encrypted_value":"${MARKER}","metadata":{"a":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}}`,
    );
  const huge = fc.integer({ min: 60_000, max: 400_000 }).map((n) => JSON.stringify({ encrypted_value: `${MARKER}${'x'.repeat(n)}` }));
  const hugeMetadata = fc.integer({ min: 3_000, max: 200_000 }).map((n) => JSON.stringify({ encrypted_value: MARKER, metadata: { blob: 'm'.repeat(n) } }));

  it('bodies: wrong types, prototype keys, huge and deeply nested JSON, bytes that are not JSON', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 4, arbitrary: storeFields.map((o) => JSON.stringify(o)) },
          { weight: 1, arbitrary: storeFields.map((o) => `{"__proto__":{"admin":true},${JSON.stringify(o).slice(1)}`) },
          { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
          {
            weight: 1,
            arbitrary: fc.anything({ maxDepth: 3 }).map((v) => {
              try {
                return JSON.stringify(v) ?? 'undefined';
              } catch {
                return 'null';
              }
            }),
          },
          { weight: 1, arbitrary: nestedArray },
          { weight: 1, arbitrary: nestedMetadata },
          { weight: 1, arbitrary: huge },
          { weight: 1, arbitrary: hugeMetadata },
          { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              '',
              ' ',
              'null',
              '[]',
              '{}',
              '"x"',
              '{',
              '}',
              '{"encrypted_value":}',
              `{"encrypted_value":"${MARKER}"`,
              '\uFEFF{}',
              `{"encrypted_value":"${MARKER}"}garbage`,
            ),
          },
        ),
        async (body) => {
          const id = next();
          const before = await snapshot();
          const answer = await send('PUT', `/vault/card/${id}`, { as: 'pay', headers: { 'Content-Type': 'application/json' }, body });
          if (!answer) return;
          const shown = typeof body === 'string' ? (body.length > 200 ? `${body.slice(0, 200)}…(${body.length})` : body) : `bytes(${body.length})`;
          const what = `PUT body ${JSON.stringify(shown)}`;
          checkAnswer(answer, what);
          await checkRows(before, answer, what);
          if (answer.res.status === 201) {
            // Acknowledged: the body was a valid store body, and its value is what is stored.
            const sent = JSON.parse(body as string) as Record<string, unknown>;
            expect(typeof sent.encrypted_value, what).toBe('string');
            expect(
              Object.keys(sent).every((k) =>
                ['encrypted_value', 'algorithm_hint', 'key_ref', 'metadata', 'expires_at', 'access_policy', 'fingerprint'].includes(k),
              ),
              what,
            ).toBe(true);
            const [row] = await vault.db.query<{ encrypted_value: string }>(
              'select encrypted_value from vault.entries where purpose = $1 and external_id = $2',
              ['card', id],
            );
            expect(row?.encrypted_value, what).toBe(sent.encrypted_value);
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
    tally('bodies');
  });

  it('the app is still whole afterwards: a normal store and read work, and no internal error was logged', async () => {
    const store = await vault.request('PUT', '/vault/card/after-hostile', { as: 'pay', body: { encrypted_value: 'still-fine' } });
    expect(store.status).toBe(201);
    const read = await vault.request('GET', '/vault/card/after-hostile', { as: 'pay' });
    expect(read.status).toBe(200);
    expect(vault.logLines.filter((l) => l.includes('"unhandled error"'))).toEqual([]);
  });

  /**
   * KNOWN BUG (reported, pinned with it.fails): metadata nested a few thousand levels deep (well inside the
   * body limit) overflows the stack while the body is validated (zod's recursive z.json()), and the vault
   * answers 500 "internal" instead of refusing the body with a 400. Nothing is stored.
   */
  it('deeply nested metadata (10 000 levels) is refused with a 4xx, not a 500', async () => {
    for (const nested of [`${'['.repeat(10_000)}1${']'.repeat(10_000)}`, `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`]) {
      const body = `{"encrypted_value":"${MARKER}","metadata":{"a":${nested}}}`;
      const before = await snapshot();
      const answer = (await send('PUT', `/vault/card/${next()}`, { as: 'pay', headers: { 'Content-Type': 'application/json' }, body }))!;
      await checkRows(before, answer, 'deep metadata');
      checkAnswer(answer, `metadata nested 10 000 levels (${body.length} bytes)`);
    }
  });

  /**
   * KNOWN BUG (reported, pinned with it.fails): a body naming a field twice is accepted and the last
   * occurrence silently wins (JSON.parse), so a proxy or WAF that reads the first occurrence sees another
   * request than the vault stores. Expected: 400, nothing stored.
   */
  it('duplicate keys in a store body are refused, not resolved silently', async () => {
    for (const body of [
      `{"encrypted_value":"${MARKER}-a","encrypted_value":"${MARKER}-b"}`,
      `{"encrypted_value":"${MARKER}","access_policy":"owner-only","access_policy":"open-retrieve"}`,
    ]) {
      const before = await snapshot();
      const answer = (await send('PUT', `/vault/card/${next()}`, { as: 'pay', headers: { 'Content-Type': 'application/json' }, body }))!;
      checkAnswer(answer, body);
      await checkRows(before, answer, body);
      expect(answer.res.status, `${body} → ${answer.res.status}`).toBe(400);
    }
  });
});
