import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestVault, type AccessLogRecord, type TestVault } from '../support/test-app';
import { problem, putRetention, storeBody } from '../support/fixtures';

const START = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const plusDays = (d: Date, days: number) => new Date(d.getTime() + days * DAY);

type Problem = Awaited<ReturnType<typeof problem>>;

/** Checks the problem+json shape, the status and code, and that request_id equals the X-Request-Id header. */
async function expectProblem(res: Response, status: number, code: string): Promise<{ body: Problem; text: string }> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const requestId = res.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  const text = await res.clone().text();
  const body = await problem(res);
  expect(body.type).toEqual(expect.any(String));
  expect(body.type.length).toBeGreaterThan(0);
  expect(body.title).toEqual(expect.any(String));
  expect(body.title.length).toBeGreaterThan(0);
  expect(body.status).toBe(status);
  expect(body.detail).toEqual(expect.any(String));
  expect(body.detail.length).toBeGreaterThan(0);
  expect(body.request_id).toBe(requestId);
  expect(body.code).toBe(code);
  return { body, text };
}

describe('PUT /vault/{purpose}/{external_id} — errors', () => {
  let vault: TestVault;

  async function countEntries(where = 'true', params: unknown[] = []): Promise<number> {
    const rows = await vault.db.query<{ n: number }>(`select count(*)::int as n from vault.entries where ${where}`, params);
    return Number(rows[0]?.n);
  }

  /** The rejected request left no entry and exactly one denied access-log row with its status. */
  async function expectRejectedAndAudited(res: Response, status: number, target: { purpose: string | null; id: string | null; app?: string | null }) {
    if (target.purpose !== null && target.id !== null) {
      expect(await countEntries('purpose = $1 and external_id = $2', [target.purpose, target.id])).toBe(0);
    }
    const requestId = res.headers.get('x-request-id');
    const rows = (await vault.accessLog()).filter((r) => r.request_id === requestId);
    expect(rows).toHaveLength(1);
    const row = rows[0] as AccessLogRecord;
    expect(row).toMatchObject({ operation: 'store', granted: false, status, purpose: target.purpose, external_id: target.id });
    if (target.app !== undefined) expect(row.app).toBe(target.app);
    return row;
  }

  const put = (path: string, body: unknown, opts: { as?: string; headers?: Record<string, string> } = {}) =>
    vault.request('PUT', path, { as: opts.as ?? 'pay', body, ...(opts.headers && { headers: opts.headers }) });

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }] });
    await putRetention(vault, 'card');
  });
  afterAll(() => vault.close());
  beforeEach(() => vault.clock.set(START));

  describe('400 invalid input', () => {
    it('malformed JSON', async () => {
      const res = await vault.request('PUT', '/vault/card/bad-json', {
        as: 'pay',
        rawBody: '{"encrypted_value": "abc",',
        headers: { 'Content-Type': 'application/json' },
      });
      const { body } = await expectProblem(res, 400, 'validation_failed');
      expect(body.detail).toMatch(/json/i);
      await expectRejectedAndAudited(res, 400, { purpose: 'card', id: 'bad-json', app: 'pay' });
    });

    it('a JSON body that is not an object (array, null, string)', async () => {
      for (const [i, raw] of ['[]', 'null', '"vault:v1:x"', '42'].entries()) {
        const id = `not-object-${i}`;
        const res = await vault.request('PUT', `/vault/card/${id}`, { as: 'pay', rawBody: raw, headers: { 'Content-Type': 'application/json' } });
        await expectProblem(res, 400, 'validation_failed');
        await expectRejectedAndAudited(res, 400, { purpose: 'card', id });
      }
    });

    it('wrong types name each field in errors[].location and never echo the values', async () => {
      const res = await put('/vault/card/wrong-types', {
        encrypted_value: 1234567,
        algorithm_hint: 98765,
        metadata: 'SECRET-METADATA-STRING',
        access_policy: 31337,
      });
      const { body, text } = await expectProblem(res, 400, 'validation_failed');
      const locations = (body.errors ?? []).map((e) => e.location);
      expect(locations).toEqual(expect.arrayContaining(['body.encrypted_value', 'body.algorithm_hint', 'body.metadata', 'body.access_policy']));
      for (const e of body.errors ?? []) expect(e.message).toEqual(expect.any(String));
      expect(text).not.toContain('1234567');
      expect(text).not.toContain('98765');
      expect(text).not.toContain('31337');
      expect(text).not.toContain('SECRET-METADATA-STRING');
      await expectRejectedAndAudited(res, 400, { purpose: 'card', id: 'wrong-types', app: 'pay' });
    });

    it('a missing encrypted_value', async () => {
      const res = await put('/vault/card/missing-value', { key_ref: 'kms:1' });
      const { body } = await expectProblem(res, 400, 'validation_failed');
      expect(body.errors?.map((e) => e.location)).toContain('body.encrypted_value');
      await expectRejectedAndAudited(res, 400, { purpose: 'card', id: 'missing-value' });
    });

    it('an empty encrypted_value', async () => {
      const res = await put('/vault/card/empty-value', storeBody({ encrypted_value: '' }));
      const { body } = await expectProblem(res, 400, 'validation_failed');
      expect(body.errors?.map((e) => e.location)).toEqual(['body.encrypted_value']);
      await expectRejectedAndAudited(res, 400, { purpose: 'card', id: 'empty-value' });
    });

    it('an unknown field is refused and named, its value not echoed', async () => {
      const res = await put('/vault/card/unknown-field', storeBody({ colour: 'SECRET-COLOUR-VALUE' }));
      const { body, text } = await expectProblem(res, 400, 'validation_failed');
      const named = (body.errors ?? []).some((e) => e.location.includes('colour') || e.message.includes('colour'));
      expect(named).toBe(true);
      expect(text).not.toContain('SECRET-COLOUR-VALUE');
      await expectRejectedAndAudited(res, 400, { purpose: 'card', id: 'unknown-field' });
    });

    it('metadata must be a JSON object, not an array or null', async () => {
      for (const [i, metadata] of [[1, 2, 3], null].entries()) {
        const id = `meta-not-object-${i}`;
        const res = await put(`/vault/card/${id}`, storeBody({ metadata }));
        const { body } = await expectProblem(res, 400, 'validation_failed');
        expect(body.errors?.map((e) => e.location)).toContain('body.metadata');
        await expectRejectedAndAudited(res, 400, { purpose: 'card', id });
      }
    });

    it('algorithm_hint, key_ref and fingerprint with spaces are refused without echo', async () => {
      const res = await put(
        '/vault/card/bad-strings',
        storeBody({ algorithm_hint: 'AES 256 SECRETHINT', key_ref: 'kms key SECRETREF', fingerprint: 'fp SECRETFP' }),
      );
      const { body, text } = await expectProblem(res, 400, 'validation_failed');
      expect(body.errors?.map((e) => e.location)).toEqual(expect.arrayContaining(['body.algorithm_hint', 'body.key_ref', 'body.fingerprint']));
      for (const secret of ['SECRETHINT', 'SECRETREF', 'SECRETFP']) expect(text).not.toContain(secret);
      await expectRejectedAndAudited(res, 400, { purpose: 'card', id: 'bad-strings' });
    });

    it('expires_at that is not an RFC 3339 date-time', async () => {
      const bad = ['tomorrow', '2027-02-16', '2027-02-16T00:00:00', '16/02/2027 00:00', '2027-13-01T00:00:00Z', 1_800_000_000_000];
      for (const [i, expires_at] of bad.entries()) {
        const id = `bad-expiry-${i}`;
        const res = await put(`/vault/card/${id}`, storeBody({ expires_at }));
        const { body, text } = await expectProblem(res, 400, 'validation_failed');
        expect(
          body.errors?.map((e) => e.location),
          String(expires_at),
        ).toEqual(['body.expires_at']);
        expect(text).not.toContain(String(expires_at));
        await expectRejectedAndAudited(res, 400, { purpose: 'card', id });
      }
    });

    it('expires_at on a calendar day that does not exist (February 30) is refused, not rolled over', async () => {
      const res = await put('/vault/card/feb-30', storeBody({ expires_at: '2027-02-30T00:00:00Z' }));
      const { body } = await expectProblem(res, 400, 'validation_failed');
      expect(body.errors?.map((e) => e.location)).toEqual(['body.expires_at']);
      await expectRejectedAndAudited(res, 400, { purpose: 'card', id: 'feb-30' });
    });

    it('a bad purpose in the path names param.purpose and is not echoed or logged', async () => {
      const before = await countEntries();
      for (const purpose of ['Card-SECRETPURPOSE', '_card', 'c'.repeat(65), 'card.x']) {
        const res = await put(`/vault/${purpose}/ok-id`, storeBody());
        const { body, text } = await expectProblem(res, 400, 'validation_failed');
        expect(body.errors?.map((e) => e.location)).toEqual(['param.purpose']);
        expect(text).not.toContain(purpose);
        const row = await expectRejectedAndAudited(res, 400, { purpose: null, id: 'ok-id', app: 'pay' });
        expect(JSON.stringify(row)).not.toContain(purpose);
      }
      expect(await countEntries()).toBe(before);
    });

    it('a bad external_id in the path names param.external_id and is not echoed or logged', async () => {
      const before = await countEntries();
      for (const id of ['-starts-with-dash', 'has~tilde-SECRETID', 'x'.repeat(201), 'sp%20ace', 'slash%2Finside', '.hidden']) {
        const res = await put(`/vault/card/${id}`, storeBody());
        const { body, text } = await expectProblem(res, 400, 'validation_failed');
        expect(
          body.errors?.map((e) => e.location),
          id,
        ).toEqual(['param.external_id']);
        expect(text).not.toContain(decodeURIComponent(id));
        await expectRejectedAndAudited(res, 400, { purpose: 'card', id: null, app: 'pay' });
      }
      expect(await countEntries()).toBe(before);
    });

    it('metadata over limits.max_metadata_bytes is refused', async () => {
      const res = await put('/vault/card/big-metadata', storeBody({ metadata: { blob: 'm'.repeat(5000) } }));
      const { body } = await expectProblem(res, 400, 'validation_failed');
      expect(body.errors?.map((e) => e.location)).toContain('body.metadata');
      await expectRejectedAndAudited(res, 400, { purpose: 'card', id: 'big-metadata' });
    });
  });

  describe('415 unsupported media type', () => {
    it('refuses bodies that are not application/json, even when the bytes are valid JSON', async () => {
      for (const [i, type] of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', 'multipart/form-data; boundary=x'].entries()) {
        const id = `wrong-type-${i}`;
        const res = await vault.request('PUT', `/vault/card/${id}`, { as: 'pay', rawBody: JSON.stringify(storeBody()), headers: { 'Content-Type': type } });
        await expectProblem(res, 415, 'unsupported_media_type');
        await expectRejectedAndAudited(res, 415, { purpose: 'card', id, app: 'pay' });
      }
    });

    it('refuses a body without any Content-Type', async () => {
      const res = await vault.request('PUT', '/vault/card/no-type', { as: 'pay', rawBody: JSON.stringify(storeBody()) });
      await expectProblem(res, 415, 'unsupported_media_type');
      await expectRejectedAndAudited(res, 415, { purpose: 'card', id: 'no-type' });
    });
  });

  describe('422 policy and retention violations', () => {
    it('no retention policy for the purpose: detail says how to create one', async () => {
      const res = await put('/vault/nopolicy/x1', storeBody());
      const { body } = await expectProblem(res, 422, 'policy_missing');
      expect(body.detail).toContain('PUT /admin/retention-policies/nopolicy');
      const row = await expectRejectedAndAudited(res, 422, { purpose: 'nopolicy', id: 'x1', app: 'pay' });
      expect(row.reason).toBe('no_retention_policy');
    });

    it('an unknown access policy', async () => {
      const res = await put('/vault/card/unknown-policy', storeBody({ access_policy: 'no-such-policy' }));
      const { body } = await expectProblem(res, 422, 'policy_missing');
      expect(body.detail).toContain('no-such-policy');
      const row = await expectRejectedAndAudited(res, 422, { purpose: 'card', id: 'unknown-policy' });
      expect(row.reason).toBe('unknown_access_policy');
    });

    it('expires_at in the past, or exactly now', async () => {
      for (const [i, expires_at] of [plusDays(START, -1).toISOString(), '2020-01-01T00:00:00Z', START.toISOString()].entries()) {
        const id = `past-${i}`;
        const res = await put(`/vault/card/${id}`, storeBody({ expires_at }));
        const { body } = await expectProblem(res, 422, 'retention_violation');
        expect(body.detail).toMatch(/past|future/i);
        await expectRejectedAndAudited(res, 422, { purpose: 'card', id });
      }
    });

    it('expires_at beyond now + max_retention_days (by one millisecond too)', async () => {
      const ceiling = plusDays(START, 365);
      for (const [i, expires_at] of [new Date(ceiling.getTime() + 1).toISOString(), plusDays(START, 366).toISOString(), '2099-01-01T00:00:00Z'].entries()) {
        const id = `beyond-${i}`;
        const res = await put(`/vault/card/${id}`, storeBody({ expires_at }));
        const { body } = await expectProblem(res, 422, 'retention_violation');
        expect(body.detail).toContain('365');
        await expectRejectedAndAudited(res, 422, { purpose: 'card', id });
      }
    });

    it('a replace whose expires_at would outlive created_at + max_retention_days is refused and changes nothing', async () => {
      const created = await put('/vault/card/replace-beyond', storeBody({ encrypted_value: 'first', expires_at: plusDays(START, 365).toISOString() }));
      expect(created.status).toBe(201);
      vault.clock.advanceDays(300);
      const res = await put('/vault/card/replace-beyond', storeBody({ encrypted_value: 'second', expires_at: plusDays(vault.clock.now(), 100).toISOString() }));
      await expectProblem(res, 422, 'retention_violation');
      const rows = await vault.db.query<{ encrypted_value: string; etag: string }>(
        "select encrypted_value, etag from vault.entries where purpose = 'card' and external_id = 'replace-beyond'",
      );
      expect(rows.map((r) => r.encrypted_value)).toEqual(['first']);
      expect(`"${rows[0]!.etag}"`).toBe(created.headers.get('etag'));
    });
  });

  describe('412 preconditions', () => {
    it('is a problem+json and audited as denied', async () => {
      const res = await put('/vault/card/precondition', storeBody(), { headers: { 'If-Match': '"does-not-exist"' } });
      await expectProblem(res, 412, 'precondition_failed');
      await expectRejectedAndAudited(res, 412, { purpose: 'card', id: 'precondition' });
    });
  });

  describe('413 value too large', () => {
    let small: TestVault;
    beforeAll(async () => {
      small = await createTestVault({ apps: [{ name: 'pay' }], config: { limits: { max_value_bytes: 64 } } });
      await putRetention(small, 'card');
    });
    afterAll(() => small.close());

    const countSmall = async (id: string) =>
      Number((await small.db.query<{ n: number }>("select count(*)::int as n from vault.entries where purpose = 'card' and external_id = $1", [id]))[0]?.n);

    async function expectSmallAudited(res: Response, status: number, id: string) {
      expect(await countSmall(id)).toBe(0);
      const rows = (await small.accessLog()).filter((r) => r.request_id === res.headers.get('x-request-id'));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ operation: 'store', purpose: 'card', external_id: id, app: 'pay', granted: false, status });
    }

    it('accepts a value of exactly max_value_bytes', async () => {
      const res = await small.request('PUT', '/vault/card/exactly-64', { as: 'pay', body: storeBody({ encrypted_value: 'v'.repeat(64) }) });
      expect(res.status).toBe(201);
      expect(await countSmall('exactly-64')).toBe(1);
    });

    it('refuses a value one byte over the limit with 413, without echoing it', async () => {
      const value = `SECRETVALUE${'v'.repeat(54)}`;
      expect(value).toHaveLength(65);
      const res = await small.request('PUT', '/vault/card/too-big', { as: 'pay', body: storeBody({ encrypted_value: value }) });
      const { body, text } = await expectProblem(res, 413, 'payload_too_large');
      expect(body.detail).toContain('64');
      expect(text).not.toContain('SECRETVALUE');
      await expectSmallAudited(res, 413, 'too-big');
    });

    it('counts bytes, not characters (33 two-byte characters = 66 bytes)', async () => {
      const res = await small.request('PUT', '/vault/card/multibyte', { as: 'pay', body: storeBody({ encrypted_value: 'é'.repeat(33) }) });
      await expectProblem(res, 413, 'payload_too_large');
      await expectSmallAudited(res, 413, 'multibyte');
    });

    it('refuses a whole body far over the envelope with 413, audited under the authenticated app', async () => {
      const res = await small.request('PUT', '/vault/card/huge-body', { as: 'pay', body: storeBody({ encrypted_value: 'v'.repeat(200_000) }) });
      await expectProblem(res, 413, 'payload_too_large');
      await expectSmallAudited(res, 413, 'huge-body');
    });
  });

  it('never writes a submitted value into the access log or the process log', async () => {
    const res = await put('/vault/card/leak-check', storeBody({ encrypted_value: 'LEAKCHECK-ciphertext', expires_at: '2020-01-01T00:00:00Z' }));
    expect(res.status).toBe(422);
    const bad = await put('/vault/card/leak-check-2', storeBody({ encrypted_value: 'LEAKCHECK-ciphertext', bogus: true }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await vault.accessLog())).not.toContain('LEAKCHECK');
    expect(vault.logLines.join('\n')).not.toContain('LEAKCHECK');
  });
});
