import { dirname, isAbsolute, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { CONFIG_SECTIONS, configSchema, type VaultConfig } from './config-schema';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ENV_PREFIX = 'VSQL_VAULT_';
/** Tables inside a section, reached as VSQL_VAULT_AUTH_JWT_ISSUER → [auth.jwt] issuer. */
const NESTED_TABLES: Partial<Record<string, string[]>> = { auth: ['jwt', 'mtls'] };

/** An env value is read as a TOML value when it parses as one (true, 5, ["a"]), else as a plain string. */
function envValue(raw: string): unknown {
  try {
    return (parseToml(`v = ${raw}`) as { v: unknown }).v;
  } catch {
    return raw;
  }
}

/**
 * `VSQL_VAULT_<SECTION>_<KEY>` overrides `[section] key`, e.g. VSQL_VAULT_STORAGE_DATABASE_URL, and
 * `VSQL_VAULT_AUTH_JWT_<KEY>` / `VSQL_VAULT_AUTH_MTLS_<KEY>` the nested [auth.jwt] / [auth.mtls] keys.
 * Variables whose second word is not a section (VSQL_VAULT_API_KEY) are not config and are left alone.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const rest = name.slice(ENV_PREFIX.length).toLowerCase();
    const section = CONFIG_SECTIONS.find((s) => rest.startsWith(`${s}_`));
    if (!section) continue;
    let key = rest.slice(section.length + 1);
    const current = out[section];
    const table = current && typeof current === 'object' && !Array.isArray(current) ? { ...(current as Record<string, unknown>) } : {};
    const sub = NESTED_TABLES[section]?.find((t) => key.startsWith(`${t}_`));
    if (sub) {
      key = key.slice(sub.length + 1);
      const inner = table[sub];
      table[sub] = { ...(inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {}), [key]: envValue(value) };
    } else {
      table[key] = envValue(value);
    }
    out[section] = table;
  }
  return out;
}

function formatIssues(issues: { path: PropertyKey[]; message: string; code: string; keys?: string[] }[], source: string): string {
  return issues
    .map((issue) => {
      const where = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys' && issue.keys) {
        return `${source}: unknown key ${issue.keys.map((k) => (where ? `${where}.${k}` : k)).join(', ')}`;
      }
      return `${source}: ${where || '(top level)'}: ${issue.message}`;
    })
    .join('\n');
}

/** Reads the TOML file (if any), overlays env, validates strictly; the result is frozen. */
export function loadConfig(options: { path?: string; env?: NodeJS.ProcessEnv } = {}): Readonly<VaultConfig> {
  const env = options.env ?? process.env;
  let raw: Record<string, unknown> = {};
  const source = options.path ?? '(defaults)';
  if (options.path) {
    let text: string;
    try {
      text = readFileSync(options.path, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${options.path}: ${(error as Error).message}`);
    }
    try {
      raw = parseToml(text) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`${options.path}: not valid TOML: ${(error as Error).message.split('\n')[0]}`);
    }
    resolveFilePaths(raw, dirname(resolve(options.path)));
  }
  const result = configSchema.safeParse(applyEnvOverrides(raw, env));
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues as never, source));
  return deepFreeze(result.data);
}

/** The file-valued keys a config file may hold: a relative path there means relative to the file's own folder. */
const FILE_KEYS: ReadonlyArray<readonly string[]> = [
  ['server', 'tls_cert_file'],
  ['server', 'tls_key_file'],
  ['server', 'tls_client_ca_file'],
  ['purge', 'signing_key_file'],
  ['audit', 'signing_key_file'],
  ['auth', 'jwt', 'jwks_file'],
];

/**
 * Relative file paths written in a config file are resolved from that file's folder (so the file works
 * whatever the working directory); paths from environment overrides stay relative to the working directory.
 */
function resolveFilePaths(raw: Record<string, unknown>, folder: string): void {
  for (const keys of FILE_KEYS) {
    let node: unknown = raw;
    for (const k of keys.slice(0, -1)) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
    const last = keys[keys.length - 1]!;
    if (!node || typeof node !== 'object') continue;
    const value = (node as Record<string, unknown>)[last];
    if (typeof value === 'string' && value !== '' && !isAbsolute(value)) (node as Record<string, unknown>)[last] = resolve(folder, value);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
