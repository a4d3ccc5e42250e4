import { compactVerify, createLocalJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problem, putRetention, store } from '../support/fixtures';
import { createTestVault, type TestVault } from '../support/test-app';

interface Verification {
  status: string;
  proves: string;
  checkpoint: { status: string } | null;
  logs: { log: string; status: string; checkpoint?: { status: string; missing_seals?: number[]; replaced_seals?: number[]; seal_no: number } }[];
}

/**
 * Evidence nobody can quietly rewrite: the insider attacks of the hostile review, performed as described
 * (as a database superuser, through the suite's own connection, on PGlite and on PostgreSQL) and caught.
 */
describe('evidence nobody can quietly rewrite', () => {
  let vault: TestVault;

  const seal = async () => expect((await vault.request('POST', '/admin/audit/seal', { as: 'admin' })).status).toBe(200);
  const checkpoint = async () => {
    const res = await vault.request('GET', '/admin/audit/checkpoint', { as: 'auditor' });
    expect(res.status).toBe(200);
    return (await res.json()) as { checkpoint: string; logs: { log: string; seal_no: number; hash: string; rows: number }[] };
  };
  const verify = async (jws?: string, full = false) => {
    const query = [jws && `checkpoint=${jws}`, full && 'full=true'].filter(Boolean).join('&');
    const res = await vault.request('GET', `/admin/audit/verify${query ? `?${query}` : ''}`, { as: 'auditor' });
    return { res, body: (await res.clone().json()) as Verification };
  };
  /** What a superuser can do: switch the append-only triggers off, cut the tail, switch them on again. */
  async function cutTheTail() {
    const [head] = await vault.db.query<{ seal_no: number; first_id: string }>(
      "select seal_no, first_id::text from vault.audit_seals where log = 'access_log' order by seal_no desc limit 1",
    );
    await vault.db.exec(`
      alter table vault.access_log disable trigger access_log_append_only;
      alter table vault.audit_seals disable trigger audit_seals_append_only;
      delete from vault.access_log where id >= ${Number(head!.first_id)};
      delete from vault.audit_seals where log = 'access_log' and seal_no = ${head!.seal_no};
      alter table vault.access_log enable trigger access_log_append_only;
      alter table vault.audit_seals enable trigger audit_seals_append_only;`);
    return head!.seal_no;
  }

  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }, { name: 'auditor', roles: ['auditor'] }] });
    await putRetention(vault, 'card');
    for (let i = 0; i < 3; i++) await store(vault, 'pay', 'card', `e-${i}`);
    await seal();
    for (let i = 3; i < 6; i++) await store(vault, 'pay', 'card', `e-${i}`);
    await seal();
  });
  afterAll(() => vault.close());

  it('a checkpoint is signed with the audit key, whose public half is served, and verifies offline with a standard JOSE library', async () => {
    const { checkpoint: jws, logs } = await checkpoint();
    const jwks = (await (await vault.request('GET', '/.well-known/jwks.json')).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(vault.auditSigner!.kid);
    const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(jwks as never));
    expect(protectedHeader.typ).toBe('vsql-vault-audit-checkpoint+jwt');
    const attested = JSON.parse(new TextDecoder().decode(payload)) as { logs: { log: string; seal_no: number }[] };
    expect(attested.logs).toEqual(logs);
    expect(logs.find((l) => l.log === 'access_log')!.seal_no).toBeGreaterThanOrEqual(2);
  });

  it('a checkpoint with one byte changed is refused (422), audited, and proves nothing', async () => {
    const { checkpoint: jws } = await checkpoint();
    const i = jws.indexOf('.') + 5;
    const tampered = `${jws.slice(0, i)}${jws[i] === 'A' ? 'B' : 'A'}${jws.slice(i + 1)}`;
    const { res } = await verify(tampered);
    expect(res.status).toBe(422);
    expect((await problem(res)).code).toBe('checkpoint_invalid');
    const rows = (await vault.accessLog()).filter((r) => r.request_id === res.headers.get('x-request-id'));
    expect(rows).toMatchObject([{ operation: 'audit.verify', granted: false, status: 422 }]);
  });

  it('tail truncation as a superuser: "truncated" against the last signed verification or a checkpoint taken before, naming the seal', async () => {
    const before = await checkpoint();
    const intact = await verify(before.checkpoint);
    expect(intact.body.status).toBe('intact');
    expect(intact.body.checkpoint).toEqual({ issued_at: expect.any(String), status: 'extends' });

    const cut = await cutTheTail();
    // On its own, an (incremental) verification continues from the head the last signed one proved: gone.
    const alone = await verify();
    expect(alone.body.status).toBe('truncated');
    expect(alone.body.logs.find((l) => l.log === 'access_log')).toMatchObject({
      status: 'truncated',
      first_failure: { seal_no: cut, problem: 'the seal the last signed verification ended at is gone or was replaced' },
    });
    // A full re-verification with neither sees a whole chain — and says what it cannot prove.
    const full = await verify(undefined, true);
    expect(full.body.status).toBe('intact');
    expect(full.body.proves).toContain('cannot show that the newest seals');
    const against = await verify(before.checkpoint);
    expect(against.res.status).toBe(200);
    expect(against.body.status).toBe('truncated');
    expect(against.body.checkpoint!.status).toBe('truncated');
    expect(against.body.logs.find((l) => l.log === 'access_log')!.checkpoint).toEqual({
      status: 'truncated',
      missing_seals: [cut],
      replaced_seals: [],
      seal_no: cut,
    });

    // The next seal re-creates the deleted seal number with another hash: still caught, as replaced.
    await store(vault, 'pay', 'card', 'after-cut');
    await seal();
    const resealed = await verify(before.checkpoint);
    expect(resealed.body.status).toBe('truncated');
    expect(resealed.body.logs.find((l) => l.log === 'access_log')!.checkpoint).toMatchObject({ status: 'truncated', replaced_seals: [cut] });
  });

  it('a verification record inserted without the audit key is reported as forged, not believed', async () => {
    // A genuine, signed record first: the report believes it.
    await verify(undefined, true);
    const genuine = (await (await vault.request('GET', '/compliance/report', { as: 'auditor' })).json()) as {
      audit: { last_verification: { status: string; signed: boolean } };
    };
    expect(genuine.audit.last_verification).toMatchObject({ status: 'intact', signed: true });
    // The serving role may insert into audit_verifications: it writes "intact", with and without a copied signature.
    const [real] = await vault.db.query<{ jws: string }>('select jws from vault.audit_verifications where jws is not null order by id desc limit 1');
    for (const jws of [null, real!.jws]) {
      await vault.db.query(
        "insert into vault.audit_verifications (verified_at, status, rows_checked, report, jws) values (now(), 'intact', 999999, '{}', $1)",
        [jws],
      );
      const report = (await (await vault.request('GET', '/compliance/report', { as: 'auditor' })).json()) as {
        audit: { last_verification: { status: string; signed: boolean } };
      };
      expect(report.audit.last_verification).toMatchObject({ status: 'forged', signed: false });
    }
  });

  it('each seal sends its signed checkpoint to the log stream, outside the database', async () => {
    await store(vault, 'pay', 'card', 'logged-1');
    await seal();
    const line = vault.logLines.filter((l) => l.includes('"msg":"audit checkpoint"')).pop();
    expect(line).toBeDefined();
    const { checkpoint: jws } = JSON.parse(line!) as { checkpoint: string };
    expect(vault.auditSigner!.verify(jws, 'vsql-vault-audit-checkpoint+jwt')).toBeDefined();
  });
});
