import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_DIGEST } from '../../src/features/policies/policy.repository';
import { createVaultMetrics } from '../../src/metrics/vault-metrics';
import { CARD_POLICY, putRetention, store } from '../support/fixtures';
import { storePaths } from '../support/store-plan';
import { createTestVault, type TestVault } from '../support/test-app';

const onPostgres = process.env.VAULT_TEST_DATABASE_URL !== undefined;

/**
 * The one-statement store checks the retention policy it was planned on by the database's digest of the
 * row, computed when the snapshot was loaded and again in the statement, often on two connections. A
 * connection whose TimeZone or DateStyle differs (a pooler's server connections, a role setting changed
 * while the pool was open) must not make the two disagree: every store would fall back to its transaction
 * and reload the snapshot, for as long as the connections live.
 */
describe('the retention digest does not depend on the session', () => {
  let vault: TestVault;
  const metrics = createVaultMetrics();
  beforeAll(async () => {
    vault = await createTestVault({ apps: [{ name: 'pay' }], metrics });
    await putRetention(vault, 'card');
  });
  afterAll(() => vault.close());

  const SETTINGS = [
    { TimeZone: 'UTC', DateStyle: 'ISO, YMD' },
    { TimeZone: 'Asia/Kolkata', DateStyle: 'SQL, DMY' },
    { TimeZone: 'America/St_Johns', DateStyle: 'German' },
  ];

  /** The digest, and the row's plain text, on a session with these settings. */
  async function under(settings: { TimeZone: string; DateStyle: string }): Promise<{ digest: string; text: string }> {
    const query = `select ${RETENTION_DIGEST('r')} as digest, r::text as text from vault.retention_policies r where purpose = 'card'`;
    if (onPostgres) {
      const { default: postgres } = await import('postgres');
      const sql = postgres(vault.db.url, { max: 1, onnotice: () => {}, connection: settings });
      try {
        return (await sql.unsafe<{ digest: string; text: string }[]>(query))[0]!;
      } finally {
        await sql.end();
      }
    }
    // PGlite has one session: set it, read, and set it back.
    await vault.db.query(`set timezone to '${settings.TimeZone}'`);
    await vault.db.query(`set datestyle to '${settings.DateStyle}'`);
    try {
      return (await vault.db.query<{ digest: string; text: string }>(query))[0]!;
    } finally {
      await vault.db.query('reset timezone');
      await vault.db.query('reset datestyle');
    }
  }

  it('is the same under every TimeZone and DateStyle, where the row as text is not', async () => {
    const seen: { digest: string; text: string }[] = [];
    // One after another: on PGlite they share its one session.
    for (const s of SETTINGS) seen.push(await under(s));
    // The attack is real: the row's text differs from session to session.
    expect(new Set(seen.map((s) => s.text)).size).toBe(SETTINGS.length);
    expect(new Set(seen.map((s) => s.digest)).size).toBe(1);
  });

  it('still changes when the policy does', async () => {
    const before = await under(SETTINGS[0]!);
    await putRetention(vault, 'card', { ...CARD_POLICY, default_ttl_days: 30 });
    const after = await under(SETTINGS[1]!);
    expect(after.digest).not.toBe(before.digest);
  });

  it('a store planned on a snapshot read under one TimeZone goes as one statement under another', async () => {
    // The snapshot is loaded (by this store) on the sessions as they are now.
    await store(vault, 'pay', 'card', 'tz-0');
    const before = storePaths(metrics);
    const cutOver = new Date();
    if (onPostgres) {
      // New sessions of this database start in another zone; the vault's open ones are ended, so the next
      // statements run on new connections while the snapshot stays the one loaded before.
      await vault.db.query(`alter database "${new URL(vault.db.url).pathname.slice(1)}" set timezone to 'Asia/Kolkata'`);
      await vault.db.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'vsql-vault' and datname = current_database()");
      await new Promise((r) => setTimeout(r, 200));
    } else {
      await vault.db.query("set timezone to 'Asia/Kolkata'");
    }
    try {
      for (let i = 1; i <= 3; i++)
        expect((await vault.request('PUT', `/vault/card/tz-${i}`, { as: 'pay', body: { encrypted_value: `v-${i}` } })).status).toBe(201);
      if (onPostgres) {
        // The stores ran on connections opened after the change (so in the other zone).
        const [fresh] = await vault.db.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where application_name = 'vsql-vault' and datname = current_database() and backend_start > $1",
          [cutOver.toISOString()],
        );
        expect(fresh!.n).toBeGreaterThan(0);
      } else {
        expect((await vault.db.query<{ TimeZone: string }>('show timezone'))[0]!.TimeZone).toBe('Asia/Kolkata');
      }
      const after = storePaths(metrics);
      expect({ statement: after.statement - before.statement, transaction: after.transaction - before.transaction }).toEqual({ statement: 3, transaction: 0 });
    } finally {
      if (onPostgres) await vault.db.query(`alter database "${new URL(vault.db.url).pathname.slice(1)}" reset timezone`);
      else await vault.db.query('reset timezone');
    }
  });
});
