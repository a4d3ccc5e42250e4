import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putAccessPolicy, putRetention, store, storeBody } from '../support/fixtures';
import { createTestVault, randomKey, type AccessLogRecord, type TestVault } from '../support/test-app';

/** A database-side fault: every insert into vault.access_log raises, as if the audit store were broken. */
async function breakAudit(vault: TestVault) {
  await vault.db.query('create trigger test_fail_audit before insert on vault.access_log for each row execute function vault.test_fail_audit()');
}
async function repairAudit(vault: TestVault) {
  await vault.db.query('drop trigger if exists test_fail_audit on vault.access_log');
}

async function expect503(res: Response) {
  expect(res.status).toBe(503);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as { status: number; code: string; request_id: string };
  expect(body).toMatchObject({ status: 503, code: 'unavailable' });
  expect(body.request_id).toBe(res.headers.get('x-request-id'));
  return body;
}

describe('audit fails closed', () => {
  let vault: TestVault;
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    await vault.db.query(
      "create function vault.test_fail_audit() returns trigger language plpgsql as $$ begin raise exception 'audit store unavailable'; end $$",
    );
    await putRetention(vault, 'card');
    await putAccessPolicy(vault, 'budget-2', { store: { allow: 'any' }, retrieve: { allow: 'owner', max_retrievals: 2 }, purge: { allow: 'owner' } });
  });
  afterAll(() => vault.close());

  const entryRows = (id: string) =>
    vault.db.query<{ encrypted_value: string; retrieval_count: number }>('select * from vault.entries where external_id = $1', [id]);
  const logRowsFor = (requestId: string) => vault.db.query<AccessLogRecord>('select * from vault.access_log where request_id = $1', [requestId]);

  it('a store whose access-log row cannot be written answers 503 and stores nothing', async () => {
    const requestId = `audit-${randomUUID()}`;
    await breakAudit(vault);
    try {
      const res = await vault.request('PUT', '/vault/card/fail-closed', { as: 'pay', body: storeBody(), headers: { 'X-Request-Id': requestId } });
      await expect503(res);
      expect(res.headers.get('etag')).toBeNull();
    } finally {
      await repairAudit(vault);
    }
    expect(await entryRows('fail-closed')).toEqual([]);
    expect(await logRowsFor(requestId)).toEqual([]);
    // Positive control: with the audit store back, the same request succeeds.
    expect((await vault.request('PUT', '/vault/card/fail-closed', { as: 'pay', body: storeBody() })).status).toBe(201);
    expect(await entryRows('fail-closed')).toHaveLength(1);
  });

  it('a failed authentication whose audit row cannot be written answers 503, not 401', async () => {
    await breakAudit(vault);
    try {
      await expect503(await vault.request('GET', '/vault/card/fail-closed', { rawKey: randomKey() }));
      await expect503(await vault.request('GET', '/vault/card/fail-closed'));
    } finally {
      await repairAudit(vault);
    }
    expect((await vault.request('GET', '/vault/card/fail-closed')).status).toBe(401);
  });

  it('a replace that cannot be audited leaves the old value in place', async () => {
    await store(vault, 'pay', 'card', 'keep-me', { encrypted_value: 'vault:v1:old' });
    await breakAudit(vault);
    try {
      await expect503(await vault.request('PUT', '/vault/card/keep-me', { as: 'pay', body: storeBody({ encrypted_value: 'vault:v1:new' }) }));
    } finally {
      await repairAudit(vault);
    }
    expect((await entryRows('keep-me'))[0]?.encrypted_value).toBe('vault:v1:old');
  });

  it('a purge that cannot be audited destroys nothing and writes no purge-log row', async () => {
    await store(vault, 'pay', 'card', 'not-purged');
    const before = await vault.db.query('select * from vault.purge_log');
    await breakAudit(vault);
    try {
      await expect503(await vault.request('DELETE', '/vault/card/not-purged', { as: 'pay' }));
    } finally {
      await repairAudit(vault);
    }
    expect(await entryRows('not-purged')).toHaveLength(1);
    expect(await vault.db.query('select * from vault.purge_log')).toEqual(before);
  });

  it('a retrieval that cannot be audited returns no value and spends no budget', async () => {
    await store(vault, 'pay', 'card', 'budgeted', { access_policy: 'budget-2', encrypted_value: 'vault:v1:budgeted-secret' });
    await breakAudit(vault);
    try {
      const res = await vault.request('GET', '/vault/card/budgeted', { as: 'pay' });
      const body = await expect503(res);
      expect(JSON.stringify(body)).not.toContain('budgeted-secret');
    } finally {
      await repairAudit(vault);
    }
    expect((await entryRows('budgeted'))[0]?.retrieval_count).toBe(0);
    expect((await vault.request('GET', '/vault/card/budgeted', { as: 'pay' })).status).toBe(200);
    expect((await vault.request('GET', '/vault/card/budgeted', { as: 'pay' })).status).toBe(200);
    expect((await vault.request('GET', '/vault/card/budgeted', { as: 'pay' })).status).toBe(403);
  });

  it('a denial that cannot be audited is a 503 too', async () => {
    await breakAudit(vault);
    try {
      await expect503(await vault.request('GET', '/vault/card/fail-closed', { as: 'other' }));
      await expect503(await vault.request('GET', '/admin/retention-policies', { as: 'pay' }));
      await expect503(await vault.request('PUT', '/vault/card/x', { as: 'pay', body: { encrypted_value: '' } }));
    } finally {
      await repairAudit(vault);
    }
  });

  it('an admin change that cannot be audited is not applied', async () => {
    await breakAudit(vault);
    try {
      await expect503(await vault.request('PUT', '/admin/retention-policies/unaudited', { as: 'admin', body: { max_retention_days: 10 } }));
      await expect503(
        await vault.request('PUT', '/admin/access-policies/unaudited', {
          as: 'admin',
          body: { rules: { store: { allow: 'any' }, retrieve: { allow: 'owner' }, purge: { allow: 'owner' } } },
        }),
      );
    } finally {
      await repairAudit(vault);
    }
    expect(await vault.db.query("select * from vault.retention_policies where purpose = 'unaudited'")).toEqual([]);
    expect(await vault.db.query("select * from vault.access_policies where name = 'unaudited'")).toEqual([]);
  });
});

describe('no value and no credential ever reaches the logs', () => {
  let vault: TestVault;
  const values: string[] = [];
  const wrongKeys: string[] = [];
  const newValue = () => {
    const v = `vault:v1:AES256-GCM:keyid=7:${randomKey()}${randomKey()}`;
    values.push(v);
    return v;
  };

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'other' }] });
    await putRetention(vault, 'card');
    await putRetention(vault, 'shred', { max_retention_days: 30, purge_method: 'crypto-shred', require_purge_proof: true });
    await putRetention(vault, 'expire', { max_retention_days: 30, purge_method: 'retention-expire' });

    // Stores and a replace.
    for (const id of ['a1', 'a2', 'a3'])
      await store(vault, 'pay', 'card', id, { encrypted_value: newValue(), fingerprint: `fp-${id}`, metadata: { merchant_id: 42 } });
    await store(vault, 'pay', 'card', 'a1', { encrypted_value: newValue() });
    await store(vault, 'pay', 'shred', 's1', { encrypted_value: newValue() });
    await store(vault, 'pay', 'expire', 'e1', { encrypted_value: newValue() });
    await store(vault, 'admin', 'card', 'adm1', { encrypted_value: newValue(), access_policy: 'admin-only' });

    // Retrieves (granted), HEAD and list.
    for (const id of ['a1', 'a2']) {
      const res = await vault.request('GET', `/vault/card/${id}`, { as: 'pay' });
      expect(res.status).toBe(200);
      expect(values).toContain(((await res.json()) as { encrypted_value: string }).encrypted_value);
    }
    expect((await vault.request('HEAD', '/vault/card/a3', { as: 'pay' })).status).toBe(200);
    expect((await vault.request('GET', '/vault/card', { as: 'pay' })).status).toBe(200);

    // Denials.
    expect((await vault.request('GET', '/vault/card/a1', { as: 'other' })).status).toBe(403);
    expect((await vault.request('GET', '/vault/card/adm1', { as: 'pay' })).status).toBe(403);
    expect((await vault.request('DELETE', '/vault/card/a2', { as: 'other' })).status).toBe(403);
    expect((await vault.request('PUT', '/vault/card/a1', { as: 'other', body: storeBody({ encrypted_value: newValue() }) })).status).toBe(403);
    expect((await vault.request('GET', '/admin/access-policies', { as: 'pay' })).status).toBe(403);

    // Failed authentication with keys that must not be logged either.
    for (const key of [randomKey(), `${vault.keys.pay!}x`, vault.keys.pay!.slice(0, -2)]) {
      wrongKeys.push(key);
      expect((await vault.request('GET', '/vault/card/a1', { rawKey: key })).status).toBe(401);
    }

    // Rejected input that carries a value.
    const rejected: [string, Record<string, unknown>][] = [
      ['unknown field', { encrypted_value: newValue(), surprise: true }],
      ['bad expiry', { encrypted_value: newValue(), expires_at: 'tomorrow' }],
      ['bad metadata', { encrypted_value: newValue(), metadata: 'not an object' }],
      ['bad policy name', { encrypted_value: newValue(), access_policy: 'Not A Name' }],
    ];
    for (const [, body] of rejected) {
      const res = await vault.request('PUT', '/vault/card/rejected', { as: 'pay', body });
      expect(res.status).toBe(400);
      expect(await res.text()).not.toContain(body.encrypted_value as string);
    }
    const broken = newValue();
    const brokenRes = await vault.request('PUT', '/vault/card/rejected', {
      as: 'pay',
      rawBody: `{"encrypted_value":"${broken}",`,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(brokenRes.status).toBe(400);
    expect(await brokenRes.text()).not.toContain(broken);
    const retention = await vault.request('PUT', '/vault/card/too-late', {
      as: 'pay',
      body: { encrypted_value: newValue(), expires_at: '2099-01-01T00:00:00Z' },
    });
    expect(retention.status).toBe(422);

    // Purges: physical delete, crypto-shred, retention-expire, and a second purge of a shredded entry.
    for (const [purpose, id] of [
      ['card', 'a2'],
      ['shred', 's1'],
      ['expire', 'e1'],
    ] as const) {
      const res = await vault.request('DELETE', `/vault/${purpose}/${id}`, { as: 'pay' });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { proof: string }).proof).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect((await vault.request('DELETE', '/vault/shred/s1', { as: 'pay' })).status).toBe(410);
    expect((await vault.request('GET', '/vault/shred/s1', { as: 'pay' })).status).toBe(410);
  });
  afterAll(() => vault.close());

  /** Every secret, and a distinctive inner slice of each, so a truncated or re-encoded copy is caught too. */
  function secrets(): string[] {
    const all = [...values, ...Object.values(vault.keys), ...wrongKeys];
    return [...all, ...all.map((s) => s.slice(-24))];
  }

  function expectClean(texts: string[], where: string) {
    const leaks: string[] = [];
    for (const text of texts) for (const secret of secrets()) if (text.includes(secret)) leaks.push(`${where}: ${text.slice(0, 120)}`);
    expect(leaks).toEqual([]);
  }

  it('the workload produced rows and log lines to inspect', async () => {
    const log = await vault.accessLog();
    expect(log.length).toBeGreaterThan(25);
    expect(log.some((r) => !r.granted && r.operation === 'authenticate')).toBe(true);
    expect(log.some((r) => !r.granted && r.status === 400)).toBe(true);
    expect(log.some((r) => r.granted && r.operation === 'purge')).toBe(true);
    // Three purges, and the replace of a1, whose destroyed version has its own purge-log row.
    const purged = await vault.db.query<{ method: string }>('select method from vault.purge_log order by id');
    expect(purged).toHaveLength(4);
    expect(purged.filter((r) => r.method === 'replace')).toHaveLength(1);
    expect(vault.logLines.length).toBeGreaterThan(0);
  });

  it('no access_log column holds a value or a key', async () => {
    const rows = await vault.db.query<Record<string, unknown>>('select * from vault.access_log');
    expectClean(
      rows.flatMap((r) => Object.values(r).map((v) => String(v))),
      'access_log',
    );
  });

  it('no purge_log column holds a value or a key', async () => {
    const rows = await vault.db.query<Record<string, unknown>>('select * from vault.purge_log');
    expectClean(
      rows.flatMap((r) => Object.values(r).map((v) => String(v))),
      'purge_log',
    );
  });

  it('no captured log line holds a value or a key', () => {
    expectClean(vault.logLines, 'log');
  });

  it('the crypto-shredded row keeps no value', async () => {
    const rows = await vault.db.query<{ encrypted_value: string; purged_at: Date | null }>(
      "select encrypted_value, purged_at from vault.entries where purpose = 'shred'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.encrypted_value).toBe('');
    expect(rows[0]!.purged_at).not.toBeNull();
  });
});
