import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import { urlAllowsPrepare } from '../../src/storage/database';

/**
 * storage.prepared_statements: false for a transaction pooler (PgBouncer pool_mode = transaction). The
 * parsed config carries it twice, consistently: as the boolean, and as postgres.js's own `prepare=false`
 * in database_url, which is what storage/database.ts reads (urlAllowsPrepare) when it opens the driver.
 */
const dir = mkdtempSync(join(tmpdir(), 'vault-config-prepared-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function tomlFile(text: string): string {
  const path = join(dir, `config-${++counter}.toml`);
  writeFileSync(path, text);
  return path;
}

const storage = (lines: string[]) => tomlFile(`[storage]\n${lines.join('\n')}\n`);

function configErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError, but the config loaded');
}

describe('storage.prepared_statements', () => {
  it('defaults to true and leaves the URL as written', () => {
    const config = loadConfig({ path: storage(['database_url = "postgres://vault@db:5432/vault"']), env: {} });
    expect(config.storage.prepared_statements).toBe(true);
    expect(config.storage.database_url).toBe('postgres://vault@db:5432/vault');
    expect(urlAllowsPrepare(config.storage.database_url)).toBe(true);
    expect(loadConfig({ env: {} }).storage.prepared_statements).toBe(true); // no file: PGlite, prepared
  });

  it('false in the file: the driver is told through the URL (prepare=false)', () => {
    const config = loadConfig({ path: storage(['database_url = "postgres://vault@pgbouncer:6432/vault"', 'prepared_statements = false']), env: {} });
    expect(config.storage.prepared_statements).toBe(false);
    expect(config.storage.database_url).toBe('postgres://vault@pgbouncer:6432/vault?prepare=false');
    expect(urlAllowsPrepare(config.storage.database_url)).toBe(false);
  });

  it('appends to an existing query and keeps a multi-host list as written', () => {
    const url = 'postgres://vault@pg-a:5432,pg-b:5432/vault?target_session_attrs=primary';
    const config = loadConfig({ path: storage([`database_url = "${url}"`, 'prepared_statements = false']), env: {} });
    expect(config.storage.database_url).toBe(`${url}&prepare=false`);
    expect(urlAllowsPrepare(config.storage.database_url)).toBe(false);
  });

  it('VSQL_VAULT_STORAGE_PREPARED_STATEMENTS=false overrides the file, as a boolean', () => {
    const config = loadConfig({
      path: storage(['database_url = "postgres://vault@db:5432/vault"', 'prepared_statements = true']),
      env: { VSQL_VAULT_STORAGE_PREPARED_STATEMENTS: 'false' },
    });
    expect(config.storage.prepared_statements).toBe(false);
    expect(urlAllowsPrepare(config.storage.database_url)).toBe(false);
  });

  it('VSQL_VAULT_STORAGE_PREPARED_STATEMENTS=true overrides a false in the file', () => {
    const config = loadConfig({
      path: storage(['database_url = "postgres://vault@db:5432/vault"', 'prepared_statements = false']),
      env: { VSQL_VAULT_STORAGE_PREPARED_STATEMENTS: 'true' },
    });
    expect(config.storage.prepared_statements).toBe(true);
    expect(config.storage.database_url).toBe('postgres://vault@db:5432/vault');
  });

  it('works with the URL override too (both from the environment)', () => {
    const config = loadConfig({
      env: { VSQL_VAULT_STORAGE_DATABASE_URL: 'postgresql://vault@127.0.0.1:6432/vault', VSQL_VAULT_STORAGE_PREPARED_STATEMENTS: 'false' },
    });
    expect(config.storage.database_url).toBe('postgresql://vault@127.0.0.1:6432/vault?prepare=false');
  });

  it('a URL that already says prepare=false means false, and is not given a second one', () => {
    for (const url of ['postgres://vault@db/vault?prepare=false', 'postgres://vault@db/vault?sslmode=require&prepare=disable']) {
      const config = loadConfig({ path: storage([`database_url = "${url}"`]), env: {} });
      expect(config.storage.prepared_statements).toBe(false);
      expect(config.storage.database_url).toBe(url);
      const same = loadConfig({ path: storage([`database_url = "${url}"`, 'prepared_statements = false']), env: {} });
      expect(same.storage.database_url).toBe(url);
    }
  });

  it('refuses a contradiction between the key and the URL', () => {
    const message = configErrorOf(() =>
      loadConfig({ path: storage(['database_url = "postgres://vault@db/vault?prepare=false"', 'prepared_statements = true']), env: {} }),
    );
    expect(message).toContain('storage.prepared_statements');
    expect(message).toContain('contradicts');
  });

  it('refuses false on PGlite, and a value that is not a boolean', () => {
    expect(configErrorOf(() => loadConfig({ path: storage(['database_url = "pglite://memory"', 'prepared_statements = false']), env: {} }))).toContain(
      'storage.prepared_statements',
    );
    expect(configErrorOf(() => loadConfig({ env: { VSQL_VAULT_STORAGE_PREPARED_STATEMENTS: 'no' } }))).toContain('storage.prepared_statements');
    expect(
      configErrorOf(() => loadConfig({ path: storage(['database_url = "postgres://vault@db/vault"', 'prepared_statements = "false"']), env: {} })),
    ).toContain('storage.prepared_statements');
  });

  it('urlAllowsPrepare reads only the prepare parameter', () => {
    expect(urlAllowsPrepare('postgres://u@h/db')).toBe(true);
    expect(urlAllowsPrepare('postgres://u@h/db?prepare=true')).toBe(true);
    expect(urlAllowsPrepare('postgres://u@h/db?no_prepare=false')).toBe(true);
    expect(urlAllowsPrepare('postgres://u@h/db?application_name=x&prepare=false')).toBe(false);
    expect(urlAllowsPrepare('postgres://u@h/db?prepare=disable')).toBe(false);
  });
});
